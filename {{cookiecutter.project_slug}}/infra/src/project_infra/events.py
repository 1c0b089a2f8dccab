"""What starts what: EventBridge rules (model package decisions -> deploy pipeline, release image
pushes -> build pipeline, failures -> the topic) and the retraining schedule. The patterns are
plain functions so the tests match them against sample events with a real matcher."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from project_infra import arns
from project_infra.artifacts import Artifacts
from project_infra.settings import Names

# Images the build pipeline pushes are tagged with the commit SHA; only a tag with this prefix (an
# image pushed by hand, such as a patched base) starts the build pipeline, so its own pushes never
# start it again.
RELEASE_TAG_PREFIX = "release-"

Pattern = dict[str, Any]


def model_package_decision(group: str) -> Pattern:
    return {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {
            "ModelPackageGroupName": [group],
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


def sagemaker_pipeline_failure(pipeline_arn: str) -> Pattern:
    return {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Building Pipeline Execution Status Change"],
        "detail": {"pipelineArn": [pipeline_arn], "currentPipelineExecutionStatus": ["Failed"]},
    }


def _rule(scope: Construct, construct_id: str, description: str, pattern: Pattern) -> events.Rule:
    return events.Rule(
        scope,
        construct_id,
        description=description,
        event_pattern=events.EventPattern(
            source=pattern["source"], detail_type=pattern["detail-type"], detail=pattern["detail"]
        ),
    )


def wire(
    scope: Construct,
    names: Names,
    artifacts: Artifacts,
    build: codepipeline.Pipeline,
    deploy: codepipeline.Pipeline,
) -> None:
    decision = _rule(
        scope,
        "ModelPackageDecision",
        f"Approved or rejected packages of {names.model_package_group} start the deploy pipeline",
        model_package_decision(names.model_package_group),
    )
    decision.add_target(targets.CodePipeline(deploy))

    image = _rule(
        scope,
        "ReleaseImagePush",
        f"Pushes of {RELEASE_TAG_PREFIX}* images start the build pipeline",
        release_image_push(names.ecr_repository),
    )
    image.add_target(targets.CodePipeline(build))

    failed_message = events.RuleTargetInput.from_text(
        f"{events.EventField.from_path('$.detail-type')}: {events.EventField.from_path('$.detail')}"
    )
    for construct_id, description, pattern in (
        (
            "PipelineFailure",
            "Failed CodePipeline runs notify the topic",
            codepipeline_failure([build.pipeline_name, deploy.pipeline_name]),
        ),
        (
            "SageMakerPipelineFailure",
            f"Failed runs of {names.build_pipeline} notify the topic",
            sagemaker_pipeline_failure(arns.build_pipeline(names)),
        ),
    ):
        rule = _rule(scope, construct_id, description, pattern)
        rule.add_target(targets.SnsTopic(artifacts.topic, message=failed_message))


def retraining_schedule(scope: Construct, names: Names, expression: str) -> scheduler.CfnSchedule:
    """Starts the SageMaker pipeline on a schedule with its current definition (the image of the
    last build); a code change goes through the build pipeline instead."""
    pipeline = arns.build_pipeline(names)
    role = iam.Role(
        scope,
        "RetrainingRole",
        assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
        description=f"Start {names.build_pipeline} on schedule",
    )
    role.add_to_policy(
        iam.PolicyStatement(actions=["sagemaker:StartPipelineExecution"], resources=[pipeline])
    )
    return scheduler.CfnSchedule(
        scope,
        "Retraining",
        description=f"Retrain: start SageMaker pipeline {names.build_pipeline}",
        schedule_expression=expression,
        flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(
            mode="FLEXIBLE", maximum_window_in_minutes=60
        ),
        state="ENABLED",
        target=scheduler.CfnSchedule.TargetProperty(
            arn=pipeline,
            role_arn=role.role_arn,
            retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=3),
        ),
    )
