"""The Studio organization template (service-catalog/) for every size and git provider: rendered
from the pristine template with the bake's answers, synthesized in-process, with cdk-nag as a gate,
zero cfn-lint errors on the catalog, product and S3-route templates, what SageMaker Projects
requires of them, and a launch role that can create everything the product template holds. The default tier runs one connection provider per size (rotated) and CodeCommit;
the slow tier runs the other six combinations, so CI covers all twelve. The product publishes
codepipeline projects only: each bake's answers are published with ci_system=codepipeline, and the
bakes of another CI system are refused in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from project_infra.scan import load_acknowledgements, run_checkov, unacknowledged
from project_infra.synth_checks import lint_errors, nag_violations
from service_catalog.answers import PublishError
from service_catalog.publish import product_template_file, synth
from service_catalog.studio_requirements import (
    catalog_problems,
    launch_role_problems,
    name_problems,
    policy_size,
    product_problems,
)

from tests.baking import CHECKOV, REPO
from tests.matrix import GIT_PROVIDERS, SIZES, combinations

CATALOG_ACKNOWLEDGED = REPO / "service-catalog" / "scan-acknowledged.toml"

CONNECTIONS = [p for p in GIT_PROVIDERS if p != "codecommit"]
# Names Studio can give (CreateProject's ProjectName): mixed case, the longest, digits first.
STUDIO_NAMES = ("Churn-Model2", "Ab" * 16, "7Up-Forecast")
STUDIO_ID = "p-1a2b3c4d5e6f"
IAM_INLINE_POLICY_QUOTA = 10_240  # characters, a role's inline policies, whitespace excluded


def _subset() -> list[tuple[str, dict[str, Any]]]:
    """Per size: CodeCommit, and one connection provider in turn (every provider appears)."""
    chosen = []
    for index, size in enumerate(SIZES):
        wanted = {"codecommit", CONNECTIONS[index % len(CONNECTIONS)]}
        chosen += [
            (name, extra)
            for name, extra in combinations()
            if extra["mlops_size"] == size and extra["git_provider"] in wanted
        ]
    return chosen


SUBSET = _subset()
REST = [combination for combination in combinations() if combination not in SUBSET]


def test_subset_covers_every_size_and_provider() -> None:
    assert {e["mlops_size"] for _, e in SUBSET} == set(SIZES)
    assert {e["git_provider"] for _, e in SUBSET} == set(GIT_PROVIDERS)


@pytest.mark.parametrize(("name", "extra"), SUBSET, ids=[n for n, _ in SUBSET])
def test_studio_template_publishes_clean(
    template: Path, tmp_path: Path, name: str, extra: dict[str, Any]
) -> None:
    _check_publish(template, tmp_path, extra)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "extra"), REST, ids=[n for n, _ in REST])
def test_studio_template_publishes_clean_rest_of_matrix(
    template: Path, tmp_path: Path, name: str, extra: dict[str, Any]
) -> None:
    _check_publish(template, tmp_path, extra)


def test_default_and_slow_tiers_cover_the_whole_matrix() -> None:
    assert len(SUBSET) + len(REST) == len(combinations()) == 12


EXTERNAL_CI = [(n, e) for n, e in combinations() if e["ci_system"] != "codepipeline"]


@pytest.mark.parametrize(("name", "extra"), EXTERNAL_CI, ids=[n for n, _ in EXTERNAL_CI])
def test_other_ci_systems_are_refused_in_one_line(
    template: Path, tmp_path: Path, name: str, extra: dict[str, Any]
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(extra), encoding="utf-8")
    with pytest.raises(PublishError, match=f"ci_system='{extra['ci_system']}': ") as refused:
        synth(answers, tmp_path / "cdk.out", template)
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "cdk.out").exists()


def _check_publish(template: Path, tmp_path: Path, extra: dict[str, Any]) -> None:
    answers = tmp_path / "answers.json"
    # The product runs CodePipeline (above): every other answer of the bake, with it.
    answers.write_text(json.dumps({**extra, "ci_system": "codepipeline"}), encoding="utf-8")
    outdir = tmp_path / "cdk.out"
    studio = synth(answers, outdir, template)  # a cdk-nag finding raises here
    assert nag_violations(outdir) == []

    catalog_file = outdir / "StudioCatalog.template.json"
    product_file = product_template_file(outdir)
    region = extra["aws_region"]
    for template_file in (catalog_file, product_file):  # studio.file: equal to product_file
        assert lint_errors(template_file, region) == [], template_file.name
    # The second, independent scanner (the project's own scan; each finding acknowledged).
    _, findings = run_checkov(CHECKOV, [catalog_file, product_file])
    acknowledged = load_acknowledgements() + load_acknowledgements(CATALOG_ACKNOWLEDGED)
    assert [f.line() for f in unacknowledged(findings, acknowledged)] == []

    catalog = json.loads(catalog_file.read_text(encoding="utf-8"))
    product = json.loads(product_file.read_text(encoding="utf-8"))
    assert catalog_problems(catalog) == []
    assert product_problems(product) == []
    for name in STUDIO_NAMES:  # accepted, and every derived name valid (botocore's patterns)
        assert name_problems(product, region, name, STUDIO_ID) == [], name
    assert launch_role_problems(product, catalog, region) == []
    assert policy_size(catalog, region) < IAM_INLINE_POLICY_QUOTA
    assert yaml.safe_load(studio.file.read_text(encoding="utf-8")) == product
    codecommit = extra["git_provider"] == "codecommit"
    assert ("CodeConnectionArn" in product["Parameters"]) is not codecommit
    kinds = [r["Type"] for r in product["Resources"].values()]
    assert kinds.count("AWS::CodeCommit::Repository") == (1 if codecommit else 0)
    for account in (extra.get("staging_account_id"), extra.get("prod_account_id")):
        if account:
            assert f"iam::{account}:role/" in json.dumps(product)
