"""buildspec.yml parses, runs the phases CodeBuild needs, and calls commands that exist."""

from __future__ import annotations

import tomllib
from pathlib import Path

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
    """The buildspec installs with ``-c constraints.txt``: every dependency must have its pin there."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {
        name.split("[")[0].lower()
        for name in [*project["dependencies"], *project["optional-dependencies"]["test"]]
    }
    pins = {
        line.split("==")[0].lower()
        for line in (ROOT.parent / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert wanted and wanted <= pins, sorted(wanted - pins)
