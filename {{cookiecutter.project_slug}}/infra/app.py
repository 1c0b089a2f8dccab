"""CDK CLI entry point (`cdk synth`, `cdk deploy` from infra/): the same app `python -m
project_infra.synth` builds, from the project.toml one folder up."""

from pathlib import Path

from project_infra.synth import build_app

HERE = Path(__file__).resolve().parent

build_app(HERE.parent / "project.toml").synth()
