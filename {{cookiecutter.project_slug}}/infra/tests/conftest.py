"""One synth of this project's stack (with cdk-nag) shared by the tests: synthesizing costs seconds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from project_infra.checks import Resolver
from project_infra.settings import Settings, find_project_file, load
from project_infra.synth import build_app


@dataclass(frozen=True)
class Synthesized:
    settings: Settings
    repo_root: Path
    outdir: Path
    template_file: Path
    template: dict[str, Any]
    resolver: Resolver

    @property
    def project_name(self) -> str:
        """The SageMakerProjectName default: the slug in lowercase, as SageMaker writes ARNs."""
        return self.settings.slug.lower()

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}


def synthesize(project_file: Path, outdir: Path) -> Synthesized:
    """Synthesize; a cdk-nag finding that is not acknowledged raises here (validation failure)."""
    settings = load(project_file)
    assembly = build_app(project_file, outdir).synth()
    (stack,) = assembly.stacks
    template_file = outdir / stack.template_file
    template = json.loads(template_file.read_text(encoding="utf-8"))
    return Synthesized(
        settings,
        project_file.parent,
        outdir,
        template_file,
        template,
        Resolver(template, settings.region),
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    project_file = find_project_file(Path(__file__).resolve().parent)
    return synthesize(project_file, tmp_path_factory.mktemp("cdk.out"))
