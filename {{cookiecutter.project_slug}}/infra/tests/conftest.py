"""One synth of this project's stack (with cdk-nag) shared by the tests: synthesizing costs seconds."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from project_infra.settings import CiSettings, Settings, find_project_file, load
from project_infra.synth import app_for
from project_infra.synth_checks import Resolver
from project_infra.twin.bus import Bus, rules_from_template


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
        """The SageMakerProjectName default: the slug."""
        return self.settings.slug

    @property
    def lowercase_name(self) -> str:
        """The project name as SageMaker writes it into ARNs, and as ECR and the endpoints have it
        (what ``Custom::ProjectName`` answers for the default)."""
        return self.settings.slug.lower()

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}


def synthesize(project_file: Path, outdir: Path) -> Synthesized:
    """Synthesize; a cdk-nag finding that is not acknowledged raises here (validation failure)."""
    return synthesize_settings(load(project_file), project_file.parent, outdir)


def synthesize_settings(settings: Settings, repo_root: Path, outdir: Path) -> Synthesized:
    """The stack of ``settings`` (e.g. this project's with one value changed), checked the same way."""
    (stack,) = app_for(settings, repo_root, outdir).synth().stacks
    template_file = outdir / stack.template_file
    template = json.loads(template_file.read_text(encoding="utf-8"))
    return Synthesized(
        settings, repo_root, outdir, template_file, template, Resolver(template, settings.region)
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    project_file = find_project_file(Path(__file__).resolve().parent)
    return synthesize(project_file, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def codepipeline_synthesized(
    synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> Synthesized:
    """This project's stack with [ci] system codepipeline: what the tests of the CodePipeline and
    CodeBuild resources read. A GitHub Actions / GitLab CI project's own stack has neither
    (test_external_ci.py checks its jobs get what these projects get)."""
    if not synthesized.settings.ci.external:
        return synthesized
    settings = dataclasses.replace(synthesized.settings, ci=CiSettings())
    return synthesize_settings(settings, synthesized.repo_root, tmp_path_factory.mktemp("cp"))


@pytest.fixture(scope="session")
def external_synthesized(
    synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> Synthesized:
    """A GitHub Actions / GitLab CI stack of this project: its own, or (a CodePipeline project)
    the GitHub Actions one of the same settings. The GitLab CI stack is checked in the bakes
    generated with it."""
    if synthesized.settings.ci.external:
        return synthesized
    settings = dataclasses.replace(
        synthesized.settings,
        git_provider="github",
        ci=CiSettings("github-actions", dispatch_token_secret=f"{synthesized.settings.slug}-ci"),
    )
    return synthesize_settings(settings, synthesized.repo_root, tmp_path_factory.mktemp("gh"))


@pytest.fixture(scope="module")
def bus(synthesized: Synthesized) -> Iterator[Bus]:
    """The synthesized rules in moto's EventBridge (server mode on 127.0.0.1), per test module."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    session = boto3.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=synthesized.settings.region,
    )
    events = session.client("events", endpoint_url=f"http://{host}:{port}")
    yield Bus(rules_from_template(synthesized.template, synthesized.resolver.resolve), events)
    server.stop()
