"""`make twin` for real, in fresh bakes with their own virtualenvs: the whole CI/CD flow of a large
three-account project against the emulator, and deliberate seam breaks in a small project that must
each fail the flow at the right stage with a message naming the seam. The small project's whole
flow runs once, in test_swap_model.py, with the second model (tests/twin_runs.py).

The slow tier's reason: nothing else runs the flow ACROSS the contracts (buildspecs, synthesized
pipelines and rules, stage configs, endpoint.yml) the way a first run on AWS does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.baking import WHEELS, bake, make
from tests.matrix import PROD, STAGING
from tests.seams import MUTATIONS
from tests.twin_runs import STAGES
from tests.twin_runs import run_twin as _twin

pytestmark = pytest.mark.slow


def _project(template: Path, output: Path, extra: dict[str, object]) -> Path:
    assert (WHEELS / ".complete").is_file(), f"no wheel cache at {WHEELS}: run ./dev test"
    project = bake(template, output, extra)
    venv = make(project, "venv")
    assert venv.returncode == 0, venv.stdout[-3000:] + venv.stderr[-3000:]
    return project


@pytest.fixture(scope="module")
def small(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project(template, tmp_path_factory.mktemp("twin-small"), {"git_provider": "github"})


def test_large_three_account_flow(template: Path, tmp_path: Path) -> None:
    """Large: everything medium has (staging and prod accounts, drift and model-quality loops)
    plus the jobs' own VPC, endpoint isolation and inter-container encryption; the matrix suites
    cover medium's settings, the small flow the jobs without a VPC."""
    extra = {
        "mlops_size": "large",
        "git_provider": "codecommit",
        "staging_account_id": STAGING,
        "prod_account_id": PROD,
    }
    project = _project(template, tmp_path, extra)
    # prod's endpoint in its account's VPC (project.toml [network.prod]), staging's in none: the
    # twin reads each stage's models back and fails a stage whose VpcConfig is not its own.
    settings = project / "project.toml"
    with_network, count = re.subn(
        r'(\[network\.prod\][^\[]*?)vpc_id = ""\nsubnet_ids = \[\]\nsecurity_group_ids = \[\]',
        r'\1vpc_id = "vpc-0a1b2c3d4e5f60718"\n'
        r'subnet_ids = ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60718"]\n'
        r'security_group_ids = ["sg-0a1b2c3d4e5f60718"]',
        settings.read_text(encoding="utf-8"),
    )
    assert count == 1, "project.toml has no blank [network.prod] table"
    settings.write_text(with_network, encoding="utf-8")
    code, output, report = _twin(project)
    assert code == 0, output[-6000:]
    deployed = [line for line in _lines(output) if "endpoint " in line and " in account " in line]
    assert any(
        f"in account {PROD}" in line and "models in vpc-0a1b2c3d4e5f60718 (2 subnets)" in line
        for line in deployed
    ), deployed
    assert any(f"in account {STAGING}" in line and "no VPC" in line for line in deployed), deployed
    drift = "5b shifted traffic -> drift alarm -> retraining"  # medium and large only
    quality = (
        "5c predictions + ground truth -> model-quality alarm -> retraining + one notification"
    )
    expected = [*STAGES[:6], drift, quality, *STAGES[6:]]
    assert [(s["name"], s["outcome"]) for s in report["stages"]] == [(s, "ok") for s in expected]
    (stage,) = [s for s in report["stages"] if s["name"] == drift]
    assert any(
        line.startswith("alarm ") and ": ALARM (Threshold Crossed" in line
        for line in stage["detail"]
    )
    (stage,) = [s for s in report["stages"] if s["name"] == quality]
    assert "notifications: 1" in stage["detail"]
    assert any(line.startswith("alarm ") and ": ALARM" in line for line in stage["detail"])
    # Every job of every run carried the project's key and ran in the project's VPC.
    details = [line for s in report["stages"] for line in s["detail"]]
    assert any("all in the project's VPC (2 subnets)" in line for line in details)
    deploy = next(s for s in report["stages"] if s["name"].startswith("4 "))
    assert any(f"in account {STAGING}" in line for line in _lines(output))
    assert any(f"in account {PROD}" in line for line in _lines(output))
    assert deploy["outcome"] == "ok"


def _lines(text: str) -> list[str]:
    return text.splitlines()


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_a_seam_broken_on_one_side_fails_its_stage(small: Path, name: str) -> None:
    mutation = MUTATIONS[name]
    path = small / mutation.file
    original = path.read_text(encoding="utf-8")
    mutated = original
    for old, new in mutation.edits:
        assert mutated.count(old) == 1, f"{mutation.file}: {old!r} is not found exactly once"
        mutated = mutated.replace(old, new)
    path.write_text(mutated, encoding="utf-8")
    try:
        code, output, report = _twin(small)
    finally:
        path.write_text(original, encoding="utf-8")
    assert code != 0, output[-4000:]
    failed = [s for s in report["stages"] if s["outcome"] == "failed"]
    assert len(failed) == 1 and failed[0]["name"].startswith(mutation.stage + " "), output[-4000:]
    (line,) = [line for line in output.splitlines() if line.startswith("twin: FAILED: ")]
    assert mutation.message in line, line
