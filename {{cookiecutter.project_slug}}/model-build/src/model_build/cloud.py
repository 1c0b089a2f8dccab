"""The commands that talk to SageMaker: `run-pipeline` (upsert, seed the data, start, wait) and
`upsert-pipelines` (the scheduled pipelines)."""

# boto3 and the SDK load only in the commands that use them.
# ruff: noqa: PLC0415

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from model_build import definitions, pipeline_kinds
from model_build.definitions import project_tags
from model_build.errors import UsageError, UsageParser
from model_build.options import (
    add_name_arguments,
    add_size_argument,
    build_config,
    parse_overrides,
)

# -- run-pipeline -----------------------------------------------------------------------------------------


def run_pipeline_main(argv: list[str] | None = None) -> int:
    parser = UsageParser(
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
        metavar="PATH",
        help="upload PATH (a file, or a folder's files) to the training-data prefix first if that prefix holds no object "
        "(a new project's first run; your own data there is never touched)",
    )
    args = parser.parse_args(argv)
    overrides = parse_overrides(args.parameter)
    config = build_config(args, local=False)
    definition = definitions.build_definition(config)
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
            print(f"seeded {url} from {args.seed_data} (the prefix held no training data)")
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
    """Upload ``source`` (a file, or every file of a folder) below the S3 prefix ``url`` if nothing is
    there yet; True if it did.

    The retraining rule starts a run on every new ``.csv`` object there, and the seed belongs to the
    run about to start: a ``.csv`` file is stored as ``<name>.csv.seed`` (preprocess reads every file
    of the prefix, whatever its suffix), so the seed starts no second run.
    """
    files = sorted(p for p in source.iterdir() if p.is_file()) if source.is_dir() else [source]
    if not source.exists() or not files:
        raise UsageError(f"--seed-data {source}: no such file, or a folder without files")
    if not url.startswith("s3://"):
        raise UsageError(f"InputDataUrl {url!r} is not an s3:// URL")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount", 0):
        return False
    for file in files:
        name = f"{file.name}.seed" if file.suffix.lower() == ".csv" else file.name
        s3.upload_file(str(file), bucket, f"{prefix.rstrip('/')}/{name}".lstrip("/"))
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
    parser = UsageParser(
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
    kinds = [
        kind for kind in pipeline_kinds.available(config) if kind != pipeline_kinds.MODEL_BUILD
    ]
    built = {kind: definitions.build_definition(config, kind) for kind in kinds}

    import boto3

    client = boto3.client("sagemaker", region_name=config.region)
    for kind, definition in built.items():
        arn = upsert(
            client,
            pipeline_kinds.pipeline_name(kind, config),
            definition,
            role_arn=config.role_arn,
            description=pipeline_kinds.DESCRIPTIONS[kind],
            tags=project_tags(config),
        )
        print(f"upserted {arn}")
    if pipeline_kinds.MONITORING not in kinds:
        print(
            f"no {pipeline_kinds.MONITORING} pipeline: project size is {config.size!r} (medium/large have it)"
        )
    return 0
