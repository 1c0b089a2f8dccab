"""MLflow experiment tracking: the steps record, the Track step publishes.

Preprocess, Train and Evaluate run network-isolated, so they cannot reach a tracking server. Each
records what it would log (``step_run``: params, metrics, artifacts, start and end time) into a
folder of its own output; the Track step (``model_container.track``, not isolated) reads those
records and publishes them as one MLflow run per pipeline execution with one child run per step
(``publish``); LinkRun tags that run with the model package the execution registered
(``link_package``). Locally the same steps run the same way (one definition, two executors).

Recording never fails a step, and neither does publishing: the first error (server unreachable,
broken store) prints one warning and the step goes on untracked. MLflow is imported only when a
tracking URI is set, so an untracked run pays nothing for it.

Environment of the Track and LinkRun steps (besides MLflow's own, e.g.
``MLFLOW_HTTP_REQUEST_MAX_RETRIES``):

- ``MLFLOW_TRACKING_URI``: where runs go (a SageMaker MLflow App's ARN through the
  ``sagemaker-mlflow`` plugin, an http(s) server, a file store); empty: no tracking.
- ``MLFLOW_EXPERIMENT_NAME``: the experiment (created when missing; default ``model-build``).
- ``PIPELINE_EXECUTION_ARN``: the execution the parent run stands for (tag
  ``sagemaker.pipeline_execution_arn``).
- ``SOURCE_GIT_REPOSITORY``, ``SOURCE_GIT_BRANCH``, ``SOURCE_GIT_COMMIT``: what the run was built
  from, as MLflow's own ``mlflow.source.git.*`` tags.
"""

# mlflow takes ~1.5 s to import: only when tracking is on, inside the functions.
# ruff: noqa: PLC0415

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_EXPERIMENT = "model-build"
EXECUTION_TAG = "sagemaker.pipeline_execution_arn"
PACKAGE_TAG = "sagemaker.model_package_arn"
RECORD = "run.json"  # <folder>/<step>/run.json, its artifacts in <folder>/<step>/artifacts/<name>/
# Our variable -> MLflow's system tag of the same meaning (mlflow.utils.mlflow_tags).
GIT_TAGS = {
    "SOURCE_GIT_REPOSITORY": "mlflow.source.git.repoURL",
    "SOURCE_GIT_BRANCH": "mlflow.source.git.branch",
    "SOURCE_GIT_COMMIT": "mlflow.source.git.commit",
}
_failed = False  # after the first failure: warned once, tracking off for this process


@dataclass
class StepRecord:
    """What one step logs; written to its folder when the step's ``step_run`` block ends."""

    step: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)
    started_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    def log(
        self,
        *,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        artifacts: Mapping[str, Path] | None = None,
    ) -> None:
        """Record ``params``, ``metrics`` and ``artifacts`` (artifact folder -> file or folder)."""
        self.params.update({k: str(v) for k, v in (params or {}).items()})
        self.metrics.update({k: float(v) for k, v in (metrics or {}).items()})
        self.artifacts.update(artifacts or {})

    def write(self, folder: Path, status: str) -> None:
        target = folder / self.step
        if target.exists():
            shutil.rmtree(target)
        stored: dict[str, str] = {}
        for name, path in self.artifacts.items():
            destination = target / "artifacts" / name
            if path.is_dir():
                shutil.copytree(path, destination)
            elif path.is_file():
                destination.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, destination / path.name)
            else:
                continue
            stored[name] = str(destination.relative_to(target))
        body = {
            "step": self.step,
            "status": status,
            "start_time": self.started_ms,
            "end_time": _now_ms(),
            "params": self.params,
            "metrics": self.metrics,
            "artifacts": stored,
        }
        target.mkdir(parents=True, exist_ok=True)
        (target / RECORD).write_text(json.dumps(body, indent=2, sort_keys=True), encoding="utf-8")


@contextmanager
def step_run(step: str, folder: Path) -> Iterator[StepRecord]:
    """Record step ``step``'s params, metrics and artifacts into ``folder`` (the step's tracking
    output), ended FINISHED or FAILED with the block; a recording error only warns."""
    record = StepRecord(step)
    status = "FAILED"
    try:
        yield record
        status = "FINISHED"
    finally:
        try:
            record.write(folder, status)
        except OSError as error:
            _warn(f"recording {step}", error)


def read_records(folders: Sequence[Path]) -> list[tuple[dict[str, Any], Path]]:
    """Every ``<step>/run.json`` under ``folders`` (in their order), with the folder it is in."""
    found = []
    for folder in folders:
        for path in sorted(folder.glob(f"*/{RECORD}")):
            found.append((json.loads(path.read_text(encoding="utf-8")), path.parent))
    return found


def publish(
    records: Sequence[tuple[dict[str, Any], Path]],
    extra_artifacts: Mapping[str, Mapping[str, Path]] | None = None,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """Log the execution's parent run (FINISHED) with a child run per record; ``extra_artifacts``:
    step -> artifact folder -> path logged into that step's run too (Train's model). The parent's
    run id, or None when tracking is off or failed."""
    environ = os.environ if env is None else env
    if not environ.get("MLFLOW_TRACKING_URI") or _failed:
        return None
    try:
        client, experiment_id = _client(environ)
        tags = {GIT_TAGS[name]: environ[name] for name in GIT_TAGS if environ.get(name)}
        execution_arn = environ.get("PIPELINE_EXECUTION_ARN", "")
        parent = client.create_run(
            experiment_id,
            run_name=execution_arn.rsplit("/", 1)[-1] or "local",
            tags={**tags, **({EXECUTION_TAG: execution_arn} if execution_arn else {})},
            start_time=min((r["start_time"] for r, _ in records), default=_now_ms()),
        ).info.run_id
        for record, folder in records:
            _child(
                client,
                experiment_id,
                record,
                folder,
                parent=parent,
                tags=tags,
                extra_artifacts=extra_artifacts or {},
            )
        client.set_terminated(parent, "FINISHED")
        print(f"MLflow: run {parent} in {environ['MLFLOW_TRACKING_URI']}", flush=True)
        return str(parent)
    except Exception as error:  # tracking must never fail the step
        _warn("publishing the run", error)
        return None


def link_package(run_id: str, package_arn: str, env: Mapping[str, str] | None = None) -> bool:
    """Tag the execution's run with the model package it registered; False when off or failed."""
    environ = os.environ if env is None else env
    if not environ.get("MLFLOW_TRACKING_URI") or not run_id or _failed:
        return False
    try:
        client, _ = _client(environ, experiment=False)
        client.set_tag(run_id, PACKAGE_TAG, package_arn)
        return True
    except Exception as error:
        _warn("linking the model package", error)
        return False


def _child(
    client: Any,
    experiment_id: str,
    record: Mapping[str, Any],
    folder: Path,
    *,
    parent: str,
    tags: Mapping[str, str],
    extra_artifacts: Mapping[str, Mapping[str, Path]],
) -> None:
    from mlflow.entities import Metric, Param

    step = record["step"]
    run = client.create_run(
        experiment_id,
        run_name=step,
        tags={**tags, "mlflow.parentRunId": parent},
        start_time=record["start_time"],
    ).info.run_id
    client.log_batch(
        run,
        metrics=[Metric(k, v, record["end_time"], 0) for k, v in record["metrics"].items()],
        params=[Param(k, v) for k, v in record["params"].items()],
    )
    artifacts = {name: folder / path for name, path in record["artifacts"].items()}
    for name, path in {**artifacts, **extra_artifacts.get(step, {})}.items():
        if path.is_dir():
            client.log_artifacts(run, str(path), name)
        elif path.is_file():
            client.log_artifact(run, str(path), name)
    client.set_terminated(run, record["status"], end_time=record["end_time"])


def _client(environ: Mapping[str, str], *, experiment: bool = True) -> tuple[Any, str]:
    uri = environ["MLFLOW_TRACKING_URI"]
    if uri.startswith("file:") or ("://" not in uri and not uri.startswith("arn:")):
        # MLflow 3 refuses its file store unless told (it is in maintenance mode; a database needs
        # SQLAlchemy and the full mlflow): the local default, read by `make mlflow-ui`.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    # MLflow retries a request 7 times over minutes by default: the step waits at most ~15 s for a
    # server that is down before it goes on untracked (set the variables to wait longer).
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    if not experiment:
        return client, ""
    name = environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
    found = client.get_experiment_by_name(name)
    return client, str(found.experiment_id if found else client.create_experiment(name))


def _warn(action: str, error: BaseException) -> None:
    global _failed  # noqa: PLW0603 (one warning per process)
    if not _failed:
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        print(
            f"WARNING: MLflow tracking off ({action} failed: {type(error).__name__}: {reason}); "
            "the step goes on",
            file=sys.stderr,
            flush=True,
        )
    _failed = True


def _now_ms() -> int:
    return int(time.time() * 1000)
