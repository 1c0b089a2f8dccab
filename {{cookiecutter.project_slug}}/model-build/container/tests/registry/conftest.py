"""Fixtures for the model-registry tests: moto's in-process SageMaker and S3 (no sockets)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sagemaker.models import SageMakerModelBackend
from registry_fixtures import BUCKET, GROUP, REGION, Registry


@pytest.fixture
def aws(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and region, moto's in-process AWS (no sockets)."""
    assert aws_env == REGION
    # moto 5.2.5 resolves ListTags ARNs as <type>/<name>: versioned packages (<group>/<n>) fail there.
    resolve = SageMakerModelBackend._get_resource_from_arn

    def resource_from_arn(self: SageMakerModelBackend, arn: str) -> Any:
        if ":model-package/" in arn:
            return self.describe_model_package(arn)
        return resolve(self, arn)

    monkeypatch.setattr(SageMakerModelBackend, "_get_resource_from_arn", resource_from_arn)
    with mock_aws():
        yield


@pytest.fixture
def registry(aws: None) -> Registry:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    return Registry(sagemaker, s3)
