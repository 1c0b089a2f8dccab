"""CodePipeline's V2 git triggers as the twin reads them from the synthesized pipelines: a push
starts a pipeline only through its branch and file-path filters."""

from __future__ import annotations

import pytest
from conftest import Synthesized

from project_infra.twin.codepipeline import path_matches, triggered
from project_infra.twin.provision import Resource


@pytest.fixture(scope="session")
def synthesized(codepipeline_synthesized: Synthesized) -> Synthesized:
    """The twin's CodePipeline and CodeBuild emulation reads this project's stack with [ci] system
    codepipeline (test_ci_jobs.py covers what the twin does for GitHub Actions / GitLab CI)."""
    return codepipeline_synthesized


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("model-build/buildspec.yml", "model-build/**", True),
        ("model-build/container/src/a.py", "model-build/**", True),
        ("model-deploy/endpoint.yml", "model-build/**", False),
        ("README.md", "*.md", True),
        ("docs/README.md", "*.md", False),  # one * stays within a folder
    ],
)
def test_file_path_globs(path: str, pattern: str, expected: bool) -> None:
    assert path_matches(path, pattern) is expected


def _pipelines(synthesized: Synthesized) -> dict[str, Resource]:
    pipelines = {}
    for logical, body in synthesized.resources("AWS::CodePipeline::Pipeline").items():
        # Only the triggers: the source's connection ARN has no default to resolve with.
        properties = {
            "Triggers": synthesized.resolver.resolve(body["Properties"].get("Triggers", []))
        }
        pipelines[logical] = Resource(logical, body["Type"], "twin", properties=properties)
    return pipelines


def test_a_push_starts_only_the_pipeline_whose_folder_changed(synthesized: Synthesized) -> None:
    pipelines = _pipelines(synthesized)
    build = next(p for k, p in pipelines.items() if "ModelBuild" in k)
    deploy = next(p for k, p in pipelines.items() if "ModelDeploy" in k)
    if not build.properties.get("Triggers"):
        assert triggered(build, "main", ["model-build/buildspec.yml"]) is None
        pytest.skip("CodeCommit sources start through CodePipeline's own rule, not git triggers")
    assert triggered(build, "main", ["model-build/buildspec.yml"]) is True
    assert triggered(deploy, "main", ["model-build/buildspec.yml"]) is False
    assert triggered(deploy, "main", ["model-deploy/prod-config.json"]) is True
    assert triggered(build, "feature", ["model-build/buildspec.yml"]) is False  # branch filter
