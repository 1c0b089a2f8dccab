"""The local commands: `run-local` (the pipeline on this machine) and `approve` (the local registry,
or SageMaker's with --cloud)."""

# boto3 and the executor load only in the commands that use them (`approve` stays instant).
# ruff: noqa: PLC0415

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model_build.definitions import cached_definition
from model_build.errors import StepFailedError, UsageError, UsageParser
from model_build.options import (
    SOURCE_VARIABLES,
    add_name_arguments,
    build_config,
    parse_overrides,
)

if TYPE_CHECKING:
    from model_build.local.executor import RunResult

# The training data the project ships (model-build/data/raw/, read as project_model.SCHEMA declares).
BUNDLED_DATA = Path(__file__).resolve().parents[3] / "data" / "raw"
SUMMARY_METRICS = ("auc", "accuracy", "precision", "recall", "f1")
# The packages the image runs the steps from: locally their sources stand in for its digest.
STEP_CODE = ("model_container", "project_model")
DEFAULT_WORK = Path(os.environ.get("LOCAL_WORK_DIR", ".local"))
# Unset: the run tracks to a file store under the work folder; set empty: no tracking. It becomes
# the definition's MlflowTrackingUri parameter (the Track and LinkRun steps publish there).
TRACKING_URI = "MLFLOW_TRACKING_URI"
TRACKING_PARAMETER = "MlflowTrackingUri"


# -- run-local --------------------------------------------------------------------------------------------


def run_local_main(argv: list[str] | None = None) -> int:
    parser = UsageParser(
        prog="run-local", description="Run the pipeline definition on this machine."
    )
    add_name_arguments(parser)
    parser.add_argument(
        "--parameter", "-p", action="append", metavar="NAME=VALUE", help="override a parameter"
    )
    parser.add_argument(
        "--work-dir", type=Path, default=DEFAULT_WORK, help="local S3, jobs and registry"
    )
    parser.add_argument(
        "--data", type=Path, default=BUNDLED_DATA, help="raw data file or folder to 'upload'"
    )
    parser.add_argument(
        "--definition", type=Path, help="run this definition JSON instead of building one"
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="build the definition even if a cached one matches"
    )
    args = parser.parse_args(argv)
    from model_build.local.executor import LocalExecutor
    from model_build.local.storage import s3_path

    started = time.perf_counter()
    config = build_config(args, local=True)
    work = args.work_dir.resolve()
    if args.definition:
        try:
            definition = json.loads(args.definition.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise UsageError(
                f"--definition {args.definition}: not a readable JSON file ({error})"
            ) from None
    else:
        if args.rebuild:
            shutil.rmtree(work / "definitions", ignore_errors=True)
        definition, cached = cached_definition(config, work)
        print(
            f"[{time.perf_counter() - started:6.1f}s] definition {'cached' if cached else 'built'} "
            f"({work / 'definitions'})"
        )
    executor = LocalExecutor(
        definition,
        work,
        region=config.region,
        log=lambda line: print(line, flush=True),
        code_version=step_code_version(),
    )
    overrides = parse_overrides(args.parameter)
    tracking = tracking_environment(work, definition)
    uri = tracking.pop(TRACKING_URI)
    if TRACKING_PARAMETER in executor.parameters({}):
        overrides.setdefault(TRACKING_PARAMETER, uri)
    params = executor.parameters(overrides)
    upload_data(args.data, s3_path(work, params["InputDataUrl"]))
    # The Champion step reads the local registry and S3 folders (model_container.local_aws).
    env = {"LOCAL_AWS_ROOT": str(work), **tracking}
    result = executor.run(overrides, env=env, started=started)
    record_source(result, work, tracking)
    if params.get(TRACKING_PARAMETER):
        print(f"MLflow: {params[TRACKING_PARAMETER]} (make mlflow-ui browses the local store)")
    print(summary(result, work))
    if result.status != "Succeeded":
        raise StepFailedError(result.failure or "the run failed")
    print(f"done in {time.perf_counter() - started:.1f}s")
    return 0


def tracking_environment(work: Path, definition: dict[str, Any]) -> dict[str, str]:
    """The run's MLflow settings (model_container.tracking): MLFLOW_TRACKING_URI (a file store under
    ``work`` unless set; set empty: no tracking), the pipeline's name as the experiment, and the git
    repository, branch and commit of this folder."""
    env = {TRACKING_URI: os.environ.get(TRACKING_URI, (work / "mlruns").as_uri())}
    if not os.environ.get("MLFLOW_EXPERIMENT_NAME"):
        env["MLFLOW_EXPERIMENT_NAME"] = str(definition.get("PipelineName", "model-build"))
    git = {
        "SOURCE_GIT_REPOSITORY": ("config", "--get", "remote.origin.url"),
        "SOURCE_GIT_BRANCH": ("rev-parse", "--abbrev-ref", "HEAD"),
        "SOURCE_GIT_COMMIT": ("rev-parse", "HEAD"),
    }
    for name, command in git.items():
        value = _git(*command)
        if name == "SOURCE_GIT_REPOSITORY" and not value:  # no remote: the clone's own folder
            value = _git("rev-parse", "--show-toplevel")
        if value and not os.environ.get(name):
            env[name] = value
    return env


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def record_source(result: RunResult, work: Path, env: dict[str, str]) -> None:
    """Record the folder's repository, branch and commit in the package the run registered, as
    the cloud build's definition does (model_build.options.source_git)."""
    from model_build.local.registry import set_metadata

    for name in SOURCE_VARIABLES:
        if result.registered and env.get(name):
            result.registered[-1] = set_metadata(
                work, result.registered[-1], name.lower(), env[name]
            )


def step_code_version(packages: tuple[str, ...] = STEP_CODE) -> str:
    """A digest of the step code's Python sources: a cached step reruns once its code changed."""
    digest = hashlib.sha256()
    for package in packages:
        spec = importlib.util.find_spec(package)
        for root in (spec.submodule_search_locations or []) if spec else []:
            for path in sorted(Path(root).rglob("*.py")):
                digest.update(f"{package}/{path.relative_to(root)}\0".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def upload_data(source: Path, target: Path) -> None:
    """'Upload' the raw data to the local S3 folder of the input URL, replacing older files."""
    if not source.exists():
        raise UsageError(f"--data {source}: no such file or folder")
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        shutil.copy2(source, target / source.name)


def summary(result: RunResult, work: Path) -> str:
    """The evaluation metrics the run produced and where the report and registry record are."""
    lines = [f"execution {result.execution_id}: {result.status}"]
    for step, files in result.property_files.items():
        for document in files.values():
            metrics = document.get("binary_classification_metrics", {})
            values = [
                f"{name} {metrics[name]['value']:.3f}"
                for name in SUMMARY_METRICS
                if isinstance(metrics.get(name), dict)
                and isinstance(metrics[name].get("value"), (int, float))
            ]
            if values:
                lines.append(f"{step}: " + ", ".join(values))
            champion = document.get("champion")
            if isinstance(champion, dict) and "message" in champion:
                lines.append(
                    f"{step}: champion ({champion.get('mode')}, gate {champion.get('gate')}): "
                    f"{champion['message']}"
                )
        reports = sorted((work / "jobs" / step).glob("opt_ml/processing/*/report.html"))
        lines += [f"report: {report}" for report in reports]
    for record in result.registered:
        lines.append(
            f"registered {record['ModelPackageArn']} ({record['ModelApprovalStatus']}) "
            f"in {work / 'registry' / record['ModelPackageGroupName']}"
        )
    return "\n".join(lines)


# -- approve ----------------------------------------------------------------------------------------------


def approve_main(argv: list[str] | None = None) -> int:
    parser = UsageParser(
        prog="approve",
        description="Approve the newest pending model package "
        "(local registry by default, SageMaker's with --cloud).",
    )
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--model-package-group", help="only this group (required with --cloud)")
    parser.add_argument("--status", default="Approved", help="Approved (default) or Rejected")
    parser.add_argument("--cloud", action="store_true", help="use the SageMaker model registry")
    parser.add_argument("--region", help="with --cloud; default: $AWS_REGION")
    args = parser.parse_args(argv)
    if args.cloud:
        if not args.model_package_group:
            raise UsageError("--cloud needs --model-package-group")
        import boto3

        region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise UsageError("missing AWS_REGION (or --region)")
        arn = approve_in_registry(
            boto3.client("sagemaker", region_name=region), args.model_package_group, args.status
        )
        print(f"{arn}: {args.status}")
        return 0
    from model_build.local.registry import approve

    record = approve(args.work_dir.resolve(), args.model_package_group, args.status)
    print(f"{record['ModelPackageArn']}: {record['ModelApprovalStatus']}")
    return 0


def approve_in_registry(client: Any, group: str, status: str = "Approved") -> str:
    """Set the newest PendingManualApproval package of ``group`` to ``status``; return its ARN."""
    if status not in ("Approved", "Rejected"):
        raise UsageError(f"--status {status!r} is not allowed; expected Approved or Rejected")
    pending = client.list_model_packages(
        ModelPackageGroupName=group,
        ModelApprovalStatus="PendingManualApproval",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=1,
    )
    summaries = pending.get("ModelPackageSummaryList", [])
    if not summaries:
        raise UsageError(f"no package pending approval in model package group {group!r}")
    arn = str(summaries[0]["ModelPackageArn"])
    client.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
    return arn
