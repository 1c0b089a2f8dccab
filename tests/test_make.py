"""The generated Makefile, for real: a fresh bake creates its own virtualenv with the pinned
dependencies and every target works. Installs come from the wheel cache `./dev test` fills, with
pip's index switched off, so the tier runs offline."""

from __future__ import annotations

import os
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
        "check-network",
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


def dry_run_installs(project: Path, tmp_path: Path, **settings: str) -> str:
    """The install commands a first `make local` would run, with only ``settings`` of pip's set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env["PIP_CONFIG_FILE"] = str(tmp_path / "pip.conf")  # none unless a test writes it
    result = subprocess.run(
        ["make", "--no-print-directory", "--dry-run", "--always-make", "local"],
        cwd=project,
        env={**env, **settings},
        capture_output=True,
        text=True,
        check=True,
    )
    return "\n".join(line for line in result.stdout.splitlines() if "uv pip install" in line)


def test_pip_settings_reach_uv(project: Path, tmp_path: Path) -> None:
    """uv reads none of pip's settings: a mirror or wheel folder set for pip must still be used."""
    plain = dry_run_installs(project, tmp_path)
    assert plain.count("uv pip install") == 2, plain
    assert not re.search(r"--(no-index|default-index|index|find-links)\b", plain), plain
    mirror = "https://mirror.example.com/simple"
    (tmp_path / "pip.conf").write_text(f"[global]\nindex-url = {mirror}\n")
    from_file = dry_run_installs(project, tmp_path)
    assert from_file.count(f"--default-index {mirror} ") == 2, from_file
    from_env = dry_run_installs(
        project,
        tmp_path,
        PIP_INDEX_URL="https://other.example.com/simple",
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS="/wheels/a /wheels/b",
        PIP_EXTRA_INDEX_URL="https://extra.example.com/simple",
    )
    for flags in (
        "--no-index",
        "--default-index https://other.example.com/simple",  # the variable wins over pip.conf
        "--index https://extra.example.com/simple",
        "--find-links /wheels/a --find-links /wheels/b",
    ):
        assert from_env.count(flags) == 2, (flags, from_env)


def test_synth_writes_the_cicd_template_without_credentials(project: Path) -> None:
    result = make(project, "synth")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (project / "infra" / "cdk.out" / "Project.template.json").is_file()
