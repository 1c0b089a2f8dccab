"""The AWS event samples against this project's synthesized rules, matched by the emulator: each
sample starts what it should, and a sample with one field wrong starts nothing."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from conftest import Synthesized

from project_infra.synth_checks import ACCOUNT
from project_infra.twin import samples
from project_infra.twin.bus import Bus


@pytest.fixture(scope="session")
def synthesized(codepipeline_synthesized: Synthesized) -> Synthesized:
    """The twin's CodePipeline and CodeBuild emulation reads this project's stack with [ci] system
    codepipeline (test_ci_jobs.py covers what the twin does for GitHub Actions / GitLab CI)."""
    return codepipeline_synthesized


ENVELOPE = [
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
]


class Names:
    """This project's resource names as a deploy with the parameters' defaults names them."""

    def __init__(self, synthesized: Synthesized) -> None:
        self.region = synthesized.settings.region
        self.prefix = f"{synthesized.project_name}-manual"
        self.repository = f"sagemaker-{synthesized.lowercase_name}"
        (bucket,) = [
            r["Properties"]["EventPattern"]["detail"]["bucket"]["name"]
            for k, r in synthesized.resources("AWS::Events::Rule").items()
            if "NewTrainingData" in k
        ] or [None]
        self.bucket = synthesized.resolver.resolve(bucket)[0] if bucket else ""

    def pipeline_arn(self, suffix: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{ACCOUNT}:pipeline/{self.prefix}-{suffix}"

    def execution_arn(self, suffix: str) -> str:
        return f"{self.pipeline_arn(suffix)}/execution/{uuid.uuid4().hex[:12]}"


Builder = Callable[[Names, bool], dict[str, Any]]  # (names, right) -> event

CASES: dict[str, tuple[Builder, list[str]]] = {
    # name: (builder, fragments of the logical ids of the rules the right sample starts)
    "model package approved": (
        lambda n, right: samples.model_package_state_change(
            n.prefix, 3, "Approved" if right else "PendingManualApproval", region=n.region
        ),
        ["ModelPackageDecision"],
    ),
    "release image pushed": (
        lambda n, right: samples.ecr_image_push(
            n.repository,
            "release-2026-12" if right else "3f2c1ab",
            "sha256:" + "0" * 64,
            region=n.region,
        ),
        ["ReleaseImagePush"],
    ),
    "training data uploaded": (
        lambda n, right: samples.s3_object_created(
            n.bucket,
            f"{n.prefix}/data/raw/2026-12.{'csv' if right else 'json'}",
            1024,
            region=n.region,
        ),
        ["NewTrainingData"],
    ),
    "sagemaker pipeline failed": (
        lambda n, right: samples.pipeline_execution_status_change(
            n.pipeline_arn("model-build"),
            n.execution_arn("model-build"),
            "Failed" if right else "Succeeded",
        ),
        ["SageMakerPipelineFailure"],
    ),
    "batch input drifted": (
        lambda n, right: samples.pipeline_step_status_change(
            n.pipeline_arn("batch-inference"),
            n.execution_arn("batch-inference"),
            "BatchInputDrift",
            "Failed" if right else "Executing",
            step_type="Fail",
        ),
        ["BatchInputDrift"],
    ),
    "batch step failed": (
        lambda n, right: samples.pipeline_step_status_change(
            n.pipeline_arn("batch-inference"),
            n.execution_arn("batch-inference"),
            "CheckBatchInput",
            "Failed" if right else "Succeeded",
        ),
        ["BatchPipelineFailure"],
    ),
    "branch pushed": (
        lambda n, right: samples.codecommit_reference_updated(
            f"arn:aws:codecommit:{n.region}:{ACCOUNT}:sagemaker-{n.prefix}",
            "main" if right else "feature/x",
            "7f0103f" + "0" * 33,
        ),
        ["ModelBuild", "ModelDeploy"],  # both pipelines build the branch
    ),
    "codepipeline failed": (
        lambda n, right: samples.codepipeline_execution_state_change(
            f"{n.prefix}-build", "FAILED" if right else "SUCCEEDED", region=n.region
        ),
        ["CiCdPipelineFailure"],
    ),
}


def _started(bus: Bus, event: dict[str, Any]) -> set[str]:
    return {d.rule for d in bus.put(event)}


@pytest.mark.parametrize("case", list(CASES))
def test_a_sample_starts_its_rule_and_a_wrong_field_starts_none(
    synthesized: Synthesized, bus: Bus, case: str
) -> None:
    builder, fragments = CASES[case]
    expected = {r["rule"] for r in bus.describe() if any(f in r["rule"] for f in fragments)}
    if len(expected) < len(fragments):
        pytest.skip(f"this project has no rule {fragments} (size {synthesized.settings.size})")
    names = Names(synthesized)
    assert _started(bus, builder(names, True)) == expected
    assert _started(bus, builder(names, False)) == set()


@pytest.mark.parametrize("case", list(CASES))
def test_a_sample_has_eventbridges_envelope(synthesized: Synthesized, case: str) -> None:
    event = CASES[case][0](Names(synthesized), True)
    assert list(event) == ENVELOPE
    assert event["version"] == "0"
    assert uuid.UUID(event["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    assert event["account"] == ACCOUNT
    assert event["region"] == synthesized.settings.region


def test_the_model_package_sample_has_the_documented_fields() -> None:
    event = samples.model_package_state_change("Group-A", 2, "Rejected", region="us-east-2")
    assert event["resources"] == [
        "arn:aws:sagemaker:us-east-2:123456789012:model-package/group-a/2"
    ]
    assert set(event["detail"]) >= {
        "ModelPackageGroupName",
        "ModelPackageVersion",
        "ModelPackageArn",
        "ModelPackageStatus",
        "ModelApprovalStatus",
        "CreationTime",
        "LastModifiedTime",
    }


def test_a_failed_step_sample_says_why() -> None:
    arn = "arn:aws:sagemaker:eu-west-1:210987654321:pipeline/p"
    event = samples.pipeline_step_status_change(arn, f"{arn}/execution/e", "S", "Failed")
    assert (event["region"], event["account"]) == ("eu-west-1", "210987654321")
    assert event["detail"]["failureReason"]
    with pytest.raises(ValueError, match="is not an ARN"):
        samples.pipeline_step_status_change("p", "e", "S", "Failed")
