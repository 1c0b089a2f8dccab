"""Stage 5c of the twin: prod predictions, ground truth for them, the monitoring run's model-quality
step, its alarm and the retraining plus one notification it starts (medium and large).

The requests are the shipped labelled sample's (``model-build/data/quality/capture``); the labels
uploaded for them contradict every prediction (label 1 where the model scored low, 0 where high),
so the window's AUC is 0 and the job must report a violation whatever model was trained. They go
where the model-quality step reads them: ``names.ground_truth_folder('prod')``, in the hour folder
of now, in Model Monitor's record format keyed as Model Monitor joins (inferenceId, else eventId).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from model_container.monitor.capture import record_id
from model_container.monitor_quality.ground_truth import ground_truth_record
from model_container.monitor_quality.merge import scores_of
from project_infra.monitoring import SCHEDULED_TIME, WINDOW_END
from project_infra.twin import alarms
from project_infra.twin.emulator import TOOLING_ACCOUNT
from project_infra.twin.flow import StageError, StageReport, Twin
from project_infra.twin.samples import captured_requests

STAGE = "5c predictions + ground truth -> model-quality alarm -> retraining + one notification"
STEP = "MonitorModelQuality"


def contradicting_labels(twin: Twin, keys: list[str]) -> list[str]:
    """Ground-truth lines for the captured records of ``keys``: every prediction wrong."""
    s3 = twin.clients("s3")
    lines = []
    for url in keys:
        bucket, _, key = url.removeprefix("s3://").partition("/")
        for text in s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines():
            if not text.strip():
                continue
            record = json.loads(text)
            scores = scores_of(record["captureData"]["endpointOutput"])
            wrong = [0 if score >= 0.5 else 1 for score in scores]  # any cut: the AUC is 0
            lines.append(json.dumps(ground_truth_record(record_id(record)[0], wrong)))
    return lines


def model_quality(twin: Twin, report: StageReport) -> None:
    names = twin.names()
    keys = twin.traffic(
        report,
        captured_requests(twin.root / "model-build" / "data" / "quality" / "capture"),
        names.endpoint("prod"),
    )
    labels = contradicting_labels(twin, keys)
    if not labels:
        raise StageError(f"endpoint {names.endpoint('prod')}: no captured predictions to label")
    now = datetime.now(UTC)
    bucket = twin.output("ArtifactBucketName")
    key = f"{names.ground_truth_folder('prod')}{now:%Y/%m/%d/%H}/twin-labels.jsonl"
    twin.clients("s3").put_object(Bucket=bucket, Key=key, Body="\n".join(labels) + "\n")
    report.detail.append(f"{len(labels)} ground-truth records in s3://{bucket}/{key}")

    inbox = twin.subscribe_queue(twin.output("NotificationTopicArn"))
    twin.drain(inbox)
    end = (now + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    request = json.loads(twin.schedule_input(WINDOW_END).replace(SCHEDULED_TIME, end))
    twin.clients("sagemaker").start_pipeline_execution(**request)
    (run,) = [
        e
        for e in twin.sagemaker_runs(report, expect=names.monitoring_pipeline)
        if e.pipeline == names.monitoring_pipeline
    ]
    if run.steps.get(STEP) != "Succeeded":
        raise StageError(
            f"{names.monitoring_pipeline}: step {STEP} {run.steps.get(STEP)}: {run.failure}"
        )

    alarm = next(
        (a for a in twin.stack.of_type("AWS::CloudWatch::Alarm").values()  # type: ignore[union-attr]
         if a.physical_id == names.quality_alarm),
        None,
    )  # fmt: skip
    if alarm is None:
        raise StageError(f"the stack has no alarm {names.quality_alarm}")
    spec = alarms.AlarmSpec.from_template({**alarm.properties, "AlarmName": alarm.physical_id})
    evaluation = alarms.evaluate(spec, twin.clients("cloudwatch"), now + timedelta(minutes=1))
    report.detail.append(f"alarm {spec.name}: {evaluation.state} ({evaluation.reason})")
    if evaluation.state != "ALARM":
        raise StageError(
            f"alarm {spec.name} is {evaluation.state} after labels that contradict every "
            f"prediction: {evaluation.reason}"
        )
    event = alarms.state_change_event(spec, evaluation, "OK", TOOLING_ACCOUNT, twin.emulator.region)
    if names.build_pipeline not in twin.publish(event):
        raise StageError(f"alarm {spec.name} in ALARM started no run of {names.build_pipeline}")
    twin.sagemaker_runs(report, expect=names.build_pipeline)
    messages = twin.drain(inbox)
    report.detail.append(f"notifications: {len(messages)}")
    if len(messages) != 1:
        raise StageError(
            f"alarm {spec.name} sent {len(messages)} notifications to the topic, expected exactly "
            "one: " + " | ".join(m[:120] for m in messages)
        )
