"""No drift between the stack and the repository it builds: every buildspec a CodeBuild project
names exists, every variable it sets is one its buildspec documents or reads, and the artifact
names and files the pipelines pass between actions are the ones the buildspecs produce."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import Synthesized

from project_infra.builds import BUILDSPECS

# `{STAGING,PROD}_DATA_CAPTURE_URI` in a buildspec's header stands for both names (shell braces).
BRACES = re.compile(r"\{([A-Z0-9_,]+)\}([A-Z0-9_]*)")

# The buildspecs exist in CodePipeline projects only (a GitHub Actions / GitLab CI project's
# workflow files call the same scripts: test_ci_files.py).
pytestmark = pytest.mark.skipif(
    not (Path(__file__).resolve().parents[2] / "model-build" / "buildspec.yml").is_file(),
    reason="generated for another CI system: no buildspecs (test_ci_files.py checks its files)",
)


def _mentioned(text: str) -> str:
    """``text`` with every brace group expanded, so each documented name appears literally."""
    return BRACES.sub(lambda m: " ".join(p + m.group(2) for p in m.group(1).split(",")), text)


def _projects(synthesized: Synthesized) -> dict[str, list[str]]:
    """buildspec path -> names of the environment variables the project sets."""
    return {
        p["Properties"]["Source"]["BuildSpec"]: [
            v["Name"] for v in p["Properties"]["Environment"].get("EnvironmentVariables", [])
        ]
        for p in synthesized.resources("AWS::CodeBuild::Project").values()
    }


def test_the_stack_runs_exactly_the_known_buildspecs(synthesized: Synthesized) -> None:
    assert sorted(_projects(synthesized)) == sorted(BUILDSPECS)


@pytest.mark.parametrize("path", BUILDSPECS)
def test_buildspec_exists_and_documents_every_variable_it_gets(
    synthesized: Synthesized, path: str
) -> None:
    buildspec = synthesized.repo_root / path
    assert buildspec.is_file(), f"{path}: the stack runs it but the repository has no such file"
    text = _mentioned(buildspec.read_text(encoding="utf-8"))
    assert [name for name in _projects(synthesized)[path] if name not in text] == []


def _buildspec(synthesized: Synthesized, path: str) -> dict:
    return yaml.safe_load((synthesized.repo_root / path).read_text(encoding="utf-8"))


def test_image_build_hands_its_uri_to_the_pipeline_run(synthesized: Synthesized) -> None:
    image = _buildspec(synthesized, "model-build/container/buildspec.yml")
    assert "IMAGE_URI" in image["env"]["exported-variables"]
    assert image["artifacts"]["files"] == ["image-uri.txt"]
    run = (synthesized.repo_root / "model-build/buildspec.yml").read_text(encoding="utf-8")
    assert "CODEBUILD_SRC_DIR_ImageArtifact" in run and "IMAGE_URI" in run


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_deploy_build_writes_what_the_cloudformation_actions_read(
    synthesized: Synthesized, stage: str
) -> None:
    deploy = _buildspec(synthesized, "model-deploy/buildspec.yml")
    assert {
        "endpoint.yml",
        f"{stage}-config-export.json",
        f"{stage}-release-export.json",
    } <= set(deploy["artifacts"]["files"])


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _readable_keys(synthesized: Synthesized, role: str) -> list[str]:
    """The artifact bucket key patterns role ``role`` (a logical id part) may s3:GetObject."""
    (role_id,) = [k for k in synthesized.resources("AWS::IAM::Role") if role in k]
    (bucket_id,) = [k for k in synthesized.resources("AWS::S3::Bucket") if "ArtifactBucket" in k]
    bucket = str(synthesized.resolver.resolve({"Fn::GetAtt": [bucket_id, "Arn"]})) + "/"
    return [
        resource[len(bucket) :]
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "s3:GetObject*" in _as_list(statement["Action"])
        for resource in _as_list(synthesized.resolver.resolve(statement["Resource"]))
        if isinstance(resource, str) and resource.startswith(bucket)
    ]


def test_the_endpoint_tests_get_the_examples_of_the_deployed_package(
    codepipeline_synthesized: Synthesized, external_synthesized: Synthesized
) -> None:
    """The seam model-build -> model-deploy: the Register step links Evaluate's examples.csv
    (s3://<bucket>/<project>-<id>/<execution id>/evaluate/evaluation/examples.csv, pinned by
    model-build's definition tests); the deploy build (CodeBuild, or the external CI's deploy-config
    job, which has no CodePipeline artifact grant) may read those objects and writes them into its
    output, and the endpoint tests get that output as their second input."""
    (deploy,) = [
        p
        for p in codepipeline_synthesized.resources("AWS::CodePipeline::Pipeline").values()
        if any(
            a["Name"] == "EndpointTests" for s in p["Properties"]["Stages"] for a in s["Actions"]
        )
    ]
    actions = {a["Name"]: a for s in deploy["Properties"]["Stages"] for a in s["Actions"]}
    assert [o["Name"] for o in actions["StackParameters"]["OutputArtifacts"]] == ["BuildArtifact"]
    inputs = [i["Name"] for i in actions["EndpointTests"]["InputArtifacts"]]
    assert inputs == ["SourceArtifact", "BuildArtifact"]  # CODEBUILD_SRC_DIR_BuildArtifact

    execution = "0123abcd4567"
    for synthesized, role in (
        (codepipeline_synthesized, "DeployBuildRole"),
        (external_synthesized, "CiDeployConfigRole"),
    ):
        base = "-".join(
            synthesized.resolver.resolve(
                [{"Ref": "SageMakerProjectName"}, {"Ref": "SageMakerProjectId"}]
            )
        )
        keys = _readable_keys(synthesized, role)
        examples = f"{base}/{execution}/evaluate/evaluation/examples.csv"
        assert any(fnmatch.fnmatchcase(examples, key) for key in keys), (role, keys)
        if synthesized is external_synthesized:
            # No CodePipeline artifact grant here: the examples, not the run's other outputs.
            model = f"{base}/{execution}/train/model.tar.gz"
            assert not any(fnmatch.fnmatchcase(model, key) for key in keys), keys
