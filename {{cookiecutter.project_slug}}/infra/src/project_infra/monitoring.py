"""Drift monitoring, batch inference and the retraining triggers.

Schedules (EventBridge Scheduler) start the retraining, monitoring and batch-inference SageMaker
pipelines. Retraining (the model-build pipeline) also starts on a drift alarm (the monitor's
``ConstraintViolations`` metric of the prod endpoint), on a model-quality alarm (the model-quality
job's ``ModelQualityViolations``), on a batch whose input failed the drift check
(FailStep ``BatchInputDrift``) and on a new ``.csv`` file under the training-data prefix. The
patterns are plain functions so the tests match them against sample events with a real matcher.
"""

from __future__ import annotations

import jsii
from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from project_infra import arns
from project_infra.artifacts import Artifacts
from project_infra.events import NOTHING_STARTED, Pattern, any_case, rule
from project_infra.parameters import Parameters
from project_names import Names

BATCH_INPUT_DRIFT_STEP = "BatchInputDrift"  # the batch pipeline's FailStep
DRIFT_METRIC = "ConstraintViolations"
QUALITY_METRIC = "ModelQualityViolations"  # model_container.monitor_quality publishes it
# The monitoring pipeline's parameter that ends the window it checks (WindowHours long).
WINDOW_END = "WindowEnd"
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"  # e.g. 2022-03-22T18:59:43Z
# ClientRequestToken takes 32-128 characters, more than Scheduler's execution id (16 in AWS's
# example), so the token is this prefix plus the scheduled time: it is also the same for every retry
# of one occurrence, so a retry after a lost response cannot start a second run of the window.
MONITORING_TOKEN = f"scheduled-drift-monitoring-{SCHEDULED_TIME}"
RAW_DATA_SUFFIX = ".csv"


def start_pipeline_execution_api() -> str:
    """EventBridge Scheduler's universal target for SageMaker StartPipelineExecution."""
    return f"arn:{Aws.PARTITION}:scheduler:::aws-sdk:sagemaker:startPipelineExecution"


def drift_alarm_state(alarm_arn: str) -> Pattern:
    """The alarm's move into ALARM (the drift alarm's, and the model-quality alarm's)."""
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": [alarm_arn],
        "detail": {"state": {"value": ["ALARM"]}},
    }


def batch_input_drift(pipeline_arn: str) -> Pattern:
    return {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Building Pipeline Execution Step Status Change"],
        "detail": {
            "pipelineArn": [any_case(pipeline_arn)],
            "stepName": [BATCH_INPUT_DRIFT_STEP],
            "currentStepStatus": ["Failed"],
        },
    }


def batch_step_failure(pipeline_arn: str) -> Pattern:
    """Any failed step of the batch pipeline but the drift FailStep (which notifies on its own):
    one failure, one notification. ``anything-but``: EventBridge's content filter,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html"""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Building Pipeline Execution Step Status Change"],
        "detail": {
            "pipelineArn": [any_case(pipeline_arn)],
            "stepName": [{"anything-but": [BATCH_INPUT_DRIFT_STEP]}],
            "currentStepStatus": ["Failed"],
        },
    }


def raw_data_upload(bucket_name: str, prefix: str) -> Pattern:
    """A ``.csv`` object created below ``prefix`` (EventBridge has no prefix-and-suffix filter on
    one field; a wildcard is both)."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [bucket_name]},
            "object": {"key": [{"wildcard": f"{prefix}*{RAW_DATA_SUFFIX}"}]},
        },
    }


def monitoring_input(names: Names) -> dict[str, object]:
    """The StartPipelineExecution request the monitoring schedule sends (context attributes are
    replaced by Scheduler at each invocation)."""
    return {
        "PipelineName": names.monitoring_pipeline,
        "PipelineParameters": [{"Name": WINDOW_END, "Value": SCHEDULED_TIME}],
        "ClientRequestToken": MONITORING_TOKEN,
    }


def upserted_pipelines(names: Names, monitored: bool) -> list[str]:
    """The scheduled pipelines the model-build buildspec creates or updates (``upsert-pipelines``)."""
    return [names.batch_pipeline] + ([names.monitoring_pipeline] if monitored else [])


def _start_role(
    scope: Construct, construct_id: str, service: str, description: str, pipeline: str
) -> iam.Role:
    role = iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal(service),
        description=description,
    )
    role.add_to_policy(
        iam.PolicyStatement(actions=["sagemaker:StartPipelineExecution"], resources=[pipeline])
    )
    return role


def _schedule(
    scope: Construct,
    construct_id: str,
    *,
    description: str,
    expression: str,
    state: str,
    pipeline: str,
    target_arn: str | None = None,
    target_input: str | None = None,
    window_minutes: int | None = 60,
) -> scheduler.CfnSchedule:
    """A schedule whose role may start ``pipeline`` only. Without ``target_arn`` the target is the
    pipeline itself (Scheduler's templated SageMaker target: a run with the default parameters)."""
    role = _start_role(
        scope, f"{construct_id}Role", "scheduler.amazonaws.com", description, pipeline
    )
    window = (
        scheduler.CfnSchedule.FlexibleTimeWindowProperty(
            mode="FLEXIBLE", maximum_window_in_minutes=window_minutes
        )
        if window_minutes
        else scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF")
    )
    return scheduler.CfnSchedule(
        scope,
        construct_id,
        description=description,
        schedule_expression=expression,
        flexible_time_window=window,
        state=state,
        target=scheduler.CfnSchedule.TargetProperty(
            arn=target_arn or pipeline,
            role_arn=role.role_arn,
            input=target_input,
            retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=3),
        ),
    )


def retraining_schedule(scope: Construct, names: Names, expression: str) -> scheduler.CfnSchedule:
    """Starts the model-build pipeline with its current definition (the image of the last build);
    a code change goes through the build pipeline instead."""
    return _schedule(
        scope,
        "Retraining",
        description=f"Retrain: start SageMaker pipeline {names.build_pipeline}",
        expression=expression,
        state="ENABLED",
        pipeline=arns.build_pipeline(names),
    )


def monitoring_schedule(
    scope: Construct, names: Names, expression: str, state: str
) -> scheduler.CfnSchedule:
    """Starts the monitoring pipeline with ``WindowEnd`` = the scheduled time, so a late or retried
    invocation still checks the same window. Universal target: the templated SageMaker target
    cannot pass Scheduler's context attributes."""
    return _schedule(
        scope,
        "Monitoring",
        description=f"Drift: start SageMaker pipeline {names.monitoring_pipeline}",
        expression=expression,
        state=state,
        pipeline=arns.monitoring_pipeline(names),
        target_arn=start_pipeline_execution_api(),
        target_input=Stack.of(scope).to_json_string(monitoring_input(names)),
        window_minutes=None,
    )


def batch_schedule(
    scope: Construct, names: Names, expression: str, state: str
) -> scheduler.CfnSchedule:
    return _schedule(
        scope,
        "BatchInference",
        description=f"Batch: start SageMaker pipeline {names.batch_pipeline}",
        expression=expression,
        state=state,
        pipeline=arns.batch_pipeline(names),
    )


@jsii.implements(events.IRuleTarget)
class StartPipeline:
    """EventBridge target that starts a SageMaker pipeline with its default parameters (the CDK
    has no L2 target for a pipeline it does not define)."""

    def __init__(self, pipeline_arn: str, role: iam.IRole) -> None:
        self.pipeline_arn = pipeline_arn
        self.role = role

    def bind(self, _rule: events.IRule, _id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self.pipeline_arn, role=self.role)


def _violations_alarm(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    namespace: str,
    metric_name: str,
    endpoint: str,
    description: str,
) -> cloudwatch.Alarm:
    """ALARM on any violation a monitoring run publishes for the prod endpoint. The runs publish
    once each; hours without a run (or, for model quality, without labels) are missing data, which
    is not a violation."""
    metric = cloudwatch.Metric(
        namespace=namespace,
        metric_name=metric_name,
        dimensions_map={"Endpoint": endpoint},
        statistic=cloudwatch.Stats.MAXIMUM,
        period=Duration.hours(1),
    )
    return cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_name=name,
        alarm_description=description,
        metric=metric,
        threshold=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )


def drift_alarm(scope: Construct, names: Names) -> cloudwatch.Alarm:
    """Any constraint violation the drift monitor reports for the prod endpoint."""
    return _violations_alarm(
        scope,
        "DataDriftAlarm",
        name=names.drift_alarm,
        namespace=names.drift_namespace,
        metric_name=DRIFT_METRIC,
        endpoint=names.endpoint("prod"),
        description=f"Data drift on endpoint {names.endpoint('prod')}: starts retraining "
        f"({names.build_pipeline})",
    )


def quality_alarm(scope: Construct, names: Names) -> cloudwatch.Alarm:
    """Any model-quality constraint the prod endpoint's predictions violate against their ground
    truth."""
    return _violations_alarm(
        scope,
        "ModelQualityAlarm",
        name=names.quality_alarm,
        namespace=names.quality_namespace,
        metric_name=QUALITY_METRIC,
        endpoint=names.endpoint("prod"),
        description=f"Model quality dropped on endpoint {names.endpoint('prod')}: starts "
        f"retraining ({names.build_pipeline})",
    )


def wire(
    scope: Construct,
    names: Names,
    parameters: Parameters,
    artifacts: Artifacts,
    monitored: bool,
) -> None:
    """Every schedule, alarm and rule of the issue; the monitoring ones for medium and large only."""
    retraining_schedule(scope, names, parameters.retrain_schedule)
    batch_schedule(scope, names, parameters.batch_schedule, parameters.batch_schedule_state)

    retrain = StartPipeline(
        arns.build_pipeline(names),
        _start_role(
            scope,
            "RetrainingEventsRole",
            "events.amazonaws.com",
            f"Start {names.build_pipeline} on drift or new training data",
            arns.build_pipeline(names),
        ),
    )
    field = events.EventField.from_path

    drift = rule(
        scope,
        "BatchInputDriftRule",
        f"A batch that failed the drift check in {names.batch_pipeline} starts retraining",
        batch_input_drift(arns.batch_pipeline(names)),
    )
    drift.add_target(retrain)
    drift.add_target(
        targets.SnsTopic(
            artifacts.topic,
            message=events.RuleTargetInput.from_text(
                f"Batch input drifted from the model's baselines: step {BATCH_INPUT_DRIFT_STEP} "
                f"failed in {field('$.detail.pipelineExecutionArn')}; no predictions were made "
                f"and retraining ({names.build_pipeline}) was started."
            ),
        )
    )

    failed = rule(
        scope,
        "BatchPipelineFailure",
        f"Failed steps of {names.batch_pipeline} (but the drift check's) notify the topic",
        batch_step_failure(arns.batch_pipeline(names)),
    )
    failed.add_target(
        targets.SnsTopic(
            artifacts.topic,
            message=events.RuleTargetInput.from_text(
                f"Batch inference failed: step {field('$.detail.stepName')} of "
                f"{field('$.detail.pipelineExecutionArn')} failed ({field('$.detail.failureReason')})."
                f" {NOTHING_STARTED}"
            ),
        )
    )

    raw = rule(
        scope,
        "NewTrainingData",
        f"New {RAW_DATA_SUFFIX} files under {names.raw_data_prefix} start retraining",
        raw_data_upload(artifacts.bucket.bucket_name, names.raw_data_prefix),
    )
    raw.add_target(retrain)

    if not monitored:
        return
    monitoring_schedule(
        scope, names, parameters.monitoring_schedule, parameters.monitoring_schedule_state
    )
    prod = names.endpoint("prod")
    for make_alarm, name, rule_id, what, where in (
        (
            drift_alarm,
            names.drift_alarm,
            "DataDriftRule",
            "Data drift",
            f"the monitoring pipeline's report in SageMaker Studio ({names.monitoring_pipeline})",
        ),
        (
            quality_alarm,
            names.quality_alarm,
            "ModelQualityRule",
            "Model quality dropped",
            f"the MonitorModelQuality step's constraint_violations.json in "
            f"{names.monitoring_pipeline}",
        ),
    ):
        make_alarm(scope, names)
        started = rule(
            scope,
            rule_id,
            f"Alarm {name} starts retraining and notifies",
            drift_alarm_state(arns.alarm(name)),
        )
        started.add_target(retrain)
        started.add_target(
            targets.SnsTopic(
                artifacts.topic,
                message=events.RuleTargetInput.from_text(
                    f"{what} on endpoint {prod}: alarm {field('$.detail.alarmName')} is ALARM "
                    f"({field('$.detail.state.reason')}). Retraining ({names.build_pipeline}) was "
                    f"started; see {where}."
                ),
            )
        )
