"""SageMaker pipeline executions started in the emulator, run by the project's local executor from
the definition the emulator stored for that execution (what SageMaker would read), with the S3 URIs
the definition names mapped onto the emulated S3, RegisterModel writing to the emulated registry, and
Transform steps run by the twin's batch transform (``transform.py``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from model_build.local.commands import TRACKING_PARAMETER
from model_build.local.executor import LocalExecutor
from model_build.local.resolve import UnsupportedDefinitionError
from model_container.track import RECORDED_STEPS
from model_container.tracking import EXECUTION_TAG, PACKAGE_TAG
from project_infra.twin import protection, transform

Clients = Callable[[str], Any]


@dataclass
class Execution:
    pipeline: str
    arn: str
    parameters: dict[str, str]  # as started (overrides only)
    status: str = "Executing"  # Succeeded | Failed | NotRunLocally
    failure: str = ""
    steps: dict[str, str] = field(default_factory=dict)  # name -> Succeeded | Failed, in run order
    step_types: dict[str, str] = field(default_factory=dict)  # name -> the definition's Type
    registered: list[str] = field(default_factory=list)
    seconds: float = 0.0
    values: dict[str, str] = field(default_factory=dict)  # every parameter, defaults included
    jobs: list[protection.Job] = field(default_factory=list)  # the job steps that ran
    # The ARN the local executor ran it under (its steps' Execution.PipelineExecutionArn).
    run_arn: str = ""


def _jsonable(value: Any) -> Any:
    return json.loads(
        json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))
    )


def emulator_registry(clients: Clients) -> Callable[..., dict[str, Any]]:
    """A ``register`` for the local executor that calls CreateModelPackage in the emulator."""

    def register(
        _work: Path, request: dict[str, Any], *, region: str, account: str
    ) -> dict[str, Any]:
        sagemaker = clients("sagemaker")
        arn = sagemaker.create_model_package(**request)["ModelPackageArn"]
        record = _jsonable(sagemaker.describe_model_package(ModelPackageName=arn))
        record.pop("ResponseMetadata", None)
        return record

    return register


class S3Mirror:
    """The executor's local S3 folder, filled from the emulated S3 before a run and written back
    after it (only objects the run created or changed)."""

    def __init__(self, clients: Clients, root: Path) -> None:
        self.s3 = clients("s3")
        self.root = root

    def _folder(self, bucket: str) -> Path:
        return self.root / "s3" / bucket

    def pull(self, bucket: str) -> dict[str, tuple[int, int]]:
        """Make the local folder hold exactly the bucket's objects (one deleted in S3 since the
        last run is deleted here too, or a step would read it)."""
        folder = self._folder(bucket)
        keys = set()
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                target = folder / item["Key"]
                if item["Key"].endswith("/"):
                    continue
                keys.add(item["Key"])
                target.parent.mkdir(parents=True, exist_ok=True)
                self.s3.download_file(bucket, item["Key"], str(target))
        state = self._state(folder)
        for key in set(state) - keys:
            (folder / key).unlink()
            del state[key]
        return state

    def push(self, bucket: str, before: dict[str, tuple[int, int]]) -> list[str]:
        folder = self._folder(bucket)
        written = []
        for key, state in self._state(folder).items():
            if before.get(key) != state:
                self.s3.upload_file(str(folder / key), bucket, key)
                written.append(key)
        return written

    @staticmethod
    def _state(folder: Path) -> dict[str, tuple[int, int]]:
        if not folder.is_dir():
            return {}
        return {
            p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*")
            if p.is_file()
        }


def buckets_of(definition: dict[str, Any], parameters: dict[str, str]) -> set[str]:
    """The buckets a definition's S3 URIs (literal or parameter defaults/values) name."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str) and value.startswith("s3://"):
            found.add(value[5:].split("/", 1)[0])
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(definition)
    walk(list(parameters.values()))
    return {b for b in found if b and "{" not in b}


def run_execution(
    clients: Clients,
    arn: str,
    work: Path,
    *,
    region: str,
    account: str,
    env: dict[str, str],
    log: Callable[[str], None],
) -> Execution:
    sagemaker = clients("sagemaker")
    pipeline = arn.split(":pipeline/")[1].split("/execution/", maxsplit=1)[0]
    definition = json.loads(
        sagemaker.describe_pipeline_definition_for_execution(PipelineExecutionArn=arn)[
            "PipelineDefinition"
        ]
    )
    parameters = {
        p["Name"]: p["Value"]
        for p in sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn).get(
            "PipelineParameters", []
        )
    }
    execution = Execution(pipeline, arn, parameters)
    try:
        executor = LocalExecutor(
            definition,
            work,
            region=region,
            account=account,
            log=log,
            register=emulator_registry(clients),
            aws_steps=True,  # the monitoring pipeline's steps call S3, the registry, CloudWatch
            transform=transform.runner(clients, work),
        )
    except UnsupportedDefinitionError as error:
        execution.status, execution.failure = "NotRunLocally", str(error)
        return execution
    mirror = S3Mirror(clients, work)
    parameters = {**parameters, **_tracking_stand_in(definition, parameters, work)}
    values = executor.parameters(parameters)
    execution.values = {k: str(v) for k, v in values.items()}
    buckets = buckets_of(definition, {k: str(v) for k, v in values.items()})
    before = {bucket: mirror.pull(bucket) for bucket in buckets}
    result = executor.run(parameters, env=env)
    for bucket in buckets:
        mirror.push(bucket, before[bucket])
    execution.status = result.status
    execution.failure = result.failure or ""
    execution.run_arn = result.execution_arn
    execution.steps = {name: step["status"] for name, step in result.steps.items()}
    execution.step_types = {
        step["Name"]: step["Type"] for step in LocalExecutor.all_steps(definition["Steps"])
    }
    execution.registered = [r["ModelPackageArn"] for r in result.registered]
    execution.jobs = protection.with_model_vpcs(
        protection.jobs(definition, execution.steps), sagemaker, result.execution_id
    )
    execution.seconds = sum(step["seconds"] for step in result.steps.values())
    return execution


def _tracking_stand_in(
    definition: dict[str, Any], parameters: dict[str, str], work: Path
) -> dict[str, str]:
    """MlflowTrackingUri for a run that would publish to an MLflow App (the emulator has none):
    a file store in the twin's work folder, one per app, which `mlflow ui` can open."""
    declared = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}
    uri = parameters.get(TRACKING_PARAMETER, declared.get(TRACKING_PARAMETER))
    if not isinstance(uri, str) or ":mlflow-app/" not in uri:
        return {}
    return {TRACKING_PARAMETER: (work / "mlflow" / uri.rsplit("/", 1)[-1]).as_uri()}


def tracked_run(execution: Execution) -> str:
    """What the execution's Track and LinkRun steps published to the stand-in store (one detail
    line), or "" when it has no Track step or publishes to no stand-in. Raises ValueError when a
    step that succeeded left no run, a step's child run or the package tag out."""
    uri = execution.values.get(TRACKING_PARAMETER, "")
    if execution.steps.get("Track") != "Succeeded" or not uri.startswith("file:"):
        return ""
    from mlflow import MlflowClient  # noqa: PLC0415 (only for runs with tracking)

    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(uri)
    quoted = execution.run_arn.replace("'", "\\'")
    experiments = [e.experiment_id for e in client.search_experiments()]
    found = client.search_runs(
        experiments, filter_string=f"tags.`{EXECUTION_TAG}` = '{quoted}'", max_results=1
    )
    if not found:
        raise ValueError(f"Track succeeded but published no MLflow run for it to {uri}")
    parent = found[0]
    children = client.search_runs(
        experiments, filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'"
    )
    steps = sorted(child.info.run_name for child in children)
    if steps != sorted(RECORDED_STEPS):
        raise ValueError(
            f"MLflow run {parent.info.run_id} has child runs {steps}, not {sorted(RECORDED_STEPS)}"
        )
    package = parent.data.tags.get(PACKAGE_TAG, "")
    if execution.steps.get("LinkRun") == "Succeeded" and [package] != execution.registered[-1:]:
        raise ValueError(
            f"LinkRun succeeded but MLflow run {parent.info.run_id} is tagged with package "
            f"{package or 'none'}, not {execution.registered[-1:] or 'none'}"
        )
    return f"MLflow run {parent.info.run_id} ({', '.join(steps)}) in {uri}" + (
        f", tagged with {package}" if package else ""
    )


def executions(clients: Clients) -> list[str]:
    """Every execution ARN in the emulator, oldest first."""
    sagemaker = clients("sagemaker")
    found = []
    for summary in sagemaker.list_pipelines().get("PipelineSummaries", []):
        listed = sagemaker.list_pipeline_executions(PipelineName=summary["PipelineName"])
        for item in listed.get("PipelineExecutionSummaries", []):
            found.append((item["StartTime"], item["PipelineExecutionArn"]))
    return [arn for _, arn in sorted(found)]
