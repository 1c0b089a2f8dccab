"""buildspec.yml parses, runs the phases CodeBuild needs, and calls commands that exist."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]


def test_buildspec_phases_and_commands() -> None:
    spec = yaml.safe_load((ROOT / "buildspec.yml").read_text(encoding="utf-8"))
    assert spec["version"] == 0.2
    phases = spec["phases"]
    assert list(phases) == ["install", "pre_build", "build"]
    text = "\n".join(command for phase in phases.values() for command in phase["commands"])
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    for command in ("get-pipeline-definition", "run-pipeline", "upsert-pipelines"):
        assert command in text and command in scripts
    assert "ruff check" in text and "pytest" in text
    assert "ImageUri=${IMAGE_URI}" in text
    # The scheduled pipelines are upserted after the model-build run started, with the same image.
    build = phases["build"]["commands"]
    run = next(i for i, c in enumerate(build) if c.startswith("run-pipeline"))
    upsert = [i for i, c in enumerate(build) if c.startswith("upsert-pipelines")]
    assert upsert and upsert[0] > run
    assert build[upsert[0]] == 'upsert-pipelines --image-uri "${IMAGE_URI}"'


def test_dependencies_are_pinned_in_the_project_constraints() -> None:
    """The buildspec installs with ``-c constraints.txt``: every dependency must have its pin there,
    but the project's own packages, which it installs from their folders (``-e <folder>``)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {
        name.split("[")[0].lower()
        for name in [*project["dependencies"], *project["optional-dependencies"]["test"]]
    }
    own = {
        tomllib.loads(path.read_text(encoding="utf-8"))["project"]["name"]: path.parent
        for path in ROOT.parent.glob("*/pyproject.toml")
    }
    pins = {
        line.split("==")[0].lower()
        for line in (ROOT.parent / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert wanted and wanted - set(own) <= pins, sorted(wanted - set(own) - pins)
    install = " ".join(
        yaml.safe_load((ROOT / "buildspec.yml").read_text())["phases"]["install"]["commands"]
    )
    for name in wanted & set(own):
        assert f"-e {own[name].relative_to(ROOT.parent).as_posix()} " in install, name


FAKE_PYTHON = """#!/bin/sh
# stands in for `python -m pytest -q`: fails in the folder named by $FAIL_IN
echo "tests of $(basename "$PWD")"
case "$PWD" in */"$FAIL_IN") exit 1 ;; esac
exit 0
"""


@pytest.mark.parametrize(
    ("fail_in", "reported"),
    [
        ("", ""),
        ("model-build/model", "model-build/model+container"),
        ("model-build/container", "model-build/model+container"),
        ("model-build", "model-build"),
    ],
)
def test_the_unit_test_command_fails_the_build_when_either_suite_fails(
    tmp_path: Path, fail_in: str, reported: str
) -> None:
    """The two suites run at once; a failure of either must still fail pre_build, with both logs."""
    spec = yaml.safe_load((ROOT / "buildspec.yml").read_text(encoding="utf-8"))
    (command,) = [c for c in spec["phases"]["pre_build"]["commands"] if "pytest" in c]
    (tmp_path / "model-build" / "container").mkdir(parents=True)
    (tmp_path / "model-build" / "model").mkdir()
    fake = tmp_path / "bin" / "python"
    fake.parent.mkdir()
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=tmp_path,
        env={**env, "FAIL_IN": fail_in or "none"},
        capture_output=True,
        text=True,
        check=False,
    )
    for suite in ("model", "container", "model-build"):
        assert f"tests of {suite}" in done.stdout
    if fail_in:
        assert done.returncode != 0
        assert done.stdout.strip().endswith(f"error: unit tests failed in: {reported}")
    else:
        assert done.returncode == 0, done.stdout + done.stderr
