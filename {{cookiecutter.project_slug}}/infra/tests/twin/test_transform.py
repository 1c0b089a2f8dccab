"""The twin's batch transform: how input lines become requests, and what it refuses to emulate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from model_build.errors import StepFailedError
from project_infra.twin.transform import batches, runner


def test_lines_are_batched_whole_in_order_within_the_limit() -> None:
    lines = [f"{i},{i % 5},3,{'x' * (i % 7)}".encode() for i in range(200)]
    chunks = list(batches(lines, 100))
    assert b"".join(chunks).splitlines() == lines
    assert all(len(chunk) <= 100 for chunk in chunks)
    assert all(chunk.endswith(b"\n") for chunk in chunks)


def test_a_line_longer_than_the_limit_goes_alone() -> None:
    lines = [b"1,2", b"9" * 50, b"3,4"]
    assert list(batches(lines, 10)) == [b"1,2\n", b"9" * 50 + b"\n", b"3,4\n"]


def _request(**changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "ModelName": "m",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": "s3://b/out", "AssembleWith": "Line"},
    }
    request["TransformInput"].update(changes)
    return request


def _no_clients(service: str) -> Any:
    raise AssertionError(f"no {service} call expected before the request is checked")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"SplitType": "RecordIO"}, "SplitType='RecordIO' is not emulated by the twin"),
        ({"SplitType": "None"}, "SplitType='None' is not emulated by the twin"),
    ],
)
def test_what_the_twin_does_not_emulate_fails_the_step_in_one_line(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(StepFailedError, match=message):
        runner(_no_clients, tmp_path)(_request(**changes), {})


def test_a_single_record_strategy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StepFailedError, match="BatchStrategy='SingleRecord'"):
        runner(_no_clients, tmp_path)({**_request(), "BatchStrategy": "SingleRecord"}, {})
