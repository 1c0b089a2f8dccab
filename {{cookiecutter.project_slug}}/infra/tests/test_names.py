"""The stack's token-safe names are the settings' names (the parameter makes the name lowercase)."""

from __future__ import annotations

import pytest

from project_infra.parameters import StackNames
from project_names import Names


@pytest.mark.parametrize("slug", ["mammography-severity", "a", "a" + "-b" * 15 + "c"])
def test_stack_names_equal_settings_names(slug: str) -> None:
    stack, settings = StackNames(slug, "p-abcdefghijkl"), Names(slug, "p-abcdefghijkl")
    assert stack.model_package_group == settings.model_package_group
    assert stack.build_pipeline == settings.build_pipeline
    assert stack.ecr_repository == settings.ecr_repository
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
