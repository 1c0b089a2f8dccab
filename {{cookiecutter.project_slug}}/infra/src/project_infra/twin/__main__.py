"""``make twin``: the project's CI/CD flow, from git push to a prod endpoint and back to retraining,
rehearsed offline against an AWS emulator on 127.0.0.1 (``python -m project_infra.twin``)."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from model_container.monitor.reader import ReadSummary, read_capture
from model_container.monitor.requests import values
from model_container.serve.codec import codes_of
from project_infra.monitoring import SCHEDULED_TIME, WINDOW_END
from project_infra.settings import SettingsError, find_project_file
from project_infra.twin import alarms, ci_jobs, deletion, quality, samples
from project_infra.twin.codepipeline import triggered
from project_infra.twin.emulator import TOOLING_ACCOUNT, Emulator
from project_infra.twin.flow import StageError, StageReport, Twin, load, sample_rows
from project_infra.twin.reuse import PassedTests
from project_infra.twin.sagemaker import Execution
from project_infra.twin.samples import captured_requests
from project_model import SCHEMA

RELEASE_TAG = "release-twin"
CONFIG_CHANGE_STAGE = "5a stage config change: instance type + alarm, one push -> deploy pipeline"
DELETE_STAGE = "9 delete the project: the stack and what its pipelines created; nothing bills on"
BATCH_STAGE = (
    "8 batch inference: a clean batch scored, a drifted one -> retraining + one notification"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make twin", description=__doc__)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the emulator running at the end (or on failure) and print its URL",
    )
    parser.add_argument(
        "--work-dir", type=Path, help="default: twin-<slug>-<hash> in the system's temporary folder"
    )
    parser.add_argument(
        "--rerun-tests",
        action="store_true",
        help="run every build's unit tests, even where the same inputs passed them before",
    )
    args = parser.parse_args(argv)
    try:
        root = find_project_file(Path.cwd()).parent
        settings = load(root)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    work = (args.work_dir or default_work_dir(root, settings.slug)).resolve()
    if work.is_relative_to(root):
        # A CodeBuild container has nothing above its source folder; a project.toml above the
        # builds' temporary folders would change what the project's own tests see.
        print(f"error: --work-dir {work}: must lie outside the project ({root})", file=sys.stderr)
        return 2
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    emulator = Emulator(settings.region).start()
    twin = Twin(root, work, settings, emulator, log=lambda line: print(line, flush=True))
    # Beside the work folder, which each run starts afresh: passing test runs outlive a run.
    twin.passed = PassedTests(work.with_name(work.name + "-passed-tests"), rerun=args.rerun_tests)
    print(f"twin: emulator (moto server) on {emulator.url}; work folder {work}")
    code = 0
    try:
        run_flow(twin)
    except StageError as error:
        print(f"twin: FAILED: {error}", file=sys.stderr)
        code = 1
    finally:
        report = write_report(twin, work / "report.json")
        print_summary(twin)
        print(f"twin: report {report}")
        if args.keep:
            print(
                f"twin: emulator kept at {emulator.url} (AWS_ENDPOINT_URL={emulator.url}); Ctrl-C ends it"
            )
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        if twin.runtime is not None:
            twin.runtime.stop()
        emulator.stop()
    return code


def default_work_dir(root: Path, slug: str) -> Path:
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:8]
    return Path(tempfile.gettempdir()) / f"twin-{slug}-{digest}"


def run_flow(twin: Twin) -> None:
    twin.stage("1 first run: the README's steps", twin.first_run)
    if twin.settings.ci.external:
        # GitHub Actions / GitLab CI: their runners are not emulated (flow.CI_NOT_RUN).
        twin.stage(ci_jobs.STAGE, lambda r: ci_jobs.check(twin, r))
        twin.stage(DELETE_STAGE, lambda r: deletion.delete_project(twin, r))
        return
    twin.stage("2 push: pipelines start", twin.start_pipelines_on_create)
    twin.stage("3 SageMaker pipeline: train, evaluate, register", lambda r: _build_run(twin, r))
    twin.stage("4 approval -> deploy: staging, tests, approval, prod", twin.approve)
    twin.stage("5 prod traffic -> data capture", lambda r: _traffic(twin, r))
    twin.stage(CONFIG_CHANGE_STAGE, lambda r: _config_change(twin, r))
    if twin.settings.monitored:
        twin.stage("5b shifted traffic -> drift alarm -> retraining", lambda r: _drift(twin, r))
        twin.stage(quality.STAGE, lambda r: quality.model_quality(twin, r))
    twin.stage("6 release image push -> retraining on that image", lambda r: _release(twin, r))
    twin.stage("7 new training data -> retraining", lambda r: _new_data(twin, r))
    twin.stage(BATCH_STAGE, lambda r: _batch(twin, r))
    twin.stage(DELETE_STAGE, lambda r: deletion.delete_project(twin, r))


def _build_run(twin: Twin, report: StageReport) -> None:
    pipeline = twin.names().build_pipeline
    (execution,) = [
        e for e in twin.sagemaker_runs(report, expect=pipeline) if e.pipeline == pipeline
    ]
    if not execution.registered:
        raise StageError(f"SageMaker pipeline {pipeline} registered no model package")
    report.detail.append(f"registered {execution.registered[0]}")


def _traffic(twin: Twin, report: StageReport) -> None:
    prod = twin.names().endpoint("prod")
    keys = twin.traffic(report, sample_rows(twin.root, 20), prod)
    if not keys:
        raise StageError(f"endpoint {prod}: no data capture was written (DataCaptureConfig)")


def _config_change(twin: Twin, report: StageReport) -> None:
    """A person edits prod's stage config and pushes once: a new instance type for the autoscaled
    endpoint and a tighter latency alarm. The deploy pipeline's release action deregisters prod's
    scalable target first (AWS rejects the type change of a registered variant; the twin's deploy
    checks it), the deploy action brings the new fleet and registers the target on it, the alarm
    has the new threshold, and the endpoint still answers."""
    assert twin.runner is not None
    stack_name = twin.names().deploy_stack("prod")
    before = twin.deployed[stack_name]
    path = twin.work / "repo" / "model-deploy" / "prod-config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    old_type = config["instance_type"]
    config["instance_type"] = "ml.c5.xlarge" if old_type != "ml.c5.xlarge" else "ml.m5.xlarge"
    config["autoscaling"]["enabled"] = True
    latency_ms = config["alarms"]["model_latency_p99_ms"] / 2
    config["alarms"]["model_latency_p99_ms"] = latency_ms
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    changed = twin.push("prod: new instance type, tighter latency alarm", changed=[])
    deploy = twin.output("DeployPipelineName")
    if triggered(twin.runner.pipeline(deploy), "main", changed) is False:
        raise StageError(f"a push of {', '.join(changed)} does not start pipeline {deploy}")
    run = twin.runs[deploy] = twin.runner.start(deploy, f"push of {', '.join(changed)}")
    report.resources.append(f"CodePipeline {deploy}: {run.status}")
    if run.status != "Succeeded":
        raise StageError(run.failure)
    actions = {a.action: a.detail for a in run.actions if a.stage == "DeployProd"}
    if set(actions) != {"ReleaseProd", "DeployProd"} or "no changes" in actions["ReleaseProd"]:
        raise StageError(f"DeployProd ran {actions}: expected a release, then the deploy")
    after, clients = twin.deployed[stack_name], twin.stage_clients[stack_name]
    endpoint = twin.names().endpoint("prod")
    (variant,) = after.resources["EndpointConfig"].properties["ProductionVariants"]
    if variant["InstanceType"] != config["instance_type"]:
        raise StageError(
            f"{endpoint}: instance type {variant['InstanceType']}, expected {config['instance_type']}"
        )
    targets = clients("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[f"endpoint/{endpoint}/variant/AllTraffic"]
    )["ScalableTargets"]
    if len(targets) != 1:
        raise StageError(f"{endpoint}: {len(targets)} scalable targets after the type change")
    (alarm,) = [
        r for r in after.of_type("AWS::CloudWatch::Alarm").values() if "latency" in r.physical_id
    ]
    threshold = clients("cloudwatch").describe_alarms(AlarmNames=[alarm.physical_id])[
        "MetricAlarms"
    ][0]["Threshold"]
    if threshold != round(latency_ms * 1000):
        raise StageError(
            f"alarm {alarm.physical_id}: threshold {threshold}, expected {latency_ms} ms"
        )
    keys = twin.traffic(report, sample_rows(twin.root, 5), endpoint)
    report.detail.append(
        f"{stack_name}: {old_type} -> {variant['InstanceType']} in one push (release, deploy), "
        f"scalable target registered again, {alarm.physical_id} at {threshold:g} us, model "
        f"{before.resources['Model'].physical_id} -> {after.resources['Model'].physical_id}, "
        f"{len(keys)} capture object(s) after the redeploy"
    )


def _drift(twin: Twin, report: StageReport) -> None:
    """Shifted prod traffic, the monitoring run its schedule starts, the synthesized alarm
    evaluated on the metric that run published, and the alarm's event starting retraining."""
    prod = twin.names().endpoint("prod")
    twin.traffic(
        report, captured_requests(twin.root / "model-build" / "data" / "outliers" / "capture"), prod
    )
    schedule = twin.schedule_input(WINDOW_END)
    now = datetime.now(UTC)
    request = json.loads(schedule.replace(SCHEDULED_TIME, now.strftime("%Y-%m-%dT%H:%M:%SZ")))
    twin.clients("sagemaker").start_pipeline_execution(**request)
    monitoring = twin.names().monitoring_pipeline
    twin.sagemaker_runs(report, expect=monitoring)
    (alarm,) = [  # the drift alarm (the model-quality alarm is stage 5c's)
        a
        for a in twin.stack.of_type("AWS::CloudWatch::Alarm").values()  # type: ignore[union-attr]
        if a.physical_id == twin.names().drift_alarm
    ]
    spec = alarms.AlarmSpec.from_template({**alarm.properties, "AlarmName": alarm.physical_id})
    evaluation = alarms.evaluate(spec, twin.clients("cloudwatch"), now + timedelta(minutes=1))
    report.detail.append(f"alarm {spec.name}: {evaluation.state} ({evaluation.reason})")
    if evaluation.state != "ALARM":
        raise StageError(
            f"alarm {spec.name} is {evaluation.state} after the drifted window: {evaluation.reason}"
        )
    event = alarms.state_change_event(spec, evaluation, "OK", TOOLING_ACCOUNT, twin.emulator.region)
    pipeline = twin.names().build_pipeline
    if pipeline not in twin.publish(event):
        raise StageError(f"alarm {spec.name} in ALARM started no run of {pipeline}")
    twin.sagemaker_runs(report, expect=pipeline)


def _release(twin: Twin, report: StageReport) -> None:
    """A person pushes a release-* image (a patched base): retraining must run THAT image."""
    repository = twin.output("RepositoryUri")
    digest = twin.push_image(f"{repository}:{RELEASE_TAG}", report)
    started = twin.publish(
        samples.ecr_image_push(
            repository=repository.split("/", 1)[1],
            tag=RELEASE_TAG,
            digest=digest,
            region=twin.emulator.region,
            account=TOOLING_ACCOUNT,
        )
    )
    build = twin.output("BuildPipelineName")
    if build not in started:
        raise StageError(f"the release image push started no build pipeline {build!r}")
    run = twin.runs[build]
    if run.status != "Succeeded":
        raise StageError(run.failure)
    pipeline = twin.names().build_pipeline
    (execution,) = [
        e for e in twin.sagemaker_runs(report, expect=pipeline) if e.pipeline == pipeline
    ]
    image = execution.parameters.get("ImageUri", "")
    if not image.endswith(digest):
        raise StageError(
            f"retraining after the release push ran image {image or '(default)'}, not the pushed "
            f"{RELEASE_TAG} ({digest})"
        )
    report.detail.append(f"retraining ran {image}")


def _new_data(twin: Twin, report: StageReport) -> None:
    bucket = twin.output("ArtifactBucketName")
    key = twin.output("TrainingDataPrefix") + "twin-upload.csv"
    data = min((twin.root / "model-build" / "data" / "raw").iterdir())  # the bundled data file
    twin.clients("s3").put_object(Bucket=bucket, Key=key, Body=data.read_bytes())
    started = twin.publish(
        samples.s3_object_created(
            bucket=bucket,
            key=key,
            size=data.stat().st_size,
            region=twin.emulator.region,
            account=TOOLING_ACCOUNT,
        )
    )
    pipeline = twin.names().build_pipeline
    if pipeline not in started:
        raise StageError(f"the upload of s3://{bucket}/{key} started no run of {pipeline}")
    (execution,) = [
        e for e in twin.sagemaker_runs(report, expect=pipeline) if e.pipeline == pipeline
    ]
    reads = execution.values.get("InputDataUrl", "")
    if not f"s3://{bucket}/{key}".startswith(reads):
        raise StageError(
            f"the upload of s3://{bucket}/{key} started {pipeline}, but it reads its training data "
            f"from {reads}: the new data is not used (TrainingDataPrefix and InputDataUrl differ)"
        )
    report.detail.append(f"retraining read {reads}")


def _batch(twin: Twin, report: StageReport) -> None:
    """The batch pipeline as its schedule starts it (default parameters): a clean batch is scored
    (transform output written); a drifted one fails BatchInputDrift, which starts retraining and
    sends exactly one notification (observed through an SQS subscription to the topic)."""
    names = twin.names()
    bucket, prefix = twin.output("ArtifactBucketName"), twin.output("BatchInputPrefix")
    reads = _batch_input_default(twin, names.batch_pipeline)
    if reads != f"s3://{bucket}/{prefix}":
        raise StageError(
            f"SageMaker pipeline {names.batch_pipeline} reads its batch from {reads}, but the "
            f"stack's BatchInputPrefix is s3://{bucket}/{prefix}"
        )
    schedule = twin.schedule_target(names.batch_pipeline)
    report.detail.append(f"schedule {schedule} starts {names.batch_pipeline}")
    inbox = twin.subscribe_queue(twin.output("NotificationTopicArn"))
    s3 = twin.clients("s3")

    def run(rows: list[str], name: str) -> Execution:
        for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])  # the batch folder holds one batch
        s3.put_object(Bucket=bucket, Key=f"{prefix}{name}", Body="\n".join(rows) + "\n")
        twin.clients("sagemaker").start_pipeline_execution(PipelineName=names.batch_pipeline)
        runs = twin.sagemaker_runs(report)
        (execution,) = [e for e in runs if e.pipeline == names.batch_pipeline]
        return execution

    rows = [body for _, body in sample_rows(twin.root, 10**6)]
    clean = run(rows, "twin-clean.csv")
    if clean.status != "Succeeded":
        raise StageError(f"the clean batch: {names.batch_pipeline} {clean.status}: {clean.failure}")
    scored = _transform_outputs(twin, bucket, "twin-clean.csv.out")
    if not scored:
        raise StageError(
            f"the clean batch: {names.batch_pipeline} succeeded but wrote no twin-clean.csv.out"
        )
    lines = s3.get_object(Bucket=bucket, Key=scored[0])["Body"].read().splitlines()
    report.detail.append(f"transform output s3://{bucket}/{scored[0]} ({len(lines)} scores)")
    if len(lines) != len(rows):
        raise StageError(f"the clean batch: {len(rows)} rows in, {len(lines)} scores out")
    twin.drain(inbox)

    shifted = shifted_csv(twin.root)
    drifted = run(shifted, "twin-drifted.csv")
    if drifted.status != "Failed" or drifted.steps.get("BatchInputDrift") != "Failed":
        raise StageError(
            f"the drifted batch: {names.batch_pipeline} {drifted.status}, steps {drifted.steps}; "
            "expected the FailStep BatchInputDrift"
        )
    if f" in {len(shifted)} rows of " not in drifted.failure:
        raise StageError(
            f"the drifted batch ({len(shifted)} rows) was not what {names.batch_pipeline} checked: "
            f"{drifted.failure or drifted.status}"
        )
    build = names.build_pipeline
    twin.sagemaker_runs(report, expect=build)  # the retraining the drift rule started
    messages = twin.drain(inbox)
    report.detail.append(f"notifications: {len(messages)}")
    if len(messages) != 1:
        raise StageError(
            f"the drifted batch sent {len(messages)} notifications to the topic, expected exactly "
            "one: " + " | ".join(m[:120] for m in messages)
        )


def _batch_input_default(twin: Twin, pipeline: str) -> str:
    definition = json.loads(
        twin.clients("sagemaker").describe_pipeline(PipelineName=pipeline)["PipelineDefinition"]
    )
    for parameter in definition.get("Parameters", []):
        if parameter["Name"] == "BatchInputUrl":
            return str(parameter.get("DefaultValue", ""))
    raise StageError(f"SageMaker pipeline {pipeline} has no parameter BatchInputUrl")


def _transform_outputs(twin: Twin, bucket: str, name: str) -> list[str]:
    """Keys of transform outputs called ``name`` (SageMaker names them ``<input object>.out``)."""
    found = []
    for page in twin.clients("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket):
        found += [
            item["Key"] for item in page.get("Contents", []) if item["Key"].endswith(f"/{name}")
        ]
    return found


def shifted_csv(root: Path) -> list[str]:
    """The shipped shifted batch's rows (the capture's requests, every payload form) as CSV lines,
    read by the monitor's own reader."""
    folder = root / "model-build" / "data" / "outliers" / "capture"
    names, categories = SCHEMA.feature_names, SCHEMA.categories()
    lines = []
    for chunk in read_capture(folder, names, ReadSummary(), codes=codes_of(categories)):
        for row in values(chunk.values, names, categories):
            lines.append(
                ",".join("" if v is None else v if isinstance(v, str) else f"{v:g}" for v in row)
            )
    return lines


def write_report(twin: Twin, path: Path) -> Path:
    data = {
        "stages": [dataclasses.asdict(r) for r in twin.reports],
        "emulation": [
            {"type": kind, "how": how, "note": note} for kind, how, note in twin.coverage()
        ],
        "sagemaker_executions": [dataclasses.asdict(e) for e in twin.ran],
        "reused_tests": [dataclasses.asdict(r) for r in twin.passed.reused] if twin.passed else [],
    }
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def print_summary(twin: Twin) -> None:
    if twin.stack is not None:
        print("\nwhat emulates what (the CI/CD stack and the stage stacks):")
        for kind, how, note in twin.coverage():
            print(f"  {kind:<45} {how:<24} {note}")
    print("\ntimeline:")
    for report in twin.reports:
        print(f"  {report.outcome:<7} {report.seconds:6.1f}s  {report.name}")
    for reused in twin.passed.reused if twin.passed else []:
        print(
            f"  not rerun in {reused.build}: `{reused.command}` (same inputs passed in "
            f"{reused.passed_in}; --rerun-tests reruns it)"
        )


if __name__ == "__main__":
    sys.exit(main())
