"""Where the CLIs get names from: arguments, then the environment CodeBuild sets, then project.toml."""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from model_build.config import SIZES, PipelineConfig
from model_build.errors import UsageError
from model_build.offline import OFFLINE_ROLE_ARN

# argument dest -> environment variable (the names CodeBuild sets in the project's build project)
ENVIRONMENT = {
    "project_name": "SAGEMAKER_PROJECT_NAME",
    "project_id": "SAGEMAKER_PROJECT_ID",
    "bucket": "ARTIFACT_BUCKET",
    "role_arn": "SAGEMAKER_PIPELINE_ROLE_ARN",
    "region": "AWS_REGION",
    "image_uri": "IMAGE_URI",
    # The project's KMS key: encrypts every job's volumes and outputs (unset: left out, as locally).
    "kms_key_arn": "KMS_KEY_ARN",
    # The jobs' VPC (large): comma-separated private subnet ids and security group ids; both or
    # neither (unset: the jobs run outside a VPC, as locally).
    "job_subnet_ids": "JOB_SUBNET_IDS",
    "job_security_group_ids": "JOB_SECURITY_GROUP_IDS",
}
# The build's MLflow settings. MLFLOW_TRACKING_URI set (a SageMaker MLflow App's ARN, which the infra
# gives medium and large projects): the definition gets the Track and LinkRun steps, with it as the
# MlflowTrackingUri parameter's default and the others in their environment
# (model_container.tracking reads them).
TRACKING_VARIABLES = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "SOURCE_GIT_REPOSITORY",
    "SOURCE_GIT_BRANCH",
    "SOURCE_GIT_COMMIT",
)
_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
# What the build was built from (SOURCE_GIT_*, set by the build); each goes into the model package's
# CustomerMetadataProperties, whose values are up to 256 letters, digits, spaces and _.:/=+-@
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackage.html).
SOURCE_VARIABLES = ("SOURCE_GIT_REPOSITORY", "SOURCE_GIT_BRANCH", "SOURCE_GIT_COMMIT")
_METADATA_VALUE = re.compile(r"^[\w .:/=+\-@]{1,256}$")
_KMS_KEY = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-zA-Z0-9-]{1,128}$")
_SUBNETS = re.compile(r"^subnet-[0-9a-f]{8,17}(,subnet-[0-9a-f]{8,17}){0,15}$")  # VpcConfig: 1-16
_SECURITY_GROUPS = re.compile(r"^sg-[0-9a-f]{8,17}(,sg-[0-9a-f]{8,17}){0,4}$")  # VpcConfig: 1-5


def add_name_arguments(parser: argparse.ArgumentParser) -> None:
    """The naming options every command shares (each falls back to its environment variable)."""
    for dest, variable in ENVIRONMENT.items():
        parser.add_argument(f"--{dest.replace('_', '-')}", dest=dest, help=f"default: ${variable}")
    parser.add_argument("--model-package-group", help="default: <project-name>-<project-id>")
    parser.add_argument("--pipeline-name", help="default: <project-name>-<project-id>-model-build")
    parser.add_argument(
        "--input-data-url", help="default: s3://<bucket>/<project-name>-<project-id>/data/raw/"
    )


def add_size_argument(parser: argparse.ArgumentParser) -> None:
    """``--size``: which pipelines the project has (monitoring only for medium and large)."""
    parser.add_argument(
        "--size", choices=SIZES, help="default: project.toml [project] size, else small"
    )


def parse_overrides(items: list[str] | None) -> dict[str, str]:
    """``["Name=Value", ...]`` -> ``{"Name": "Value"}`` with a clear error for anything else."""
    overrides = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--parameter {item!r}: expected Name=Value")
        overrides[name.strip()] = value
    return overrides


def find_project_toml(start: Path | None = None) -> Path | None:
    """The nearest ``project.toml`` in ``start`` or a parent folder (the baked project's root)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "project.toml").is_file():
            return folder / "project.toml"
    return None


def project_defaults(path: Path | None) -> dict[str, str]:
    """Names, size and instance types from project.toml (``[project] slug, region, size``,
    ``[instances]``)."""
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"{path}: not readable TOML ({error})") from None
    wanted = {
        "project_name": ("project", "slug"),
        "region": ("project", "region"),
        "size": ("project", "size"),
        "processing_instance_type": ("instances", "processing"),
        "training_instance_type": ("instances", "training"),
    }
    found = {}
    for key, (table, name) in wanted.items():
        value = data.get(table, {}).get(name) if isinstance(data.get(table), dict) else None
        if isinstance(value, str) and value.strip():
            found[key] = value.strip()
    return found


def build_config(
    args: argparse.Namespace, *, local: bool, env: Mapping[str, str] | None = None
) -> PipelineConfig:
    """Resolve every name; for cloud commands all of them are required, locally they have defaults."""
    env = os.environ if env is None else env
    values: dict[str, str | None] = {
        dest: getattr(args, dest, None) or env.get(var) or None for dest, var in ENVIRONMENT.items()
    }
    if not values["region"]:
        values["region"] = env.get("AWS_DEFAULT_REGION") or None
    toml = find_project_toml()
    from_file = project_defaults(toml)
    for key in ("project_name", "region"):
        values[key] = values[key] or from_file.get(key)
    if local:
        values["project_name"] = values["project_name"] or "local-project"
        values["project_id"] = values["project_id"] or "local"
        values["bucket"] = values["bucket"] or "local-artifacts"
        values["role_arn"] = values["role_arn"] or OFFLINE_ROLE_ARN
        values["region"] = values["region"] or "us-east-1"
    missing = [
        f"{ENVIRONMENT[dest]} (or --{dest.replace('_', '-')})"
        for dest in ("project_name", "project_id", "bucket", "role_arn", "region")
        if not values[dest]
    ]
    if missing:
        raise UsageError("missing " + ", ".join(missing))
    checks = [
        ("role_arn", _ROLE, "an IAM role ARN like arn:aws:iam::123456789012:role/name"),
        ("bucket", _BUCKET, "an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)"),
        ("region", _REGION, "an AWS region like eu-west-1"),
    ]
    if values["kms_key_arn"]:
        example = "a KMS key ARN like arn:aws:kms:eu-west-1:123456789012:key/<key id>"
        checks.append(("kms_key_arn", _KMS_KEY, example))
    checks += _vpc_checks(values)
    for dest, pattern, expected in checks:
        if not pattern.match(str(values[dest])):
            raise UsageError(f"{ENVIRONMENT[dest]}={values[dest]!r} is not {expected}")
    extra = {
        key: getattr(args, key)
        for key in ("model_package_group", "pipeline_name", "input_data_url")
        if getattr(args, key, None)
    }
    for key in ("image_uri", "kms_key_arn"):
        if values[key]:
            extra[key] = values[key]
    if values["job_subnet_ids"]:
        extra["job_subnets"] = tuple(str(values["job_subnet_ids"]).split(","))
        extra["job_security_groups"] = tuple(str(values["job_security_group_ids"]).split(","))
    extra.update(_from_build(env, local=local))
    for key in ("processing_instance_type", "training_instance_type"):
        if key in from_file:
            extra[key] = from_file[key]
    extra["size"] = _size(getattr(args, "size", None), from_file.get("size"), toml)
    return PipelineConfig(
        region=str(values["region"]),
        role_arn=str(values["role_arn"]),
        bucket=str(values["bucket"]),
        project_name=str(values["project_name"]),
        project_id=str(values["project_id"]),
        **extra,
    )


def _from_build(env: Mapping[str, str], *, local: bool) -> dict[str, Any]:
    """PipelineConfig's tracking and source fields. Locally the definition always tracks: run-local
    sets MlflowTrackingUri (a file store under its work folder unless MLFLOW_TRACKING_URI says
    otherwise), gives the steps the rest, and records the folder's commit in the package itself."""
    if local:
        return {"tracking": True}
    if not env.get("MLFLOW_TRACKING_URI"):
        return {"source_git": source_git(env)}
    return {
        "source_git": source_git(env),
        "tracking": True,
        "tracking_uri": env["MLFLOW_TRACKING_URI"],
        "tracking_environment": tracking_environment(env),
    }


def source_git(env: Mapping[str, str]) -> dict[str, str]:
    """The model package's ``source_git_*`` metadata from the build's SOURCE_GIT_* variables."""
    found = {}
    for name in SOURCE_VARIABLES:
        value = env.get(name, "")
        if not value:
            continue
        if not _METADATA_VALUE.match(value):
            raise UsageError(
                f"{name}={value!r} cannot be model package metadata; allowed: up to 256 letters, "
                "digits, spaces and _.:/=+-@"
            )
        found[name.lower()] = value
    return found


def tracking_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The Track and LinkRun steps' MLflow variables besides the URI (TRACKING_VARIABLES) when the
    build sets MLFLOW_TRACKING_URI; else none."""
    if not env.get("MLFLOW_TRACKING_URI"):
        return {}
    return {name: env[name] for name in TRACKING_VARIABLES[1:] if env.get(name)}


def _vpc_checks(values: Mapping[str, str | None]) -> list[tuple[str, re.Pattern[str], str]]:
    """The jobs' VPC: JOB_SUBNET_IDS and JOB_SECURITY_GROUP_IDS both set (then checked) or neither."""
    if bool(values["job_subnet_ids"]) != bool(values["job_security_group_ids"]):
        raise UsageError(
            f"{ENVIRONMENT['job_subnet_ids']} and {ENVIRONMENT['job_security_group_ids']} go "
            "together: set both (the jobs' VPC) or neither"
        )
    if not values["job_subnet_ids"]:
        return []
    return [
        ("job_subnet_ids", _SUBNETS, "1-16 subnet ids like subnet-0123abcd,..."),
        ("job_security_group_ids", _SECURITY_GROUPS, "1-5 security group ids like sg-0123abcd,..."),
    ]


def _size(given: str | None, from_file: str | None, path: Path | None) -> str:
    """``--size``, else project.toml's ``[project] size``, else small; a value outside SIZES fails."""
    if given:
        return given
    if from_file is None:
        return "small"
    if from_file not in SIZES:
        raise UsageError(f"{path}: [project] size {from_file!r} is not one of {', '.join(SIZES)}")
    return from_file
