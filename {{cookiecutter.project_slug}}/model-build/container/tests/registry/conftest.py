"""Fixtures for the model-registry tests: moto's in-process SageMaker and S3 (no sockets)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sagemaker.models import SageMakerModelBackend
from registry_fixtures import BUCKET, GROUP, REGION, Registry

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Network guard (pytest-socket): tests here may connect to the loopback address only."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.allow_hosts(["127.0.0.1"]))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and region, moto's in-process AWS (no sockets)."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),  # botocore asks the instance metadata for a region
        ("AWS_DEFAULT_REGION", REGION),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
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


@pytest.fixture
def opt_ml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty /opt/ml tree (the failure file goes to output/message) resolved through OPT_ML."""
    root = tmp_path / "opt_ml"
    root.mkdir()
    monkeypatch.setenv("OPT_ML", str(root))
    return root
