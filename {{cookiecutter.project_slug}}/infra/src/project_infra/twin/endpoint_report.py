"""What the deploy pipeline's endpoint tests proved, read from their JUnit report: that the staging
endpoint answered exactly the scores the Evaluate step registered with the package. A passing suite
alone does not say it: that test skips when the examples carry no scores (a package registered before
they did), so the twin reads the test's own outcome."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

# model-deploy/tests/endpoint/test_endpoint_contract.py
SCORES_TEST = "test_known_scores_match_the_model"
OUTCOMES = ("skipped", "failure", "error")


class ReportError(Exception):
    """The report does not show the registered scores checked: one line."""


def scores_checked(report: Path) -> str:
    """One line saying the endpoint answered the registered scores, else ReportError."""
    try:
        cases = list(ElementTree.parse(report).iter("testcase"))
    except (OSError, ElementTree.ParseError) as error:
        raise ReportError(f"endpoint test report {report.name} is not JUnit XML: {error}") from None
    found = [c for c in cases if c.get("name") == SCORES_TEST]
    if not found:
        raise ReportError(f"{report.name} has no {SCORES_TEST} among its {len(cases)} tests")
    for outcome in OUTCOMES:
        element = found[0].find(outcome)
        if element is not None:
            reason = " ".join((element.get("message") or element.text or "").split())[:300]
            raise ReportError(f"{report.name}: {SCORES_TEST} {outcome}: {reason}")
    return f"the staging endpoint answered the scores registered with the package ({SCORES_TEST})"
