"""Resolve a definition's job steps into the requests SageMaker would send, and check them with botocore.

botocore's ParamValidator checks types, required members and minimums; it leaves out the maximum
lengths and patterns its own service model declares (a 64-character model name passes it), so
:func:`request_errors` checks those from the same model as well.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.validate import ParamValidator

from model_build.local.resolve import Context, resolve
from tests.conftest import all_steps

# step type -> (operation, the job name member the service fills in; the SDK pops it)
REQUESTS = {
    "Processing": ("CreateProcessingJob", "ProcessingJobName"),
    "Training": ("CreateTrainingJob", "TrainingJobName"),
    "RegisterModel": ("CreateModelPackage", None),
    "Transform": ("CreateTransformJob", "TransformJobName"),
}
EXECUTION = {
    "PipelineExecutionId": "abcdef123456",
    "PipelineName": "p",
    "PipelineExecutionArn": "arn:aws:sagemaker:eu-west-1:111122223333:pipeline/p/execution/abcdef123456",
}


def simulate(
    definition: dict[str, Any],
    property_files: dict[str, dict[str, Any]] | None = None,
    parameters: dict[str, Any] | None = None,
) -> list[tuple[str, str, dict[str, Any]]]:
    """Resolve every job step's Arguments as an execution would, with stand-in step properties.

    ``property_files`` stands in for what the steps write (step -> property file name -> JSON).
    """
    params = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    ctx = Context(
        parameters={**params, **(parameters or {})},
        execution=dict(EXECUTION),
        # The Track step's run id (with tracking), unless the caller gives its own.
        property_files={
            "Track": {"TrackingRun": {"run_id": "0123456789abcdef"}},
            **(property_files or {}),
        },
    )
    resolved = []
    for step in all_steps(definition["Steps"]):
        if step["Type"] not in REQUESTS:
            continue
        args = resolve(step["Arguments"], ctx)
        if step["Type"] == "Training":
            model = f"{args['OutputDataConfig']['S3OutputPath']}/job/output/model.tar.gz"
            ctx.steps[step["Name"]] = {
                **args,
                "TrainingJobName": "job",
                "ModelArtifacts": {"S3ModelArtifacts": model},
            }
        elif step["Type"] == "RegisterModel":
            arn = "arn:aws:sagemaker:eu-west-1:111122223333:model-package/group/1"
            ctx.steps[step["Name"]] = {**args, "ModelPackageArn": arn}
        else:
            ctx.steps[step["Name"]] = args
        resolved.append((step["Name"], step["Type"], args))
    return resolved


@cache
def _service() -> Any:
    return botocore.session.get_session().get_service_model("sagemaker")


def request_errors(name: str, kind: str, args: dict[str, Any]) -> str:
    """Everything botocore's model finds wrong with step ``name``'s request ('' when it is valid)."""
    operation, job_name_field = REQUESTS[kind]
    request = dict(args)
    if job_name_field:
        request[job_name_field] = f"pipelines-abc-{name}"
    shape = _service().operation_model(operation).input_shape
    report = ParamValidator().validate(request, shape)
    problems = [report.generate_report()] if report.has_errors() else []
    problems += _limits(request, shape, operation)
    return "\n".join(problems)


def operation_errors(operation: str, request: dict[str, Any]) -> str:
    """What botocore's model finds wrong with a ``operation`` request a container sends ('' if valid)."""
    shape = _service().operation_model(operation).input_shape
    report = ParamValidator().validate(request, shape)
    problems = [report.generate_report()] if report.has_errors() else []
    return "\n".join(problems + _limits(request, shape, operation))


def _limits(value: Any, shape: Shape, where: str) -> list[str]:
    """Maximum lengths/sizes and string patterns of the service model, which ParamValidator skips."""
    found: list[str] = []
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                found += _limits(item, shape.members[key], f"{where}.{key}")
    elif isinstance(shape, ListShape) and isinstance(value, list):
        found += _too_long(len(value), shape, where, "items")
        for index, item in enumerate(value):
            found += _limits(item, shape.member, f"{where}[{index}]")
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        found += _too_long(len(value), shape, where, "entries")
        for key, item in value.items():
            found += _limits(key, shape.key, f"{where} key {key!r}")
            found += _limits(item, shape.value, f"{where}[{key!r}]")
    elif shape.type_name == "string" and isinstance(value, str):
        found += _too_long(len(value), shape, where, "characters")
        pattern = _pattern(shape.metadata.get("pattern"))
        if pattern is not None and not pattern.fullmatch(value):
            found.append(f"{where}: {value!r} does not match {pattern.pattern!r}")
    return found


def _too_long(size: int, shape: Shape, where: str, unit: str) -> list[str]:
    limit = shape.metadata.get("max")
    return (
        [f"{where}: {size} {unit}, at most {limit}"] if limit is not None and size > limit else []
    )


@cache
def _pattern(text: str | None) -> re.Pattern[str] | None:
    # The model's patterns are Java regular expressions; the few Python cannot compile are skipped.
    if not text:
        return None
    try:
        return re.compile(text)
    except re.error:
        return None
