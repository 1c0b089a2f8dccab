"""Shared fixtures: one offline definition per session (building it imports the whole SDK)."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from model_build import pipeline_kinds
from model_build.options import ENVIRONMENT, TRACKING_VARIABLES
from model_build.pipeline import PipelineConfig, get_definition

# Where a CodeBuild container (or an ECS task) gets its role's credentials from.
CODEBUILD_CREDENTIALS = (
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)

# Fixed names so the snapshot is stable; the role and account are documentation placeholders.
CONFIG = PipelineConfig(
    region="eu-west-1",
    role_arn="arn:aws:iam::111122223333:role/pipeline-role",
    bucket="artifact-bucket",
    project_name="mammo",
    project_id="p-0123456789ab",
    image_uri="111122223333.dkr.ecr.eu-west-1.amazonaws.com/mammo@sha256:" + "a" * 64,
)


@pytest.fixture(scope="session", autouse=True)
def _no_build_environment() -> Iterator[None]:
    """CodeBuild runs these tests with the build project's variables and its role's credentials
    (a container endpoint) set; the tests state their own names and region instead. Session-wide:
    the session's definition fixture builds before any function-scoped fixture runs."""
    with pytest.MonkeyPatch.context() as patch:
        for name in (
            *ENVIRONMENT.values(),
            *TRACKING_VARIABLES,
            *CODEBUILD_CREDENTIALS,
            "AWS_DEFAULT_REGION",
        ):
            patch.delenv(name, raising=False)
        yield


@pytest.fixture(autouse=True)
def _no_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # A test that reaches for AWS must fail on the socket guard, never succeed with a real identity.
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)  # an emulator's endpoint (`make twin`) is not for unit tests


@pytest.fixture(scope="session")
def definition() -> dict[str, Any]:
    """The real SDK's definition, built under the socket guard (pytest-socket, see pyproject)."""
    return json.loads(get_definition(CONFIG))


# Monitoring exists for medium and large projects only.
MEDIUM = dataclasses.replace(CONFIG, size="medium")


@pytest.fixture(scope="session")
def monitoring_definition() -> dict[str, Any]:
    return json.loads(pipeline_kinds.definition(pipeline_kinds.MONITORING, MEDIUM))


@pytest.fixture(scope="session")
def batch_definition() -> dict[str, Any]:
    return json.loads(pipeline_kinds.definition(pipeline_kinds.BATCH_INFERENCE, CONFIG))


@pytest.fixture(scope="session")
def definition_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The definition run-local builds: with the tracking steps (MlflowTrackingUri set by it)."""
    path = tmp_path_factory.mktemp("definition") / "definition.json"
    path.write_text(get_definition(dataclasses.replace(CONFIG, tracking=True)), encoding="utf-8")
    return path


def all_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every step, including those inside condition branches."""
    found = []
    for step in steps:
        found.append(step)
        if step["Type"] == "Condition":
            found += all_steps(step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"])
    return found


# The names CodeBuild sets (infra) and the same names as command-line options, for the CLI tests.
NAME_ENV = {
    "SAGEMAKER_PROJECT_NAME": "mammo",
    "SAGEMAKER_PROJECT_ID": "p-0123456789ab",
    "ARTIFACT_BUCKET": "artifact-bucket",
    "SAGEMAKER_PIPELINE_ROLE_ARN": CONFIG.role_arn,
    "AWS_REGION": "eu-west-1",
    "IMAGE_URI": CONFIG.image_uri,
}

LOCAL_NAMES = [
    "--local",
    "--project-name",
    "mammo",
    "--project-id",
    "p-0123456789ab",
    "--bucket",
    "artifact-bucket",
    "--role-arn",
    CONFIG.role_arn,
    "--region",
    "eu-west-1",
    "--image-uri",
    CONFIG.image_uri,
]
