"""What starts what: EventBridge rules (model package decisions -> deploy pipeline, release image
pushes -> build pipeline, failures -> the topic). With GitHub Actions or GitLab CI the first two
start its workflows instead (external_ci.Triggers). The patterns are plain functions so the tests
match them against sample events with a real matcher. Schedules, the drift alarm and the retraining
triggers live in :mod:`project_infra.monitoring`."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from project_infra import arns
from project_infra.artifacts import Artifacts
from project_names import Names

# Images the build pipeline pushes are tagged src-<hash of model-build/>; only a tag with this prefix (an
# image pushed by hand, such as a patched base) starts the build pipeline, so its own pushes never
# start it again.
RELEASE_TAG_PREFIX = "release-"
# Every notification says what was started in response; for a failure, that is nothing.
NOTHING_STARTED = "Nothing was started in response."

Pattern = dict[str, Any]


def any_case(value: str) -> dict[str, str]:
    """Matches ``value`` in any letter case. SageMaker writes the names it puts into events (a
    pipeline's ARN) lowercased, while the stack holds the project name as Studio gave it:
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
    (``equals-ignore-case``, event buses)."""
    return {"equals-ignore-case": value}


def model_package_decision(group: str) -> Pattern:
    return {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {
            "ModelPackageGroupName": [any_case(group)],
            "ModelApprovalStatus": ["Approved", "Rejected"],
        },
    }


def release_image_push(repository: str) -> Pattern:
    return {
        "source": ["aws.ecr"],
        "detail-type": ["ECR Image Action"],
        "detail": {
            "action-type": ["PUSH"],
            "result": ["SUCCESS"],
            "repository-name": [repository],
            "image-tag": [{"prefix": RELEASE_TAG_PREFIX}],
        },
    }


def codepipeline_failure(pipeline_names: list[str]) -> Pattern:
    return {
        "source": ["aws.codepipeline"],
        "detail-type": ["CodePipeline Pipeline Execution State Change"],
        "detail": {"pipeline": pipeline_names, "state": ["FAILED"]},
    }


def sagemaker_pipeline_failure(pipeline_arns: list[str]) -> Pattern:
    return {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Building Pipeline Execution Status Change"],
        "detail": {
            "pipelineArn": [any_case(arn) for arn in pipeline_arns],
            "currentPipelineExecutionStatus": ["Failed"],
        },
    }


def rule(scope: Construct, construct_id: str, description: str, pattern: Pattern) -> events.Rule:
    return events.Rule(
        scope,
        construct_id,
        description=description,
        event_pattern=events.EventPattern(
            source=pattern["source"],
            detail_type=pattern["detail-type"],
            resources=pattern.get("resources"),
            detail=pattern["detail"],
        ),
    )


def wire(
    scope: Construct,
    names: Names,
    artifacts: Artifacts,
    *,
    deploy: events.IRuleTarget,
    build: events.IRuleTarget,
    codepipelines: list[str],
    sagemaker_pipelines: list[str],
) -> None:
    """``deploy``/``build``: what starts the deploy and the build (the CodePipeline pipelines, or
    the CI's workflows). ``codepipelines``: the CodePipeline pipelines whose failures notify (none
    with another CI, which reports its own failures). ``sagemaker_pipelines``: names of the
    project's SageMaker pipelines whose failures notify."""
    decision = rule(
        scope,
        "ModelPackageDecision",
        f"Approved or rejected packages of {names.model_package_group} start the deploy",
        model_package_decision(names.model_package_group),
    )
    decision.add_target(deploy)

    image = rule(
        scope,
        "ReleaseImagePush",
        f"Pushes of {RELEASE_TAG_PREFIX}* images start the build",
        release_image_push(names.ecr_repository),
    )
    image.add_target(build)

    # One message per failure (the batch pipeline's come per step, from monitoring.wire): what
    # failed, where to look, and that nothing was started in response.
    field = events.EventField.from_path
    failures = [
        (
            "SageMakerPipelineFailure",
            f"Failed runs of the SageMaker pipelines of {names.model_package_group} notify the topic",
            sagemaker_pipeline_failure(
                [arns.pipeline(names, name) for name in sagemaker_pipelines]
            ),
            f"SageMaker pipeline execution {field('$.detail.pipelineExecutionArn')} failed. "
            f"{NOTHING_STARTED} Its failed step and reason: SageMaker Studio, Pipelines.",
        )
    ]
    if codepipelines:
        failures.insert(
            0,
            (
                "PipelineFailure",
                "Failed CodePipeline runs notify the topic",
                codepipeline_failure(codepipelines),
                f"CodePipeline pipeline {field('$.detail.pipeline')} failed (execution "
                f"{field('$.detail.execution-id')}). {NOTHING_STARTED} Its failed action and log: "
                "the CodePipeline console.",
            ),
        )
    for construct_id, description, pattern, message in failures:
        failure = rule(scope, construct_id, description, pattern)
        failure.add_target(
            targets.SnsTopic(artifacts.topic, message=events.RuleTargetInput.from_text(message))
        )
