"""Console scripts: get-pipeline-definition, run-pipeline, upsert-pipelines, run-local, approve."""

# boto3, the SDK and the executor load only in the commands that use them (`approve` stays instant).
# ruff: noqa: PLC0415

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from model_build import catalog
from model_build.errors import StepFailedError, UsageError, run_cli
from model_build.pipeline import PipelineConfig
from model_build.settings import (
    add_name_arguments,
    add_size_argument,
    build_config,
    parse_overrides,
)

if TYPE_CHECKING:
    from model_build.local.executor import RunResult

BUNDLED_DATA = Path(__file__).resolve().parents[2] / "data" / "mammographic_masses.data"
SUMMARY_METRICS = ("auc", "accuracy", "precision", "recall", "f1")
DEFAULT_WORK = Path(os.environ.get("LOCAL_WORK_DIR", ".local"))


class _Parser(argparse.ArgumentParser):
    """Usage errors become UsageError: one line, exit 2, same as every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_definition(config: PipelineConfig, kind: str = catalog.MODEL_BUILD) -> dict[str, Any]:
    """The definition of pipeline ``kind`` as a dict, with the SDK's import-time chatter silenced."""
    from model_build.offline import import_sdk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's own moved-module shims
        import_sdk(config.region, quiet=True)
        return json.loads(catalog.definition(kind, config))


def require_available(kind: str, config: PipelineConfig) -> None:
    """A one-line refusal for a pipeline this project does not have (monitoring on small)."""
    if kind not in catalog.available(config):
        raise UsageError(
            f"the {kind} pipeline is only for medium and large projects; this one is "
            f"{config.size!r} (project.toml [project] size, or --size)"
        )


def project_tags(config: PipelineConfig) -> list[dict[str, str]]:
    """The tags SageMaker Projects use to list a project's pipelines in Studio."""
    return [
        {"Key": "sagemaker:project-name", "Value": config.project_name},
        {"Key": "sagemaker:project-id", "Value": config.project_id},
    ]


def definition_key(config: PipelineConfig) -> str:
    """Changes whenever the definition could: names, pipeline code, or SDK versions."""
    digest = hashlib.sha256(json.dumps(dataclasses.asdict(config), sort_keys=True).encode())
    for module in ("pipeline.py", "steps.py", "offline.py"):
        digest.update((Path(__file__).parent / module).read_bytes())
    for package in ("sagemaker-mlops", "sagemaker-core", "sagemaker-train", "sagemaker-serve"):
        digest.update(f"{package}=={importlib.metadata.version(package)}".encode())
    return digest.hexdigest()[:16]


def cached_definition(config: PipelineConfig, work: Path) -> tuple[dict[str, Any], bool]:
    """The definition get_pipeline builds for ``config``, reused from ``work`` while its key matches.

    Importing the SDK and building take 3-5 s, about as long as all six steps; the key covers
    everything the definition depends on, so a cached copy is the same JSON a fresh build returns.
    """
    path = work / "definitions" / f"{definition_key(config)}.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8")), True
    definition = build_definition(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(definition, indent=2), encoding="utf-8")
    return definition, False


# -- get-pipeline-definition ------------------------------------------------------------------------------


def definition_main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="get-pipeline-definition", description="Print the pipeline definition JSON."
    )
    add_name_arguments(parser)
    add_size_argument(parser)
    parser.add_argument(
        "--pipeline",
        choices=catalog.KINDS,
        default=catalog.MODEL_BUILD,
        help="which of the project's pipelines (default: model-build)",
    )
    parser.add_argument(
        "--local", action="store_true", help="use local defaults for names not given"
    )
    parser.add_argument("--output", "-o", type=Path, help="write to this file instead of stdout")
    args = parser.parse_args(argv)
    config = build_config(args, local=args.local)
    require_available(args.pipeline, config)
    text = json.dumps(build_definition(config, args.pipeline), indent=2, sort_keys=True)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


# -- run-pipeline -----------------------------------------------------------------------------------------


def run_pipeline_main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="run-pipeline", description="Upsert the pipeline in SageMaker and start it."
    )
    add_name_arguments(parser)
    parser.add_argument(
        "--parameter", "-p", action="append", metavar="NAME=VALUE", help="override a parameter"
    )
    parser.add_argument(
        "--wait", action="store_true", help="wait and print each step's status as it changes"
    )
    parser.add_argument(
        "--poll-seconds", type=float, default=30.0, help="status poll interval with --wait"
    )
    parser.add_argument(
        "--description", default="model-build pipeline", help="pipeline description"
    )
    parser.add_argument(
        "--seed-data",
        type=Path,
        metavar="FILE",
        help="upload FILE to the training-data prefix first if that prefix holds no object "
        "(a new project's first run; your own data there is never touched)",
    )
    args = parser.parse_args(argv)
    overrides = parse_overrides(args.parameter)
    config = build_config(args, local=False)
    definition = build_definition(config)
    declared = {item["Name"] for item in definition["Parameters"]}
    unknown = sorted(set(overrides) - declared)
    if unknown:
        raise UsageError(
            f"unknown parameter {unknown[0]!r}; defined: {', '.join(sorted(declared))}"
        )

    import boto3

    if args.seed_data:
        url = overrides.get("InputDataUrl", config.resolved_input_url)
        if seed_input_data(boto3.client("s3", region_name=config.region), url, args.seed_data):
            print(f"seeded {url} with {args.seed_data.name} (the prefix held no training data)")
    client = boto3.client("sagemaker", region_name=config.region)
    arn = upsert(
        client,
        config.resolved_pipeline_name,
        definition,
        role_arn=config.role_arn,
        description=args.description,
        tags=project_tags(config),
    )
    print(f"upserted {arn}")
    execution = client.start_pipeline_execution(
        PipelineName=config.resolved_pipeline_name,
        PipelineParameters=[
            {"Name": name, "Value": value} for name, value in sorted(overrides.items())
        ],
    )["PipelineExecutionArn"]
    print(f"started {execution}")
    if not args.wait:
        return 0
    status = wait_for_execution(client, execution, args.poll_seconds)
    return 0 if status == "Succeeded" else 1


def seed_input_data(s3: Any, url: str, source: Path) -> bool:
    """Upload ``source`` below the S3 prefix ``url`` if nothing is there yet; True if it did.

    The name keeps its own suffix (``.data``): the retraining rule starts on new ``.csv`` files,
    and this upload belongs to the run that is about to start anyway.
    """
    if not source.is_file():
        raise UsageError(f"--seed-data {source}: no such file")
    if not url.startswith("s3://"):
        raise UsageError(f"InputDataUrl {url!r} is not an s3:// URL")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount", 0):
        return False
    s3.upload_file(str(source), bucket, f"{prefix.rstrip('/')}/{source.name}".lstrip("/"))
    return True


def upsert(
    client: Any,
    name: str,
    definition: dict[str, Any],
    *,
    role_arn: str,
    description: str,
    tags: list[dict[str, str]],
) -> str:
    """Create the pipeline, or update it if it exists; return its ARN."""
    body = json.dumps(definition)
    try:
        return str(
            client.create_pipeline(
                PipelineName=name,
                PipelineDefinition=body,
                RoleArn=role_arn,
                PipelineDescription=description,
                Tags=tags,
            )["PipelineArn"]
        )
    except client.exceptions.ResourceInUse:
        pass
    except client.exceptions.ClientError as error:
        if "already exists" not in str(error):
            raise
    return str(
        client.update_pipeline(
            PipelineName=name,
            PipelineDefinition=body,
            RoleArn=role_arn,
            PipelineDescription=description,
        )["PipelineArn"]
    )


def wait_for_execution(
    client: Any, execution_arn: str, poll_seconds: float, out: TextIO | None = None
) -> str:
    """Poll until the execution ends, printing each step's status when it changes; return the status."""
    out = out or sys.stdout
    seen: dict[str, str] = {}
    while True:
        steps = client.list_pipeline_execution_steps(
            PipelineExecutionArn=execution_arn, SortOrder="Ascending"
        ).get("PipelineExecutionSteps", [])
        for step in steps:
            name, status = step["StepName"], step["StepStatus"]
            if seen.get(name) != status:
                seen[name] = status
                reason = f": {step['FailureReason']}" if step.get("FailureReason") else ""
                print(f"{time.strftime('%H:%M:%S')} {name}: {status}{reason}", file=out, flush=True)
        execution = client.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
        status = execution["PipelineExecutionStatus"]
        if status not in ("Executing", "Stopping"):
            reason = f": {execution['FailureReason']}" if execution.get("FailureReason") else ""
            print(f"execution {status}{reason}", file=out, flush=True)
            return str(status)
        time.sleep(poll_seconds)


# -- upsert-pipelines -------------------------------------------------------------------------------------


def upsert_pipelines_main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="upsert-pipelines",
        description="Create or update the project's scheduled pipelines in SageMaker "
        "(monitoring for medium/large, batch inference); starts nothing.",
    )
    add_name_arguments(parser)
    add_size_argument(parser)
    args = parser.parse_args(argv)
    config = build_config(args, local=False)
    if not (args.image_uri or os.environ.get("IMAGE_URI")):
        # The schedules start these pipelines without parameters: the image is their default.
        raise UsageError(
            "missing IMAGE_URI (or --image-uri): the image the pipelines run by default"
        )
    kinds = [kind for kind in catalog.available(config) if kind != catalog.MODEL_BUILD]
    definitions = {kind: build_definition(config, kind) for kind in kinds}

    import boto3

    client = boto3.client("sagemaker", region_name=config.region)
    for kind, definition in definitions.items():
        arn = upsert(
            client,
            catalog.pipeline_name(kind, config),
            definition,
            role_arn=config.role_arn,
            description=catalog.DESCRIPTIONS[kind],
            tags=project_tags(config),
        )
        print(f"upserted {arn}")
    if catalog.MONITORING not in kinds:
        print(
            f"no {catalog.MONITORING} pipeline: project size is {config.size!r} (medium/large have it)"
        )
    return 0


# -- run-local --------------------------------------------------------------------------------------------


def run_local_main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="run-local", description="Run the pipeline definition on this machine.")
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
        definition, work, region=config.region, log=lambda line: print(line, flush=True)
    )
    overrides = parse_overrides(args.parameter)
    params = executor.parameters(overrides)
    upload_data(args.data, s3_path(work, params["InputDataUrl"]))
    result = executor.run(overrides, started=started)
    print(summary(result, work))
    if result.status != "Succeeded":
        raise StepFailedError(result.failure or "the run failed")
    print(f"done in {time.perf_counter() - started:.1f}s")
    return 0


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
        reports = sorted((work / "jobs" / step).glob("opt_ml/processing/**/report.html"))
        lines += [f"report: {report}" for report in reports]
    for record in result.registered:
        lines.append(
            f"registered {record['ModelPackageArn']} ({record['ModelApprovalStatus']}) "
            f"in {work / 'registry' / record['ModelPackageGroupName']}"
        )
    return "\n".join(lines)


# -- approve ----------------------------------------------------------------------------------------------


def approve_main(argv: list[str] | None = None) -> int:
    parser = _Parser(
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


# Console-script targets (P/model-build/pyproject.toml).
def main_definition() -> int:
    return run_cli(definition_main)


def main_run_pipeline() -> int:
    return run_cli(run_pipeline_main)


def main_upsert_pipelines() -> int:
    return run_cli(upsert_pipelines_main)


def main_run_local() -> int:
    return run_cli(run_local_main)


def main_approve() -> int:
    return run_cli(approve_main)
