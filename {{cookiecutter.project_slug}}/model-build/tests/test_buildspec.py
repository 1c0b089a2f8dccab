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


def test_requirements_are_exact_pins() -> None:
    lines = [
        line
        for line in (ROOT / "requirements-pipeline.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines and all(line.count("==") == 1 and " " not in line for line in lines)
