"""The twin reads the endpoint tests' JUnit report: the staging endpoint answered the registered
scores only when that test passed, not when it skipped, failed or is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from project_infra.twin.endpoint_report import SCORES_TEST, ReportError, scores_checked


def junit(tmp_path: Path, scores_case: str) -> Path:
    path = tmp_path / "endpoint-tests.xml"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="2">'
        '<testcase classname="test_endpoint_contract" name="test_ping" time="0.1"/>'
        f"{scores_case}</testsuite></testsuites>",
        encoding="utf-8",
    )
    return path


def case(body: str = "") -> str:
    return f'<testcase classname="test_endpoint_contract" name="{SCORES_TEST}">{body}</testcase>'


def test_a_passed_scores_test_is_the_proof(tmp_path: Path) -> None:
    assert "answered the scores registered with the package" in scores_checked(
        junit(tmp_path, case())
    )


@pytest.mark.parametrize(
    ("scores_case", "error"),
    [
        (case('<skipped type="pytest.skip" message="no expected_score column"/>'), "skipped: no"),
        (case('<failure message="assert 0.31 == 0.29">trace</failure>'), "failure: assert 0.31"),
        (case('<error message="fixture failed"/>'), "error: fixture failed"),
        ("", f"has no {SCORES_TEST} among its 1 tests"),
    ],
)
def test_anything_else_is_a_one_line_error(tmp_path: Path, scores_case: str, error: str) -> None:
    with pytest.raises(ReportError, match=error) as raised:
        scores_checked(junit(tmp_path, scores_case))
    assert "\n" not in str(raised.value)


def test_a_report_that_is_not_xml_is_named(tmp_path: Path) -> None:
    path = tmp_path / "endpoint-tests.xml"
    path.write_text("not xml", encoding="utf-8")
    with pytest.raises(ReportError, match=r"^endpoint test report endpoint-tests.xml is not JUnit"):
        scores_checked(path)
