"""Write one CloudFormation template configuration per stage for the newest APPROVED model package.

CodeBuild runs this before the CodePipeline CloudFormation actions; each output file
(``<stage>-config-export.json``) merges the stage's checked knobs with the model package ARN, the
target account's execution role, the data capture location, the KMS key and the project tags. It
never deploys "whatever is latest": without an approved package it stops and says what to do.
Beside them, ``examples.csv``: the example requests registered with that package, which the
endpoint tests send (model-deploy/ci/endpoint-tests.sh).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from model_deploy.release import (
    RELEASE_SUFFIX,
    ReleaseError,
    live_stack,
    release_configuration,
)
from model_deploy.stage_config import StageConfigError
from model_deploy.stage_config import load as load_stage_config
from project_names import Names

STAGES = ("staging", "prod")
# The package's example requests (CustomerMetadataProperties, written by the model-build pipeline's
# Register step) and the file the endpoint tests read beside the stage configurations.
EXAMPLES_KEY = "endpoint_examples"
EXAMPLES_FILE = "examples.csv"
HERE = Path(__file__).resolve().parents[2]
# A stage endpoint's VPC (project.toml [network.<stage>], which the infra sets on the deploy project as
# <STAGE>_SUBNET_IDS and <STAGE>_SECURITY_GROUP_IDS, comma-separated): a hosted model needs at least
# two subnets in different Availability Zones even for one instance
# (https://docs.aws.amazon.com/sagemaker/latest/dg/host-vpc.html); VpcConfig takes at most 16 subnets
# and 5 security groups (botocore's SageMaker model).
VPC_IDS = {
    "SUBNET_IDS": (re.compile(r"subnet-[0-9a-f]{8,17}"), 2, 16),
    "SECURITY_GROUP_IDS": (re.compile(r"sg-[0-9a-f]{8,17}"), 1, 5),
}


class BuildError(RuntimeError):
    """Something the deploy build cannot go on without; the message says what to do."""


@dataclass(frozen=True)
class Project:
    slug: str
    size: str
    owner: str
    project_id: str

    @classmethod
    def from_file(cls, path: Path, project_id: str) -> Project:
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
            return cls(table["slug"], table["size"], table["owner"], project_id)
        except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError) as error:
            raise BuildError(f"{path}: cannot read [project] slug/size/owner: {error}") from error


@dataclass(frozen=True)
class StageTarget:
    """Where a stage deploys: set per account by the infra stack (environment) or by hand."""

    role_arn: str
    data_capture_uri: str
    kms_key_arn: str = ""
    # The stage API's Lambda role, made outside the endpoint stack (README "API front door").
    api_role_arn: str = ""
    subnet_ids: str = ""
    security_group_ids: str = ""

    @classmethod
    def from_env(cls, stage: str, env: Mapping[str, str]) -> StageTarget:
        prefix = stage.upper()
        missing = [
            name
            for name in (f"{prefix}_MODEL_EXECUTION_ROLE_ARN", f"{prefix}_DATA_CAPTURE_URI")
            if not env.get(name)
        ]
        if missing:
            raise BuildError(
                f"missing environment variable(s) {', '.join(missing)}: the infra stack sets them on "
                "the deploy CodeBuild project; set them by hand for a manual run"
            )
        subnets, groups = stage_network(stage, env)
        return cls(
            role_arn=env[f"{prefix}_MODEL_EXECUTION_ROLE_ARN"],
            data_capture_uri=env[f"{prefix}_DATA_CAPTURE_URI"],
            kms_key_arn=env.get(f"{prefix}_KMS_KEY_ARN", ""),
            api_role_arn=env.get(f"{prefix}_API_HANDLER_ROLE_ARN", ""),
            subnet_ids=subnets,
            security_group_ids=groups,
        )


def stage_network(stage: str, env: Mapping[str, str]) -> tuple[str, str]:
    """The stage endpoint's subnets and security groups, checked (both blank: no VPC)."""
    for shared in VPC_IDS:
        if env.get(shared):
            raise BuildError(
                f"{shared}={env[shared]!r}: one VPC cannot fit two stages (or two accounts); allowed: "
                f"STAGING_{shared} and PROD_{shared} (project.toml [network.staging] / [network.prod])"
            )
    prefix = stage.upper()
    given = {f"{prefix}_{name}": env.get(f"{prefix}_{name}", "") for name in VPC_IDS}
    if not any(given.values()):
        return "", ""
    checked = []
    for (variable, value), (pattern, low, high) in zip(
        given.items(), VPC_IDS.values(), strict=True
    ):
        ids = [part.strip() for part in value.split(",")]
        bad = [i for i in ids if not pattern.fullmatch(i)]
        if bad or not low <= len(ids) <= high or len(set(ids)) != len(ids):
            raise BuildError(
                f"{variable}={value!r}: allowed: {low} to {high} different ids like "
                f"{pattern.pattern.split('-')[0]}-0123abcd, comma-separated; "
                f"{' and '.join(given)} go together (both blank: no VPC)"
            )
        checked.append(",".join(ids))
    return checked[0], checked[1]


def latest_approved_package(sagemaker: Any, group: str) -> dict[str, Any]:
    """The newest Approved package of ``group`` (a name, or an ARN for a central registry)."""
    try:
        response = sagemaker.list_model_packages(
            ModelPackageGroupName=group,
            ModelApprovalStatus="Approved",
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=1,
        )
    except ClientError as error:
        raise BuildError(f"cannot list model packages of group {group!r}: {error}") from error
    except BotoCoreError as error:
        raise BuildError(f"cannot reach SageMaker to list group {group!r}: {error}") from error
    packages = response.get("ModelPackageSummaryList", [])
    if not packages:
        raise BuildError(
            f"no approved model package in group {group!r}: approve one in SageMaker Studio "
            "(Models > Registered models) or with `aws sagemaker update-model-package "
            "--model-package-arn <arn> --model-approval-status Approved`, then rerun the deploy pipeline"
        )
    return packages[0]


def package_examples(sagemaker: Any, s3: Any) -> Callable[[str], bytes]:
    """Reads a package's example requests: the S3 object its ``endpoint_examples`` metadata names."""

    def read(package_arn: str) -> bytes:
        try:
            described = sagemaker.describe_model_package(ModelPackageName=package_arn)
        except (ClientError, BotoCoreError) as error:
            raise BuildError(f"cannot describe model package {package_arn}: {error}") from error
        uri = described.get("CustomerMetadataProperties", {}).get(EXAMPLES_KEY, "")
        match = re.fullmatch(r"s3://([^/]+)/(.+)", uri)
        if not match:
            raise BuildError(
                f"model package {package_arn} has no CustomerMetadataProperties.{EXAMPLES_KEY} "
                f"(an s3:// URI; found {uri!r}): the endpoint tests send the example requests the "
                "model-build pipeline registers with each package; run that pipeline again and "
                "approve its package"
            )
        try:
            return bytes(s3.get_object(Bucket=match[1], Key=match[2])["Body"].read())
        except (ClientError, BotoCoreError) as error:
            raise BuildError(
                f"cannot read {uri} ({EXAMPLES_KEY} of {package_arn}): {error}"
            ) from error

    return read


def package_version(sagemaker: Any, group: str, version: int) -> dict[str, Any]:
    """The package ``version`` of ``group`` (any approval status), or a clear stop."""
    try:
        pages = sagemaker.get_paginator("list_model_packages").paginate(
            ModelPackageGroupName=group, SortBy="CreationTime", SortOrder="Descending"
        )
        for page in pages:
            for package in page.get("ModelPackageSummaryList", []):
                if package.get("ModelPackageVersion") == version:
                    return dict(package)
    except (ClientError, BotoCoreError) as error:
        raise BuildError(f"cannot list model packages of group {group!r}: {error}") from error
    raise BuildError(
        f"shadow.model_package_version: no version {version} in model package group {group!r}"
    )


def shadow_choice(
    config: Mapping[str, Any], approved: Mapping[str, Any], sagemaker: Any, group: str
) -> tuple[dict[str, Any], str]:
    """(production package, shadow package ARN or "") for the stage's ``shadow`` setting."""
    shadow = config.get("shadow") or {"mode": "off"}
    if shadow["mode"] == "off":
        return dict(approved), ""
    candidate = package_version(sagemaker, group, shadow["model_package_version"])
    status = candidate.get("ModelApprovalStatus", "")
    version = shadow["model_package_version"]
    if shadow["mode"] == "promote":
        if status != "Approved":
            raise BuildError(
                f"shadow.mode promote: version {version} is {status or 'not approved'}; approve it "
                "first (only an Approved package serves production traffic)"
            )
        return candidate, ""
    if status == "Rejected":
        raise BuildError(
            f"shadow: version {version} is Rejected; pick another candidate or mode off"
        )
    if candidate["ModelPackageArn"] == approved["ModelPackageArn"]:
        raise BuildError(
            f"shadow: version {version} is already the production model (the newest Approved); "
            "set shadow.mode to off"
        )
    return dict(approved), str(candidate["ModelPackageArn"])


# Knobs of resources that CloudFormation updates in place (scalable target, scaling policy,
# alarms): they stay out of DeploymentId, so changing one never starts a blue/green deployment.
IN_PLACE = frozenset(
    {
        "AutoscalingEnabled",
        "MinInstances",
        "MaxInstances",
        "TargetInvocationsPerInstance",
        "ScaleInCooldownSeconds",
        "ScaleOutCooldownSeconds",
        "ModelLatencyP99Microseconds",
        "Invocation5xxThreshold",
        "ModelErrorsThreshold",
        "AlarmEvaluationPeriods",
        # The API front door: resources beside the endpoint that nothing of the fleet refers to.
        *("ApiEnabled", "ApiThrottleRateLimit", "ApiThrottleBurstLimit", "ApiMaxBodyBytes"),
        "ApiHandlerRoleArn",
    }
)
# Stage configs without an `api` block get no API (the schema makes the block optional): the
# template's own defaults (tests/test_endpoint_template.py holds them equal).
API_OFF = {
    "enabled": False,
    "throttle_rate_limit": 50,
    "throttle_burst_limit": 100,
    "max_body_bytes": 1000000,
}


def check_api_role(config: Mapping[str, Any], target: StageTarget) -> None:
    """A stage with the API on needs its Lambda role, which the endpoint stack does not create."""
    if (config.get("api") or API_OFF)["enabled"] and not target.api_role_arn:
        stage = config["stage"]
        raise BuildError(
            f"{stage}: api.enabled is true but {stage.upper()}_API_HANDLER_ROLE_ARN is not set: the "
            "infra stack sets it on the deploy CodeBuild project; set it by hand for a manual run, "
            "or set api.enabled to false"
        )


def stage_parameters(
    config: Mapping[str, Any],
    package_arn: str,
    target: StageTarget,
    project: Project,
    shadow_arn: str = "",
) -> dict[str, str]:
    """The endpoint template's parameters for one stage, as the strings CloudFormation expects."""
    scaling, deployment = config["autoscaling"], config["deployment"]
    alarms, capture = config["alarms"], config["data_capture"]
    shadow = config.get("shadow") or {}
    api = config.get("api") or API_OFF
    check_api_role(config, target)
    parameters = {
        "SageMakerProjectName": Names(project.slug, project.project_id).endpoint_prefix,
        "StageName": config["stage"],
        "ModelPackageArn": package_arn,
        "ModelExecutionRoleArn": target.role_arn,
        "EnableNetworkIsolation": "true" if project.size == "large" else "false",
        "SubnetIds": target.subnet_ids,
        "SecurityGroupIds": target.security_group_ids,
        "VolumeKmsKeyArn": target.kms_key_arn,
        "DataCaptureKmsKeyArn": target.kms_key_arn,
        "InstanceType": config["instance_type"],
        "InitialInstanceCount": config["initial_instance_count"],
        "ShadowModelPackageArn": shadow_arn,
        "ShadowInstanceType": shadow["instance_type"] if shadow_arn else config["instance_type"],
        "ShadowInstanceCount": shadow.get("instance_count", 1) if shadow_arn else 1,
        "AutoscalingEnabled": "true" if scaling["enabled"] else "false",
        "MinInstances": scaling["min_instances"],
        "MaxInstances": scaling["max_instances"],
        "TargetInvocationsPerInstance": scaling["target_invocations_per_instance"],
        "ScaleInCooldownSeconds": scaling["scale_in_cooldown_seconds"],
        "ScaleOutCooldownSeconds": scaling["scale_out_cooldown_seconds"],
        "TrafficRoutingType": deployment["traffic_routing"],
        "CanarySizePercent": deployment["canary_size_percent"],
        "LinearStepPercent": deployment["linear_step_percent"],
        "WaitIntervalSeconds": deployment["wait_interval_seconds"],
        "TerminationWaitSeconds": deployment["termination_wait_seconds"],
        "MaximumExecutionTimeoutSeconds": deployment["maximum_execution_timeout_seconds"],
        "DataCaptureEnabled": "true" if capture["enabled"] else "false",
        "DataCaptureSamplingPercentage": capture["sampling_percentage"],
        "DataCaptureS3Uri": target.data_capture_uri,
        "ModelLatencyP99Microseconds": round(alarms["model_latency_p99_ms"] * 1000),
        "Invocation5xxThreshold": alarms["invocation_5xx_errors"],
        "ModelErrorsThreshold": alarms["model_errors"],
        "AlarmEvaluationPeriods": alarms["evaluation_periods"],
        "ApiEnabled": "true" if api["enabled"] else "false",
        "ApiThrottleRateLimit": api["throttle_rate_limit"],
        "ApiThrottleBurstLimit": api["throttle_burst_limit"],
        "ApiMaxBodyBytes": api["max_body_bytes"],
        "ApiHandlerRoleArn": target.api_role_arn,
    }
    as_text = {key: str(value) for key, value in parameters.items()}
    deployed = {key: value for key, value in as_text.items() if key not in IN_PLACE}
    digest = hashlib.sha256(json.dumps(deployed, sort_keys=True).encode()).hexdigest()
    return {**as_text, "DeploymentId": digest[:8]}


def template_configuration(
    config: Mapping[str, Any],
    package: Mapping[str, Any],
    target: StageTarget,
    project: Project,
    shadow_arn: str = "",
) -> dict[str, Any]:
    """A CodePipeline CloudFormation TemplateConfiguration document for one stage."""
    tags = {
        "sagemaker:project-name": project.slug,
        "Project": project.slug,
        "Stage": config["stage"],
        "Owner": project.owner,
        "ModelPackageVersion": str(package.get("ModelPackageVersion", "")),
    }
    if project.project_id:
        tags["sagemaker:project-id"] = project.project_id
    return {
        "Parameters": stage_parameters(
            config, package["ModelPackageArn"], target, project, shadow_arn
        ),
        "Tags": tags,
    }


def build(
    sagemaker: Any,
    *,
    group: str,
    project: Project,
    config_dir: Path,
    out_dir: Path,
    env: Mapping[str, str],
    live_stacks: Callable[[str], Mapping[str, Any] | None],
    examples: Callable[[str], bytes],
    stages: Sequence[str] = STAGES,
) -> dict[str, Path]:
    """Check every stage first, then write every file: a bad stage leaves no half-written output.

    Per stage: ``<stage>-config-export.json`` (the deploy) and ``<stage>-release-export.json`` (the
    release action before it, model_deploy.release); ``live_stacks(stage)`` is the stage's live
    stack (model_deploy.release.live_stack) or None. Once: ``examples.csv``, ``examples(arn)`` of
    the approved package (package_examples).
    """
    configs = {stage: load_stage_config(config_dir / f"{stage}-config.json") for stage in stages}
    targets = {stage: StageTarget.from_env(stage, env) for stage in stages}
    for stage in stages:
        check_api_role(configs[stage], targets[stage])
    approved = latest_approved_package(sagemaker, group)
    documents: dict[str, dict[str, Any]] = {}
    for stage in stages:
        package, shadow_arn = shadow_choice(configs[stage], approved, sagemaker, group)
        document = template_configuration(
            configs[stage], package, targets[stage], project, shadow_arn
        )
        release, why = release_configuration(live_stacks(stage), document)
        print(f"{stage}: {why}")
        documents[f"{stage}-config-export.json"] = document
        documents[f"{stage}{RELEASE_SUFFIX}"] = release
    requests = examples(approved["ModelPackageArn"])
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / EXAMPLES_FILE).write_bytes(requests)
    written = {}
    for file_name, document in documents.items():
        path = out_dir / file_name
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        if file_name.endswith("-config-export.json"):
            written[file_name.split("-", 1)[0]] = path
    print(f"model package {approved['ModelPackageArn']} -> {', '.join(map(str, written.values()))}")
    return written


def stack_reader(
    project: Project, env: Mapping[str, str]
) -> Callable[[str], Mapping[str, Any] | None]:
    """Reads each stage's live stack: ``<STAGE>_STACK_NAME`` (the infra stack sets it; default the
    project's name for it) through ``<STAGE>_PIPELINE_ACTION_ROLE_ARN`` when the stage is in
    another account (that role may describe the stage's stack), else with the build's own role."""

    def read(stage: str) -> Mapping[str, Any] | None:
        prefix = stage.upper()
        name = env.get(f"{prefix}_STACK_NAME") or Names(
            project.slug, project.project_id
        ).deploy_stack(stage)
        role = env.get(f"{prefix}_PIPELINE_ACTION_ROLE_ARN", "")
        try:
            session = boto3.Session()
            if role:
                credentials = session.client("sts").assume_role(
                    RoleArn=role, RoleSessionName=f"read-{stage}-stack"
                )["Credentials"]
                session = boto3.Session(
                    aws_access_key_id=credentials["AccessKeyId"],
                    aws_secret_access_key=credentials["SecretAccessKey"],
                    aws_session_token=credentials["SessionToken"],
                )
            return live_stack(session.client("cloudformation"), name)
        except (ClientError, BotoCoreError) as error:
            raise BuildError(
                f"cannot read the {stage} stack {name!r} as {role}: {error}"
            ) from error
        except ReleaseError as error:
            raise BuildError(str(error)) from error

    return read


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build-deploy-config", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model-package-group",
        default=os.environ.get("MODEL_PACKAGE_GROUP_NAME", ""),
        help="group name, or its ARN in a central registry account (env MODEL_PACKAGE_GROUP_NAME)",
    )
    parser.add_argument("--project-file", type=Path, default=HERE.parent / "project.toml")
    parser.add_argument("--config-dir", type=Path, default=HERE)
    parser.add_argument("--out-dir", type=Path, default=Path("build"))
    parser.add_argument("--stage", action="append", choices=STAGES, help="default: every stage")
    args = parser.parse_args(argv)
    try:
        if not args.model_package_group:
            raise BuildError(
                "no model package group: pass --model-package-group or set MODEL_PACKAGE_GROUP_NAME"
            )
        project = Project.from_file(args.project_file, os.environ.get("SAGEMAKER_PROJECT_ID", ""))
        sagemaker = boto3.client("sagemaker")
        build(
            sagemaker,
            group=args.model_package_group,
            project=project,
            config_dir=args.config_dir,
            out_dir=args.out_dir,
            env=os.environ,
            live_stacks=stack_reader(project, os.environ),
            examples=package_examples(sagemaker, boto3.client("s3")),
            stages=tuple(args.stage or STAGES),
        )
    except (BuildError, StageConfigError) as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
