"""MLflow experiment tracking of the pipeline steps: one parent run per pipeline execution, one child run
per tracked step (Preprocess, Train, Evaluate).

Steps call ``step_run(name)`` and log through what it yields; ``run-local`` calls ``finish_execution``
when the execution ends. Tracking is on only when ``MLFLOW_TRACKING_URI`` is set (``run-local`` sets a
file store under its work folder; the cloud definition sets it only when the project configures a
tracking server). Tracking never fails a step: the first error (server unreachable, broken store)
prints one warning and turns tracking off for the rest of the process. MLflow is imported only here
and only when tracking is on, so an untracked step pays nothing for it.

Environment (besides MLflow's own, e.g. ``MLFLOW_HTTP_REQUEST_MAX_RETRIES``):

- ``MLFLOW_TRACKING_URI``: where runs go; unset or empty: no tracking.
- ``MLFLOW_EXPERIMENT_NAME``: the experiment (created when missing; default ``model-build``).
- ``PIPELINE_EXECUTION_ARN``: the execution the parent run stands for (tag
  ``sagemaker.pipeline_execution_arn``); the first tracked step creates it, the others find it.
- ``SOURCE_GIT_REPOSITORY``, ``SOURCE_GIT_BRANCH``, ``SOURCE_GIT_COMMIT``: what the run was built
  from, as MLflow's own ``mlflow.source.git.*`` tags.
"""

# mlflow takes ~1.5 s to import: only when tracking is on, inside the functions.
# ruff: noqa: PLC0415

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DEFAULT_EXPERIMENT = "model-build"
EXECUTION_TAG = "sagemaker.pipeline_execution_arn"
PACKAGE_TAG = "sagemaker.model_package_arn"
# Our variable -> MLflow's system tag of the same meaning (mlflow.utils.mlflow_tags).
GIT_TAGS = {
    "SOURCE_GIT_REPOSITORY": "mlflow.source.git.repoURL",
    "SOURCE_GIT_BRANCH": "mlflow.source.git.branch",
    "SOURCE_GIT_COMMIT": "mlflow.source.git.commit",
}
_failed = False  # after the first failure: warned once, tracking off for this process


class StepRun:
    """One step's child run; every call is a no-op when tracking is off or has failed."""

    def __init__(self, client: Any = None, run_id: str | None = None) -> None:
        self._client, self.run_id = client, run_id

    def log(
        self,
        *,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        artifacts: Mapping[str, Path] | None = None,
    ) -> None:
        """Log ``params``, ``metrics`` and ``artifacts`` (artifact folder -> local file or folder)."""
        if self.run_id is None or _failed:
            return
        try:
            from mlflow.entities import Metric, Param

            self._client.log_batch(
                self.run_id,
                metrics=[Metric(k, float(v), _now_ms(), 0) for k, v in (metrics or {}).items()],
                params=[Param(k, str(v)) for k, v in (params or {}).items()],
            )
            for folder, path in (artifacts or {}).items():
                if path.is_dir():
                    self._client.log_artifacts(self.run_id, str(path), folder)
                elif path.is_file():
                    self._client.log_artifact(self.run_id, str(path), folder)
        except Exception as error:  # tracking must never fail the step
            _warn("logging", error)


@contextmanager
def step_run(step: str) -> Iterator[StepRun]:
    """The child run of ``step`` under the execution's parent run, ended FINISHED or FAILED with the
    step; a do-nothing StepRun when tracking is off."""
    run = _start(step) if enabled() else StepRun()
    status = "FAILED"
    try:
        yield run
        status = "FINISHED"
    finally:
        if run.run_id is not None and not _failed:
            try:
                run._client.set_terminated(run.run_id, status)
            except Exception as error:
                _warn("ending the run", error)


def finish_execution(
    execution_arn: str,
    succeeded: bool,
    package_arn: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """End the execution's parent run (tagged with ``package_arn`` when a package was registered);
    its run id, or None when tracking is off, failed or no step created the run. ``env``: the
    steps' environment (default this process's)."""
    environ = os.environ if env is None else {**os.environ, **env}
    if not environ.get("MLFLOW_TRACKING_URI") or _failed:
        return None
    try:
        client, experiment_id = _client(environ)
        parent = _find_parent(client, experiment_id, execution_arn)
        if parent is None:
            return None
        if package_arn:
            client.set_tag(parent, PACKAGE_TAG, package_arn)
        client.set_terminated(parent, "FINISHED" if succeeded else "FAILED")
        return str(parent)
    except Exception as error:
        _warn("ending the pipeline run", error)
        return None


def enabled() -> bool:
    return bool(os.environ.get("MLFLOW_TRACKING_URI")) and not _failed


def _start(step: str) -> StepRun:
    try:
        client, experiment_id = _client(os.environ)
        tags = {GIT_TAGS[name]: os.environ[name] for name in GIT_TAGS if os.environ.get(name)}
        execution_arn = os.environ.get("PIPELINE_EXECUTION_ARN", "")
        if execution_arn:
            parent = _find_parent(client, experiment_id, execution_arn)
            if parent is None:
                # The steps that track run one after another (each needs the one before), so two
                # never race to create it.
                parent = client.create_run(
                    experiment_id,
                    run_name=execution_arn.rsplit("/", 1)[-1],
                    tags={**tags, EXECUTION_TAG: execution_arn},
                ).info.run_id
            tags = {**tags, "mlflow.parentRunId": parent}  # only the parent has EXECUTION_TAG
        run = client.create_run(experiment_id, run_name=step, tags=tags)
        print(f"MLflow: {step} is run {run.info.run_id} in {os.environ['MLFLOW_TRACKING_URI']}")
        return StepRun(client, run.info.run_id)
    except Exception as error:
        _warn("starting the run", error)
        return StepRun()


def _client(environ: Mapping[str, str]) -> tuple[Any, str]:
    uri = environ["MLFLOW_TRACKING_URI"]
    if uri.startswith("file:") or "://" not in uri:
        # MLflow 3 refuses its file store unless told (it is in maintenance mode; a database needs
        # SQLAlchemy and the full mlflow): the local default, read by `make mlflow-ui`.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    # MLflow retries a request 7 times over minutes by default: a step waits at most ~15 s for a
    # server that is down before it goes on untracked (set the variables to wait longer).
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    name = environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
    experiment = client.get_experiment_by_name(name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
    return client, str(experiment_id)


def _find_parent(client: Any, experiment_id: str, execution_arn: str) -> str | None:
    quoted = execution_arn.replace("'", "\\'")
    found = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{EXECUTION_TAG}` = '{quoted}'",
        max_results=1,
    )
    return str(found[0].info.run_id) if found else None


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
    import time

    return int(time.time() * 1000)
