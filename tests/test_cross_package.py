"""Names that two packages derive independently must agree: the infra stack creates the resources,
the model-build CLIs and the deploy build find them by name."""

from __future__ import annotations

import pytest
from model_build.pipeline import PipelineConfig
from project_infra.settings import Names

SLUGS = ("mammography-severity", "a" + "-b" * 15 + "c", "Mixed-Case-Slug")
PROJECT_IDS = ("local", "p-abcdefghijkl")


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("project_id", PROJECT_IDS)
def test_model_package_group_and_pipeline_names_agree(slug: str, project_id: str) -> None:
    config = PipelineConfig(
        region="us-east-1",
        role_arn="arn:aws:iam::123456789012:role/pipeline",
        bucket="artifacts",
        project_name=slug,
        project_id=project_id,
    )
    names = Names(slug, project_id)
    assert config.resolved_group == names.model_package_group
    assert config.resolved_pipeline_name == names.build_pipeline
