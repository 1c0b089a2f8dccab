"""The generated Makefile, for real: a fresh bake creates its own virtualenv with the pinned
dependencies and every target works. Installs come from the wheel cache `./dev test` fills, with
pip's index switched off, so the tier runs offline."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.baking import WHEELS, bake, make

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert (WHEELS / ".complete").is_file(), f"no wheel cache at {WHEELS}: run ./dev test"
    return bake(
        template, tmp_path_factory.mktemp("make"), {"mlops_size": "large", "single_account": True}
    )


def test_help_lists_the_targets(project: Path) -> None:
    result = make(project, "help")
    assert result.returncode == 0, result.stderr
    for target in (
        "venv",
        "local",
        "approve",
        "local-serve",
        "test-endpoint",
        "local-monitor",
        "synth",
        "deploy-infra",
        "test",
        "lint",
        "clean",
    ):
        assert f"make {target} " in result.stdout


def test_first_make_local_installs_only_the_local_loop(project: Path) -> None:
    """A newcomer's first `make local` installs the local loop's packages (requirements-sdk.lock and
    requirements-local.txt), not the CDK, linters, twin tooling or the SDK's full MLflow and pyarrow; the
    whole local loop runs in that venv (its time and size: docs/benchmarks.md)."""
    local = make(project, "local")
    assert local.returncode == 0, local.stdout[-4000:] + local.stderr[-3000:]
    assert "PendingManualApproval" in local.stdout and "Evaluate: auc 0." in local.stdout
    site = next((project / ".venv" / "lib").glob("python3.*/site-packages"))
    installed = {path.name for path in site.iterdir()}
    assert not {"aws_cdk", "cfnlint", "awscli", "moto", "pyarrow"} & installed
    # The steps' MLflow client (mlflow-skinny, whose package is also `mlflow`), not the full MLflow.
    assert "mlflow" in installed
    assert not [name for name in installed if re.fullmatch(r"mlflow-[\d.]+\.dist-info", name)]
    assert (project / ".venv" / ".installed-local").is_file()
    assert not (project / ".venv" / ".installed").exists()
    approve = make(project, "approve")
    assert approve.returncode == 0, approve.stderr
    assert approve.stdout.strip().endswith(": Approved")
    # The shipped shifted batch drifts: the monitor's exit status 2 reaches make.
    drift = make(project, "local-monitor", "CAPTURE=model-build/data/outliers/capture")
    assert drift.returncode == 2, drift.stdout[-3000:] + drift.stderr[-3000:]
    assert "Age baseline_drift_check" in drift.stdout + drift.stderr
    assert not (project / ".venv" / ".installed").exists()


def test_first_target_creates_the_pinned_venv(project: Path) -> None:
    result = make(project, "venv")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    frozen = subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    locked = {
        line
        for line in (project / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert set(frozen) <= locked, set(frozen) - locked


def test_lint_passes_in_the_project_venv(project: Path) -> None:
    # `make test` (every suite in the project's own venv, then `make lint` over what it left behind)
    # runs in the swap test (tests/test_swap_model.py), on the bake the README's swap produced.
    result = make(project, "lint")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]


def test_synth_writes_the_cicd_template_without_credentials(project: Path) -> None:
    result = make(project, "synth")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (project / "infra" / "cdk.out" / "Project.template.json").is_file()
