"""The stack's token-safe names are the settings' names, for any name Studio can give, when the
lower-case name is what ``Custom::ProjectName``'s handler answers."""

from __future__ import annotations

import pytest

from project_infra.parameters import StackNames
from project_infra.project_name_handler import ATTRIBUTE, data
from project_names import Names

SLUGS = ["mammography-severity", "a", "a" + "-b" * 15 + "c", "Churn-Model2", "7Up", "X" * 32]


@pytest.mark.parametrize("slug", SLUGS)
def test_stack_names_equal_settings_names(slug: str) -> None:
    lowercase = data(slug)[ATTRIBUTE]
    stack = StackNames(slug, "p-abcdefghijkl", lowercase_token=lowercase)
    settings = Names(slug, "p-abcdefghijkl")
    assert stack.model_package_group == settings.model_package_group
    assert stack.build_pipeline == settings.build_pipeline
    assert stack.ecr_repository == settings.ecr_repository
    assert stack.in_arn(stack.build_pipeline) == settings.in_arn(settings.build_pipeline)
    for name in (
        "monitoring_pipeline",
        "batch_pipeline",
        "raw_data_prefix",
        "batch_input_prefix",
        "drift_alarm",
        "drift_namespace",
    ):
        assert getattr(stack, name) == getattr(settings, name), name
    for stage in ("staging", "prod"):
        assert stack.endpoint(stage) == settings.endpoint(stage)
        assert stack.deploy_stack(stage) == settings.deploy_stack(stage)


def test_stack_names_need_the_lowercase_token() -> None:
    with pytest.raises(ValueError, match="needs lowercase_token"):
        StackNames("Churn-Model2", "p-abcdefghijkl")
