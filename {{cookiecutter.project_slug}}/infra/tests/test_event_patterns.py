"""The synthesized EventBridge patterns, resolved as a deploy with the defaults would resolve them,
matched against sample events by a real matcher (moto's EventBridge routing to an SQS target)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Synthesized

from project_infra.synth_checks import ACCOUNT, event_matches


@pytest.fixture(scope="module")
def patterns(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        key: synthesized.resolver.resolve(rule["Properties"]["EventPattern"])
        for key, rule in synthesized.resources("AWS::Events::Rule").items()
    }


def _pattern(patterns: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    (found,) = [p for key, p in patterns.items() if name in key]
    return found


def _package_event(group: str, status: str) -> dict[str, Any]:
    return {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageVersion": 3,
            "ModelApprovalStatus": status,
        },
    }


@pytest.mark.parametrize(
    ("status", "group_suffix", "expected"),
    [
        ("Approved", "-manual", True),
        ("Rejected", "-manual", True),
        ("PendingManualApproval", "-manual", False),
        ("Approved", "-other", False),
    ],
)
def test_model_package_decisions_start_the_deploy_pipeline(
    synthesized: Synthesized,
    patterns: dict[str, Any],
    status: str,
    group_suffix: str,
    expected: bool,
) -> None:
    event = _package_event(synthesized.project_name + group_suffix, status)
    pattern = _pattern(patterns, "ModelPackageDecision")
    assert event_matches(pattern, event, synthesized.settings.region) is expected


@pytest.mark.parametrize(("tag", "expected"), [("release-2026-11", True), ("3f2c1ab", False)])
def test_only_release_image_pushes_start_the_build_pipeline(
    synthesized: Synthesized, patterns: dict[str, Any], tag: str, expected: bool
) -> None:
    event = {
        "source": "aws.ecr",
        "detail-type": "ECR Image Action",
        "detail": {
            "action-type": "PUSH",
            "result": "SUCCESS",
            "repository-name": f"sagemaker-{synthesized.lowercase_name}",
            "image-digest": "sha256:" + "0" * 64,
            "image-tag": tag,
        },
    }
    pattern = _pattern(patterns, "ReleaseImagePush")
    assert event_matches(pattern, event, synthesized.settings.region) is expected


@pytest.mark.parametrize(("state", "expected"), [("FAILED", True), ("SUCCEEDED", False)])
def test_failed_codepipeline_runs_notify(
    codepipeline_synthesized: Synthesized, state: str, expected: bool
) -> None:
    synthesized = codepipeline_synthesized
    (rule,) = [
        r
        for k, r in synthesized.resources("AWS::Events::Rule").items()
        if k.startswith("CiCdPipelineFailure")
    ]
    pattern = synthesized.resolver.resolve(rule["Properties"]["EventPattern"])
    for suffix in ("build", "deploy"):
        event = {
            "source": "aws.codepipeline",
            "detail-type": "CodePipeline Pipeline Execution State Change",
            "detail": {
                "pipeline": f"{synthesized.project_name}-manual-{suffix}",
                "execution-id": "01234567-0123-0123-0123-012345678901",
                "state": state,
                "version": 1,
            },
        }
        assert event_matches(pattern, event, synthesized.settings.region) is expected


def test_with_another_ci_no_codepipeline_failure_rule(synthesized: Synthesized) -> None:
    """GitHub Actions / GitLab CI report their own failures; no rule waits for CodePipeline's."""
    failures = [k for k in synthesized.resources("AWS::Events::Rule") if "CiCdPipelineFailure" in k]
    assert bool(failures) is (not synthesized.settings.ci.external)


@pytest.mark.parametrize(("status", "expected"), [("Failed", True), ("Succeeded", False)])
def test_failed_sagemaker_pipeline_runs_notify(
    synthesized: Synthesized, patterns: dict[str, Any], status: str, expected: bool
) -> None:
    region = synthesized.settings.region
    arn = f"arn:aws:sagemaker:{region}:{ACCOUNT}:pipeline/{synthesized.lowercase_name}-manual-model-build"
    event = {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Building Pipeline Execution Status Change",
        "detail": {
            "pipelineArn": arn,
            "pipelineExecutionArn": f"{arn}/execution/abcdef123456",
            "currentPipelineExecutionStatus": status,
            "previousPipelineExecutionStatus": "Executing",
        },
    }
    pattern = _pattern(patterns, "SageMakerPipelineFailure")
    assert event_matches(pattern, event, region) is expected
