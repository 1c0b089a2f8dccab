"""The executor's local S3 folder mirrors the emulated bucket: a step reads what S3 holds now."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from project_infra.twin.sagemaker import S3Mirror


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="bkt")
        yield client


def test_a_pull_drops_what_was_deleted_in_s3_and_a_push_sends_only_changes(
    s3: Any, tmp_path: Path
) -> None:
    client = s3
    client.put_object(Bucket="bkt", Key="batch/input/old.csv", Body=b"1,2\n")
    mirror = S3Mirror(lambda _service: client, tmp_path)
    mirror.pull("bkt")
    local = tmp_path / "s3" / "bkt" / "batch" / "input"
    assert [p.name for p in local.iterdir()] == ["old.csv"]

    client.delete_object(Bucket="bkt", Key="batch/input/old.csv")
    client.put_object(Bucket="bkt", Key="batch/input/new.csv", Body=b"3,4\n")
    before = mirror.pull("bkt")
    assert [p.name for p in local.iterdir()] == ["new.csv"]

    (tmp_path / "s3" / "bkt" / "out" / "scores.csv").parent.mkdir(parents=True)
    (tmp_path / "s3" / "bkt" / "out" / "scores.csv").write_text("0.5\n")
    assert mirror.push("bkt", before) == ["out/scores.csv"]
