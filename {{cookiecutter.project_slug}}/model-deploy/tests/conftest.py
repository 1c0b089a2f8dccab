from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

REGION = "us-east-1"
# What the deploy build's CodeBuild project sets (the infra stack) and where a CodeBuild container
# gets its role's credentials: the moto tests state their own values instead. (The endpoint suite
# needs the build's real credentials, so this is not session-wide.)
BUILD_ENVIRONMENT = (
    "ARTIFACT_BUCKET",
    "SAGEMAKER_PROJECT_NAME",
    "SAGEMAKER_PROJECT_ID",
    "MODEL_PACKAGE_GROUP_NAME",
    *(
        f"{stage}_{name}"
        for stage in ("STAGING", "PROD")
        for name in (
            "MODEL_EXECUTION_ROLE_ARN",
            "API_HANDLER_ROLE_ARN",
            "DATA_CAPTURE_URI",
            "KMS_KEY_ARN",
            "STACK_NAME",
            "PIPELINE_ACTION_ROLE_ARN",
            "SUBNET_IDS",
            "SECURITY_GROUP_IDS",
        )
    ),
    # the one pair for both stages that the build now refuses (a test sets it to check the error)
    "SUBNET_IDS",
    "SECURITY_GROUP_IDS",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process: fake credentials and region, so no call can reach AWS."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in BUILD_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    # An endpoint override (an emulator such as `make twin`'s) would take calls past moto's mock.
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    with mock_aws():
        yield


@pytest.fixture
def sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker", region_name=REGION)
