"""The pipelines and CLIs use the names the infra stack creates the resources under
(project_names.Names), whatever the config overrides leave at their defaults."""

from __future__ import annotations

import pytest

from model_build.config import PipelineConfig
from project_names import Names

SLUGS = ("mammography-severity", "a" + "-b" * 15 + "c", "Mixed-Case-Slug")
PROJECT_IDS = ("local", "p-abcdefghijkl")


def _config(slug: str, project_id: str, size: str = "small") -> PipelineConfig:
    return PipelineConfig(
        region="us-east-1",
        role_arn="arn:aws:iam::123456789012:role/pipeline",
        bucket="artifacts",
        project_name=slug,
        project_id=project_id,
        size=size,
    )


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("project_id", PROJECT_IDS)
def test_model_package_group_and_pipeline_names_agree(slug: str, project_id: str) -> None:
    config, names = _config(slug, project_id), Names(slug, project_id)
    assert config.resolved_group == names.model_package_group
    assert config.resolved_pipeline_name == names.build_pipeline


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("project_id", PROJECT_IDS)
def test_scheduled_pipelines_and_drift_names_agree(slug: str, project_id: str) -> None:
    """The schedules, the drift alarm and the S3 rules (infra) target what model_build creates."""
    config, names = _config(slug, project_id, size="medium"), Names(slug, project_id)
    assert config.monitoring_pipeline_name == names.monitoring_pipeline
    assert config.batch_pipeline_name == names.batch_pipeline
    assert config.drift_namespace == names.drift_namespace
    assert config.endpoint_name("prod") == names.endpoint("prod")
    assert config.resolved_input_url == f"s3://artifacts/{names.raw_data_prefix}"
    assert config.batch_input_url == f"s3://artifacts/{names.batch_input_prefix}"
    # The drift alarm's Endpoint dimension is the capture folder the monitor reads.
    assert f"/{names.endpoint('prod')}/AllTraffic/" in config.capture_url
