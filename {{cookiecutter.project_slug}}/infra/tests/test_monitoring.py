"""Monitoring and retraining in the stack: the schedules, the drift alarm, the retraining triggers and the IAM that
lets the pipelines and triggers run; patterns matched against sample events by a real matcher
(moto's EventBridge), the scheduled StartPipelineExecution request validated by botocore."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from conftest import Synthesized

from project_infra.nag import render
from project_infra.synth_checks import ACCOUNT, Resolver, event_matches

SAMPLE_CONTEXT = {  # Scheduler's documented examples of its context attributes
    "<aws.scheduler.scheduled-time>": "2026-11-22T00:15:00Z",
    "<aws.scheduler.execution-id>": "d32c5kddcf5bb8c3",
    "<aws.scheduler.attempt-number>": "1",
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _one(synthesized: Synthesized, kind: str, prefix: str) -> dict[str, Any]:
    (found,) = [
        r for key, r in synthesized.resources(kind).items() if key.startswith(f"CiCd{prefix}")
    ]
    return found


def _schedules(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    """Schedule construct id (CiCd<id><hash>) -> properties."""
    return {
        key.removeprefix("CiCd")[:-8]: s["Properties"]
        for key, s in synthesized.resources("AWS::Scheduler::Schedule").items()
    }


def _arn(synthesized: Synthesized, resource: str, service: str = "sagemaker") -> str:
    return f"arn:aws:{service}:{synthesized.settings.region}:{ACCOUNT}:{resource}"


def _pipeline(synthesized: Synthesized, suffix: str) -> str:
    return _arn(synthesized, f"pipeline/{synthesized.lowercase_name}-manual-{suffix}")


def _role_logical_id(role_arn: Any) -> str:
    assert isinstance(role_arn, dict) and "Fn::GetAtt" in role_arn, role_arn
    return role_arn["Fn::GetAtt"][0]


def _resolved(synthesized: Synthesized, statement: dict[str, Any]) -> dict[str, Any]:
    """A statement with what a deploy with the defaults resolves (a CodeBuild project's own log
    group is left as its Fn::Join: the resolver does not name CodeBuild projects)."""
    try:
        return synthesized.resolver.resolve(statement)
    except KeyError:
        return statement


def _role_statements(synthesized: Synthesized, role_id: str) -> list[dict[str, Any]]:
    """Resolved statements of every policy attached to ``role_id``."""
    return [
        _resolved(synthesized, statement)
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _trusted_service(synthesized: Synthesized, role_id: str) -> str:
    role = synthesized.template["Resources"][role_id]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    return statement["Principal"]["Service"]


def _starts_only(synthesized: Synthesized, role_arn: Any, pipeline: str, service: str) -> None:
    role_id = _role_logical_id(role_arn)
    assert _trusted_service(synthesized, role_id) == service
    assert _role_statements(synthesized, role_id) == [
        {"Action": "sagemaker:StartPipelineExecution", "Effect": "Allow", "Resource": pipeline}
    ]


def _parameter(synthesized: Synthesized, value: Any) -> dict[str, Any]:
    assert isinstance(value, dict) and set(value) == {"Ref"}, value
    return synthesized.template["Parameters"][value["Ref"]]


# --- schedules -----------------------------------------------------------------------------------


def test_schedules_by_size(synthesized: Synthesized) -> None:
    expected = {"Retraining", "BatchInference"}
    if synthesized.settings.monitored:
        expected.add("Monitoring")
    assert set(_schedules(synthesized)) == expected


def test_batch_schedule_is_off_until_there_is_batch_input(synthesized: Synthesized) -> None:
    props = _schedules(synthesized)["BatchInference"]
    state = _parameter(synthesized, props["State"])
    assert state["Default"] == "DISABLED"
    assert state["AllowedValues"] == ["ENABLED", "DISABLED"]
    assert "TODO" in state["Description"] and "batch/input/" in state["Description"]
    assert _parameter(synthesized, props["ScheduleExpression"])["Default"] == "cron(0 2 * * ? *)"
    target = props["Target"]
    assert synthesized.resolver.resolve(target["Arn"]) == _pipeline(synthesized, "batch-inference")
    _starts_only(
        synthesized,
        target["RoleArn"],
        _pipeline(synthesized, "batch-inference"),
        "scheduler.amazonaws.com",
    )


def test_retraining_schedule_role_starts_only_the_build_pipeline(synthesized: Synthesized) -> None:
    target = _schedules(synthesized)["Retraining"]["Target"]
    _starts_only(
        synthesized,
        target["RoleArn"],
        _pipeline(synthesized, "model-build"),
        "scheduler.amazonaws.com",
    )


def _monitoring(synthesized: Synthesized) -> dict[str, Any] | None:
    """The monitoring schedule; None (after checking there is none) for small."""
    schedules = _schedules(synthesized)
    if not synthesized.settings.monitored:
        assert "Monitoring" not in schedules
        return None
    return schedules["Monitoring"]


def test_monitoring_schedule_runs_daily_after_midnight(synthesized: Synthesized) -> None:
    props = _monitoring(synthesized)
    if props is None:
        return
    assert _parameter(synthesized, props["ScheduleExpression"])["Default"] == "cron(15 0 * * ? *)"
    assert _parameter(synthesized, props["State"])["Default"] == "ENABLED"
    # The window ends at the scheduled time whenever the run starts; no flexible window needed.
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = props["Target"]
    assert synthesized.resolver.resolve(target["Arn"]) == (
        "arn:aws:scheduler:::aws-sdk:sagemaker:startPipelineExecution"
    )
    _starts_only(
        synthesized,
        target["RoleArn"],
        _pipeline(synthesized, "monitoring"),
        "scheduler.amazonaws.com",
    )


def _scheduled_request(
    synthesized: Synthesized, context: dict[str, str] = SAMPLE_CONTEXT
) -> dict[str, Any] | None:
    """The request the monitoring schedule sends, with Scheduler's context attributes replaced."""
    props = _monitoring(synthesized)
    if props is None:
        return None
    text = synthesized.resolver.resolve(props["Target"]["Input"])
    for attribute, value in context.items():
        text = text.replace(attribute, value)
    return json.loads(text)


def test_monitoring_schedule_sends_a_valid_start_pipeline_execution(
    synthesized: Synthesized,
) -> None:
    request = _scheduled_request(synthesized)
    if request is None:
        return
    assert request["PipelineName"] == f"{synthesized.project_name}-manual-monitoring"
    assert request["PipelineParameters"] == [
        {"Name": "WindowEnd", "Value": SAMPLE_CONTEXT["<aws.scheduler.scheduled-time>"]}
    ]
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("StartPipelineExecution").input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()


def test_monitoring_token_is_the_same_for_retries_of_one_occurrence(
    synthesized: Synthesized,
) -> None:
    """Scheduler retries an occurrence with a new execution id; the token must not change, or a
    retry after a lost response would start a second run of the same window."""
    first = _scheduled_request(synthesized)
    if first is None:
        return
    retry = {**SAMPLE_CONTEXT, "<aws.scheduler.execution-id>": "a0b1c2d3e4f5a6b7"}
    again = _scheduled_request(synthesized, retry)
    assert again is not None and again["ClientRequestToken"] == first["ClientRequestToken"]
    later = {**SAMPLE_CONTEXT, "<aws.scheduler.scheduled-time>": "2026-11-23T00:15:00Z"}
    next_day = _scheduled_request(synthesized, later)
    assert next_day is not None and next_day["ClientRequestToken"] != first["ClientRequestToken"]


# --- alarm ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alarm_id", "suffix", "namespace", "metric"),
    [
        ("DataDriftAlarm", "data-drift", "DataDrift", "ConstraintViolations"),
        ("ModelQualityAlarm", "model-quality", "ModelQuality", "ModelQualityViolations"),
    ],
)
def test_alarms_only_where_monitored(
    synthesized: Synthesized, alarm_id: str, suffix: str, namespace: str, metric: str
) -> None:
    alarms = synthesized.resources("AWS::CloudWatch::Alarm")
    if not synthesized.settings.monitored:
        assert alarms == {}
        return
    assert len(alarms) == 2
    alarm = _one(synthesized, "AWS::CloudWatch::Alarm", alarm_id)
    props = synthesized.resolver.resolve(alarm["Properties"])
    project, lowercase = synthesized.project_name, synthesized.lowercase_name
    assert {k: v for k, v in props.items() if k not in {"AlarmDescription", "Tags"}} == {
        "AlarmName": f"{project}-manual-{suffix}",
        "Namespace": f"{lowercase}/{namespace}",
        "MetricName": metric,
        "Dimensions": [{"Name": "Endpoint", "Value": f"{lowercase}-prod"}],
        "Statistic": "Maximum",
        "Period": 3600,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "TreatMissingData": "notBreaching",
    }


# --- rules and their targets ---------------------------------------------------------------------


def _rule(synthesized: Synthesized, prefix: str) -> dict[str, Any]:
    return _one(synthesized, "AWS::Events::Rule", prefix)["Properties"]


def _targets(synthesized: Synthesized, prefix: str) -> tuple[list[Any], list[Any]]:
    """(SageMaker pipeline targets, SNS targets) of a rule."""
    found = _rule(synthesized, prefix)["Targets"]
    topic = [t for t in found if t["Arn"] == {"Ref": _topic_id(synthesized)}]
    return [t for t in found if t not in topic], topic


def _topic_id(synthesized: Synthesized) -> str:
    (topic_id,) = synthesized.resources("AWS::SNS::Topic")
    return topic_id


def _retrains(synthesized: Synthesized, target: dict[str, Any]) -> None:
    assert synthesized.resolver.resolve(target["Arn"]) == _pipeline(synthesized, "model-build")
    _starts_only(
        synthesized,
        target["RoleArn"],
        _pipeline(synthesized, "model-build"),
        "events.amazonaws.com",
    )


def _readable(target: dict[str, Any], *fields: str) -> None:
    """A plain-text message that quotes ``fields`` of the event."""
    transformer = target["InputTransformer"]
    text = json.dumps(transformer["InputTemplate"])
    for path in fields:
        name = path.removeprefix("$.").replace(".", "-")
        assert transformer["InputPathsMap"][name] == path
        assert f"<{name}>" in text, text
    assert "retraining" in text.lower(), text


@pytest.mark.parametrize(
    ("rule", "notifies"),
    [
        ("BatchInputDriftRule", True),
        ("NewTrainingData", False),
        ("DataDriftRule", True),
        ("ModelQualityRule", True),
    ],
)
def test_triggers_start_retraining(synthesized: Synthesized, rule: str, notifies: bool) -> None:
    if rule in ("DataDriftRule", "ModelQualityRule") and not synthesized.settings.monitored:
        assert not [k for k in synthesized.resources("AWS::Events::Rule") if rule in k]
        return
    pipelines, topics = _targets(synthesized, rule)
    (pipeline,) = pipelines
    _retrains(synthesized, pipeline)
    assert len(topics) == (1 if notifies else 0)
    if rule == "BatchInputDriftRule":
        _readable(topics[0], "$.detail.pipelineExecutionArn")
    if rule in ("DataDriftRule", "ModelQualityRule"):
        _readable(topics[0], "$.detail.alarmName", "$.detail.state.reason")


def test_artifact_bucket_sends_events_to_eventbridge(synthesized: Synthesized) -> None:
    (bucket,) = [
        b for k, b in synthesized.resources("AWS::S3::Bucket").items() if "ArtifactBucket" in k
    ]
    assert bucket["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }


# --- patterns against sample events --------------------------------------------------------------


def _pattern(synthesized: Synthesized, prefix: str) -> dict[str, Any]:
    return synthesized.resolver.resolve(_rule(synthesized, prefix)["EventPattern"])


def _matches(synthesized: Synthesized, prefix: str, event: dict[str, Any]) -> bool:
    return event_matches(_pattern(synthesized, prefix), event, synthesized.settings.region)


def _alarm_event(synthesized: Synthesized, name: str, state: str) -> dict[str, Any]:
    return {
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "resources": [_arn(synthesized, f"alarm:{name}", "cloudwatch")],
        "detail": {
            "alarmName": name,
            "state": {"value": state, "reason": "Threshold Crossed: 1 datapoint [3.0]"},
            "previousState": {"value": "OK"},
        },
    }


@pytest.mark.parametrize(
    ("suffix", "state", "expected"),
    [
        ("-manual-data-drift", "ALARM", True),
        ("-manual-data-drift", "OK", False),
        ("-manual-data-drift", "INSUFFICIENT_DATA", False),
        ("-other-data-drift", "ALARM", False),
    ],
)
def test_drift_alarm_pattern(
    synthesized: Synthesized, suffix: str, state: str, expected: bool
) -> None:
    if not synthesized.settings.monitored:
        assert not [k for k in synthesized.resources("AWS::Events::Rule") if "DataDrift" in k]
        return
    event = _alarm_event(synthesized, synthesized.project_name + suffix, state)
    assert _matches(synthesized, "DataDriftRule", event) is expected


@pytest.mark.parametrize(
    ("suffix", "state", "expected"),
    [
        ("-manual-model-quality", "ALARM", True),
        ("-manual-model-quality", "OK", False),
        ("-manual-data-drift", "ALARM", False),
        ("-other-model-quality", "ALARM", False),
    ],
)
def test_model_quality_alarm_pattern(
    synthesized: Synthesized, suffix: str, state: str, expected: bool
) -> None:
    """Each alarm's ALARM matches its own rule only: one retraining, one notification."""
    if not synthesized.settings.monitored:
        assert not [k for k in synthesized.resources("AWS::Events::Rule") if "ModelQuality" in k]
        return
    event = _alarm_event(synthesized, synthesized.project_name + suffix, state)
    assert _matches(synthesized, "ModelQualityRule", event) is expected
    if suffix == "-manual-model-quality":
        assert not _matches(synthesized, "DataDriftRule", event)


def _step_event(pipeline_arn: str, step: str, status: str) -> dict[str, Any]:
    return {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Building Pipeline Execution Step Status Change",
        "resources": [pipeline_arn, f"{pipeline_arn}/execution/abcdef123456"],
        "detail": {
            "pipelineArn": pipeline_arn,
            "pipelineExecutionArn": f"{pipeline_arn}/execution/abcdef123456",
            "stepName": step,
            "stepType": "Fail" if step == "BatchInputDrift" else "Processing",
            "currentStepStatus": status,
            "previousStepStatus": "Executing",
        },
    }


@pytest.mark.parametrize(
    ("pipeline", "step", "status", "expected"),
    [
        ("batch-inference", "BatchInputDrift", "Failed", True),
        ("batch-inference", "BatchInputDrift", "Executing", False),
        ("batch-inference", "CheckBatchInput", "Failed", False),
        ("model-build", "BatchInputDrift", "Failed", False),
    ],
)
def test_batch_input_drift_pattern(
    synthesized: Synthesized, pipeline: str, step: str, status: str, expected: bool
) -> None:
    event = _step_event(_pipeline(synthesized, pipeline), step, status)
    assert _matches(synthesized, "BatchInputDriftRule", event) is expected


def _object_created(bucket: str, key: str) -> dict[str, Any]:
    return {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 1024, "etag": "0" * 32},
            "reason": "PutObject",
        },
    }


@pytest.mark.parametrize(
    ("key", "own_bucket", "expected"),
    [
        ("{p}-manual/data/raw/2026-11.csv", True, True),
        ("{p}-manual/data/raw/site-a/2026-11.csv", True, True),
        ("{p}-manual/data/raw/notes.txt", True, False),
        ("{p}-manual/batch/input/2026-11.csv", True, False),
        ("{p}-other/data/raw/2026-11.csv", True, False),
        ("{p}-manual/data/raw/2026-11.csv", False, False),
    ],
)
def test_new_training_data_pattern(
    synthesized: Synthesized, key: str, own_bucket: bool, expected: bool
) -> None:
    (bucket_id,) = [k for k in synthesized.resources("AWS::S3::Bucket") if "ArtifactBucket" in k]
    bucket = Resolver.bucket_name(bucket_id) if own_bucket else "someone-elses-bucket"
    event = _object_created(bucket, key.format(p=synthesized.project_name))
    assert _matches(synthesized, "NewTrainingData", event) is expected


def _execution_event(pipeline_arn: str, status: str) -> dict[str, Any]:
    return {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Building Pipeline Execution Status Change",
        "detail": {
            "pipelineArn": pipeline_arn,
            "pipelineExecutionArn": f"{pipeline_arn}/execution/abcdef123456",
            "currentPipelineExecutionStatus": status,
            "previousPipelineExecutionStatus": "Executing",
        },
    }


@pytest.mark.parametrize(
    ("pipeline", "step", "status", "expected"),
    [
        ("batch-inference", "LatestApprovedModel", "Failed", True),
        ("batch-inference", "CheckBatchInput", "Failed", True),
        ("batch-inference", "BatchTransform", "Failed", True),
        ("batch-inference", "BatchInputDrift", "Failed", False),  # notifies through its own rule
        ("batch-inference", "BatchTransform", "Succeeded", False),
        ("model-build", "Train", "Failed", False),  # the execution's failure notifies
    ],
)
def test_failed_batch_steps_notify_once(
    synthesized: Synthesized, pipeline: str, step: str, status: str, expected: bool
) -> None:
    event = _step_event(_pipeline(synthesized, pipeline), step, status)
    assert _matches(synthesized, "BatchPipelineFailure", event) is expected


def test_a_drifted_batch_matches_exactly_one_notifying_rule(synthesized: Synthesized) -> None:
    """The FailStep fails its step and then the execution: of all the rules that notify, exactly one
    may match those two events, or the team gets two e-mails for one drifted batch."""
    arn = _pipeline(synthesized, "batch-inference")
    step = _step_event(arn, "BatchInputDrift", "Failed")
    execution = _execution_event(arn, "Failed")
    notifying = ("BatchInputDriftRule", "BatchPipelineFailure", "SageMakerPipelineFailure")
    matched = [r for r in notifying for e in (step, execution) if _matches(synthesized, r, e)]
    assert matched == ["BatchInputDriftRule"]


@pytest.mark.parametrize("pipeline", ["model-build", "batch-inference", "monitoring"])
def test_failures_of_every_project_pipeline_notify(synthesized: Synthesized, pipeline: str) -> None:
    arn = _pipeline(synthesized, pipeline)
    event = _execution_event(arn, "Failed")
    # The batch pipeline notifies per failed step instead (test_failed_batch_steps_notify_once).
    expected = pipeline == "model-build" or (
        pipeline == "monitoring" and synthesized.settings.monitored
    )
    assert _matches(synthesized, "SageMakerPipelineFailure", event) is expected


# --- IAM: what the pipelines and the build need --------------------------------------------------


def _pipeline_role_statements(synthesized: Synthesized) -> list[dict[str, Any]]:
    (role_id,) = [
        k for k in synthesized.resources("AWS::IAM::Role") if "SageMakerPipelineRole" in k
    ]
    return _role_statements(synthesized, role_id)


def _granted(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [s for s in statements if action in _as_list(s["Action"])]


def _resources(statements: list[dict[str, Any]], action: str) -> list[Any]:
    return [r for s in _granted(statements, action) for r in _as_list(s["Resource"])]


def test_pipeline_role_runs_the_batch_pipeline(synthesized: Synthesized) -> None:
    statements = _pipeline_role_statements(synthesized)
    project = synthesized.lowercase_name  # SageMaker writes the model's name lowercased in its ARN
    for action in ("CreateTransformJob", "DescribeTransformJob", "StopTransformJob"):
        assert _resources(statements, f"sagemaker:{action}") == [
            _arn(synthesized, "processing-job/pipelines-*"),
            _arn(synthesized, "training-job/pipelines-*"),
            _arn(synthesized, "transform-job/pipelines-*"),
        ]
    assert _resources(statements, "sagemaker:CreateModel") == [
        _arn(synthesized, f"model/{project}-*")
    ]
    assert _resources(statements, "sagemaker:ListModelPackages") == ["*"]
    assert _resources(statements, "sagemaker:DescribeModelPackage") == [
        _arn(synthesized, f"model-package-group/{project}-manual"),
        _arn(synthesized, f"model-package/{project}-manual/*"),
    ]
    (pass_role,) = _granted(statements, "iam:PassRole")
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    assert pass_role["Resource"]["Fn::GetAtt"][0].startswith("CiCdSageMakerPipelineRole")
    assert _arn(synthesized, "log-group:/aws/sagemaker/TransformJobs*", "logs") in _resources(
        statements, "logs:PutLogEvents"
    )


def test_pipeline_role_reads_capture_and_batch_input_and_writes_outputs(
    synthesized: Synthesized,
) -> None:
    """The bucket grant covers data-capture/*, <project>-<id>/batch/input/ and the outputs."""
    (role_id,) = [
        k for k in synthesized.resources("AWS::IAM::Role") if "SageMakerPipelineRole" in k
    ]
    (bucket_id,) = [k for k in synthesized.resources("AWS::S3::Bucket") if "ArtifactBucket" in k]
    statements = [
        statement
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    for action in ("s3:GetObject*", "s3:PutObject", "s3:List*"):
        rendered = [render(r) for r in _resources(statements, action)]
        assert f"<{bucket_id}.Arn>/*" in rendered, action


def test_pipeline_role_publishes_drift_metrics_only_in_its_namespace(
    synthesized: Synthesized,
) -> None:
    metrics = _granted(_pipeline_role_statements(synthesized), "cloudwatch:PutMetricData")
    namespaces = [s["Condition"]["StringLike"]["cloudwatch:namespace"] for s in metrics]
    assert all(s["Resource"] == "*" and len(s["Action"]) > 0 for s in metrics)
    expected = [["/aws/sagemaker/*"]]
    if synthesized.settings.monitored:
        expected.append([f"{synthesized.lowercase_name}/DataDrift"])
        expected.append([f"{synthesized.lowercase_name}/ModelQuality"])
    assert namespaces == expected


def test_pipeline_run_upserts_the_scheduled_pipelines_without_starting_them(
    codepipeline_synthesized: Synthesized,
) -> None:
    (project,) = [
        p
        for p in codepipeline_synthesized.resources("AWS::CodeBuild::Project").values()
        if p["Properties"]["Source"]["BuildSpec"] == "model-build/buildspec.yml"
    ]
    statements = _role_statements(
        codepipeline_synthesized, _role_logical_id(project["Properties"]["ServiceRole"])
    )
    scheduled = [_pipeline(codepipeline_synthesized, "batch-inference")]
    if codepipeline_synthesized.settings.monitored:
        scheduled.append(_pipeline(codepipeline_synthesized, "monitoring"))
    for action in ("CreatePipeline", "UpdatePipeline", "DescribePipeline", "AddTags"):
        assert _resources(statements, f"sagemaker:{action}") == [
            _pipeline(codepipeline_synthesized, "model-build"),
            *scheduled,
        ], action
    assert _resources(statements, "sagemaker:StartPipelineExecution") == [
        _pipeline(codepipeline_synthesized, "model-build")
    ]
