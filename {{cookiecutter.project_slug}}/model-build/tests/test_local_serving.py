"""serve-local hands `make test-endpoint` the served package's example requests, as the deploy build
hands the endpoint tests the deployed package's."""

from __future__ import annotations

from pathlib import Path

import pytest

from model_build.errors import UsageError
from model_build.local.serving import copy_examples

URI = "s3://bucket/demo/exec-1/evaluate/evaluation/examples.csv"


def record(**metadata: str) -> dict[str, object]:
    return {
        "ModelPackageArn": "arn:aws:sagemaker:us-east-1:000000000000:model-package/demo/2",
        "CustomerMetadataProperties": metadata,
    }


def test_the_linked_examples_are_copied_where_make_finds_them(tmp_path: Path) -> None:
    source = tmp_path / "s3" / "bucket" / "demo" / "exec-1" / "evaluate" / "evaluation"
    source.mkdir(parents=True)
    (source / "examples.csv").write_text("a,b,expected_score\n1,2,0.5\n")
    (tmp_path / "serving").mkdir()
    copied = copy_examples(tmp_path, record(endpoint_examples=URI))
    assert copied == tmp_path / "serving" / "examples.csv"
    assert copied.read_text() == "a,b,expected_score\n1,2,0.5\n"


@pytest.mark.parametrize("metadata", [{}, {"endpoint_examples": URI}])
def test_a_package_without_examples_is_a_one_line_error(
    tmp_path: Path, metadata: dict[str, str]
) -> None:
    """No link (a package registered before the link existed), or a link to a file that is gone."""
    with pytest.raises(
        UsageError, match=r"^model package .*/demo/2 links no example requests"
    ) as e:
        copy_examples(tmp_path, record(**metadata))
    assert "\n" not in str(e.value)
