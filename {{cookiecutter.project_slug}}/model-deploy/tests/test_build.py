"""build-deploy-config against moto: the newest APPROVED package or a clear stop, never 'latest'."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID

from model_deploy.build import (
    BuildError,
    Project,
    StageTarget,
    build,
    main,
    package_examples,
    stage_parameters,
)
from model_deploy.stage_config import load as load_stage_config

HERE = Path(__file__).resolve().parents[1]
GROUP = "demo-models"
PROJECT = Project(slug="Demo-Project", size="large", owner="ml-platform", project_id="p-abc123")
IMAGE = f"{DEFAULT_ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/sagemaker-demo@sha256:" + "a" * 64
ENV = {
    "STAGING_MODEL_EXECUTION_ROLE_ARN": "arn:aws:iam::111111111111:role/demo-model-exec",
    "STAGING_DATA_CAPTURE_URI": "s3://demo-capture-111111111111/staging",
    "PROD_MODEL_EXECUTION_ROLE_ARN": "arn:aws:iam::222222222222:role/demo-model-exec",
    "PROD_DATA_CAPTURE_URI": "s3://demo-capture-222222222222/prod",
    "PROD_KMS_KEY_ARN": "arn:aws:kms:us-east-1:222222222222:key/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7",
}


def no_stack(_stage: str) -> None:
    """No stage deployed yet (the release tests below read real stacks)."""


EXAMPLES = b"Age,Shape,Margin,Density\n67,3,5,3\n43,1,1,\n"


def some_examples(_package_arn: str) -> bytes:
    """The package's example requests (package_examples reads them from S3: tested below)."""
    return EXAMPLES


def add_packages(
    sagemaker: Any, *statuses: str, group: str = GROUP, metadata: dict[str, str] | None = None
) -> list[str]:
    spec = {
        "Containers": [{"Image": IMAGE}],
        "SupportedContentTypes": ["text/csv", "application/json"],
        "SupportedResponseMIMETypes": ["text/csv", "application/json"],
    }
    return [
        sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelApprovalStatus=status,
            InferenceSpecification=spec,
            CustomerMetadataProperties=metadata or {},
        )["ModelPackageArn"]
        for status in statuses
    ]


def _shadow(config_dir: Path, mode: str = "off", version: int | None = None) -> Path:
    """A copy of the user's configs with prod's shadow set (off unless a test says otherwise)."""
    config_dir.mkdir()
    for name in ("staging-config.json", "prod-config.json", "stage-config.schema.json"):
        (config_dir / name).write_text((HERE / name).read_text())
    prod = json.loads((config_dir / "prod-config.json").read_text())
    prod["shadow"].update(mode=mode, model_package_version=version)
    (config_dir / "prod-config.json").write_text(json.dumps(prod))
    return config_dir


def run(
    sagemaker: Any,
    tmp_path: Path,
    group: str = GROUP,
    examples: Callable[[str], bytes] = some_examples,
) -> dict[str, dict[str, Any]]:
    written = build(
        sagemaker,
        group=group,
        project=PROJECT,
        config_dir=_shadow(tmp_path / "configs"),
        out_dir=tmp_path / "out",
        env=ENV,
        live_stacks=no_stack,
        examples=examples,
    )
    return {stage: json.loads(path.read_text()) for stage, path in written.items()}


def test_no_group_is_a_clear_stop(sagemaker: Any, tmp_path: Path) -> None:
    with pytest.raises(
        BuildError, match=r"no approved model package in group 'demo-models': approve"
    ):
        run(sagemaker, tmp_path)
    assert not (tmp_path / "out").exists()


def test_only_pending_packages_is_a_clear_stop(sagemaker: Any, tmp_path: Path) -> None:
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    add_packages(sagemaker, "PendingManualApproval", "Rejected", "PendingManualApproval")
    with pytest.raises(BuildError, match="no approved model package"):
        run(sagemaker, tmp_path)
    assert not (tmp_path / "out").exists()


def test_picks_the_newest_approved_package(sagemaker: Any, tmp_path: Path) -> None:
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arns = add_packages(sagemaker, "Approved", "Approved", "PendingManualApproval", "Rejected")
    documents = run(sagemaker, tmp_path)
    assert set(documents) == {"staging", "prod"}
    for stage, document in documents.items():
        parameters = document["Parameters"]
        assert parameters["ModelPackageArn"] == arns[1]
        assert parameters["StageName"] == stage
        assert (
            parameters["ModelExecutionRoleArn"] == ENV[f"{stage.upper()}_MODEL_EXECUTION_ROLE_ARN"]
        )
        assert parameters["DataCaptureS3Uri"] == ENV[f"{stage.upper()}_DATA_CAPTURE_URI"]
        assert parameters["SageMakerProjectName"] == "demo-project"  # lowercase, as in ARNs
        assert parameters["EnableNetworkIsolation"] == "true"  # large
        assert all(isinstance(value, str) for value in parameters.values())
        assert document["Tags"]["sagemaker:project-id"] == "p-abc123"
        assert document["Tags"]["ModelPackageVersion"] == "2"
    assert documents["prod"]["Parameters"]["VolumeKmsKeyArn"] == ENV["PROD_KMS_KEY_ARN"]
    assert documents["staging"]["Parameters"]["VolumeKmsKeyArn"] == ""


def test_the_approved_packages_examples_are_written_beside_the_configs(
    sagemaker: Any, tmp_path: Path
) -> None:
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arns = add_packages(sagemaker, "Approved", "Approved", "PendingManualApproval")
    asked = []

    def examples(arn: str) -> bytes:
        asked.append(arn)
        return EXAMPLES

    run(sagemaker, tmp_path, examples=examples)
    assert asked == [arns[1]]
    assert (tmp_path / "out" / "examples.csv").read_bytes() == EXAMPLES


def test_package_examples_reads_the_uri_the_package_names(sagemaker: Any, tmp_path: Path) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="artifacts")
    key = "demo-p-abc123/exec1/evaluate/evaluation/examples.csv"
    s3.put_object(Bucket="artifacts", Key=key, Body=EXAMPLES)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    (linked,) = add_packages(
        sagemaker, "Approved", metadata={"endpoint_examples": f"s3://artifacts/{key}"}
    )
    (unlinked,) = add_packages(sagemaker, "Approved")
    (gone,) = add_packages(
        sagemaker, "Approved", metadata={"endpoint_examples": "s3://artifacts/deleted.csv"}
    )
    read = package_examples(sagemaker, s3)
    assert read(linked) == EXAMPLES
    with pytest.raises(
        BuildError,
        match=rf"^model package {unlinked} has no CustomerMetadataProperties.endpoint_examples "
        r"\(an s3:// URI; found ''\): the endpoint tests send",
    ):
        read(unlinked)
    with pytest.raises(BuildError, match=r"^cannot read s3://artifacts/deleted.csv \(endpoint_"):
        read(gone)
    # A package without examples stops the build before any file is written.
    with pytest.raises(BuildError, match=r"has no CustomerMetadataProperties\.endpoint_examples"):
        run(sagemaker, tmp_path, examples=lambda _arn: read(unlinked))
    assert not (tmp_path / "out").exists()


def test_group_arn_of_a_central_registry_account(sagemaker: Any, tmp_path: Path) -> None:
    """medium/large read the registry by group ARN (possibly another account's)."""
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arns = add_packages(sagemaker, "Approved")
    group_arn = f"arn:aws:sagemaker:us-east-1:{DEFAULT_ACCOUNT_ID}:model-package-group/{GROUP}"
    documents = run(sagemaker, tmp_path, group=group_arn)
    assert documents["prod"]["Parameters"]["ModelPackageArn"] == arns[0]


def test_cross_account_package_arn_is_passed_through(tmp_path: Path) -> None:
    """A package owned by the tooling account deploys into a target account unchanged."""

    class CentralRegistry:
        def list_model_packages(self, **request: Any) -> dict[str, Any]:
            assert request["ModelPackageGroupName"].startswith(
                "arn:aws:sagemaker:us-east-1:333333333333:"
            )
            assert request["ModelApprovalStatus"] == "Approved"
            return {
                "ModelPackageSummaryList": [
                    {
                        "ModelPackageArn": "arn:aws:sagemaker:us-east-1:333333333333:model-package/demo-models/7",
                        "ModelPackageVersion": 7,
                    }
                ]
            }

    group = "arn:aws:sagemaker:us-east-1:333333333333:model-package-group/demo-models"
    written = build(
        CentralRegistry(),
        group=group,
        project=PROJECT,
        config_dir=_shadow(tmp_path / "configs"),
        out_dir=tmp_path,
        env=ENV,
        live_stacks=no_stack,
        examples=some_examples,
    )
    prod = json.loads(written["prod"].read_text())["Parameters"]
    assert prod["ModelPackageArn"].endswith(":333333333333:model-package/demo-models/7")
    assert prod["ModelExecutionRoleArn"].startswith("arn:aws:iam::222222222222:")


STAGING_VPC = {
    "STAGING_SUBNET_IDS": "subnet-0a1b2c3d4e5f60718, subnet-1a1b2c3d4e5f60718",
    "STAGING_SECURITY_GROUP_IDS": "sg-0a1b2c3d4e5f60718",
}


def test_each_stage_takes_its_own_accounts_vpc() -> None:
    """Staging in its VPC (ids trimmed), prod in none: each stage's endpoint gets only its own."""
    staging = StageTarget.from_env("staging", {**ENV, **STAGING_VPC})
    assert staging.subnet_ids == "subnet-0a1b2c3d4e5f60718,subnet-1a1b2c3d4e5f60718"
    assert staging.security_group_ids == "sg-0a1b2c3d4e5f60718"
    prod = StageTarget.from_env("prod", {**ENV, **STAGING_VPC})
    assert (prod.subnet_ids, prod.security_group_ids) == ("", "")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"STAGING_SECURITY_GROUP_IDS": ""}, r"^STAGING_SECURITY_GROUP_IDS='': allowed: 1 to 5 "),
        ({"STAGING_SUBNET_IDS": ""}, r"^STAGING_SUBNET_IDS='': allowed: 2 to 16 different ids"),
        # one subnet: a hosted model needs two, in different Availability Zones (host-vpc.html)
        ({"STAGING_SUBNET_IDS": "subnet-0a1b2c3d4e5f60718"}, r"^STAGING_SUBNET_IDS=.*2 to 16"),
        (
            {"STAGING_SUBNET_IDS": "subnet-0a1b2c3d4e5f60718,subnet-0a1b2c3d4e5f60718"},
            r"different ids",
        ),
        ({"STAGING_SECURITY_GROUP_IDS": "default"}, r"^STAGING_SECURITY_GROUP_IDS='default'"),
        ({"STAGING_SECURITY_GROUP_IDS": ",".join(f"sg-0000000{i}" for i in range(6))}, "1 to 5"),
        # the single pair of variables this build read before cannot fit two stages' accounts
        ({"SUBNET_IDS": "subnet-0a1b2c3d4e5f60718"}, r"^SUBNET_IDS=.*STAGING_SUBNET_IDS and PROD_"),
    ],
)
def test_a_malformed_stage_network_is_named_in_one_line(change: dict[str, str], error: str) -> None:
    with pytest.raises(BuildError, match=error) as raised:
        StageTarget.from_env("staging", {**ENV, **STAGING_VPC, **change})
    assert "\n" not in str(raised.value)


def test_missing_target_environment_is_named(sagemaker: Any, tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "PROD_DATA_CAPTURE_URI"}
    with pytest.raises(BuildError, match=r"missing environment variable.*PROD_DATA_CAPTURE_URI"):
        build(
            sagemaker,
            group=GROUP,
            project=PROJECT,
            config_dir=HERE,
            out_dir=tmp_path,
            env=env,
            live_stacks=no_stack,
            examples=some_examples,
        )


def test_an_api_without_its_role_stops_the_build_naming_the_variable(
    sagemaker: Any, tmp_path: Path
) -> None:
    """The API's Lambda role comes from outside the endpoint stack (<STAGE>_API_HANDLER_ROLE_ARN):
    a stage that turns the API on without it stops before anything is written."""
    configs = _shadow(tmp_path / "configs")
    prod = json.loads((configs / "prod-config.json").read_text())
    prod["api"] = {**prod.get("api", {}), "enabled": True}
    (configs / "prod-config.json").write_text(json.dumps(prod))
    out = tmp_path / "out"
    with pytest.raises(
        BuildError, match=r"^prod: api.enabled is true but PROD_API_HANDLER_ROLE_ARN"
    ):
        build(
            sagemaker,
            group=GROUP,
            project=PROJECT,
            config_dir=configs,
            out_dir=out,
            env=ENV,
            live_stacks=no_stack,
            examples=some_examples,
        )
    assert not out.exists()  # checked before the registry is asked (it holds no package yet)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    add_packages(sagemaker, "Approved")
    role = "arn:aws:iam::222222222222:role/demo-project-api-handler"
    written = build(
        sagemaker,
        group=GROUP,
        project=PROJECT,
        config_dir=configs,
        out_dir=out,
        env={**ENV, "PROD_API_HANDLER_ROLE_ARN": role},
        live_stacks=no_stack,
        examples=some_examples,
    )
    parameters = json.loads(written["prod"].read_text())["Parameters"]
    assert (parameters["ApiEnabled"], parameters["ApiHandlerRoleArn"]) == ("true", role)
    staging = json.loads(written["staging"].read_text())["Parameters"]
    assert staging["ApiHandlerRoleArn"] == ""  # the API off needs no role


def _with(config: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    edited = copy.deepcopy(config)
    *parents, leaf = key.split(".")
    node = edited
    for part in parents:
        node = node[part]
    node[leaf] = value
    return edited


def _other(value: Any) -> Any:
    """A value different from ``value`` (the tests run on whatever the user's configs hold)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    return "ml.c5.xlarge" if value != "ml.c5.xlarge" else "ml.m5.large"


@pytest.mark.parametrize(
    ("key", "redeploys"),
    [
        ("instance_type", True),
        ("initial_instance_count", True),
        ("deployment.canary_size_percent", True),
        ("data_capture.sampling_percentage", True),
        # in place: the scalable target, its policy and the alarms update without a new fleet
        ("autoscaling.enabled", False),
        ("autoscaling.max_instances", False),
        ("autoscaling.target_invocations_per_instance", False),
        ("alarms.model_latency_p99_ms", False),
        ("alarms.evaluation_periods", False),
    ],
)
def test_deployment_id_changes_only_with_what_the_fleet_runs(key: str, redeploys: bool) -> None:
    config = load_stage_config(HERE / "prod-config.json")
    node = config
    for part in key.split("."):
        node = node[part]
    value = _other(node)
    target = StageTarget.from_env("prod", ENV)
    package = "arn:aws:sagemaker:us-east-1:1:model-package/g/1"
    first = stage_parameters(config, package, target, PROJECT)
    again = stage_parameters(config, package, target, PROJECT)
    other = stage_parameters(
        config, "arn:aws:sagemaker:us-east-1:1:model-package/g/2", target, PROJECT
    )
    assert first["DeploymentId"] == again["DeploymentId"] != other["DeploymentId"]
    assert len(first["DeploymentId"]) == 8
    edited = stage_parameters(_with(config, key, value), package, target, PROJECT)
    assert edited != first
    assert (edited["DeploymentId"] != first["DeploymentId"]) is redeploys


def _build(sagemaker: Any, tmp_path: Path, mode: str, version: int | None) -> dict[str, Any]:
    config_dir = _shadow(tmp_path / "configs", mode, version)
    written = build(
        sagemaker,
        group=GROUP,
        project=PROJECT,
        config_dir=config_dir,
        out_dir=tmp_path / "out",
        env=ENV,
        live_stacks=no_stack,
        examples=some_examples,
    )
    return {stage: json.loads(path.read_text())["Parameters"] for stage, path in written.items()}


def test_shadow_serves_the_candidate_beside_the_approved_model(
    sagemaker: Any, tmp_path: Path
) -> None:
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arns = add_packages(sagemaker, "Approved", "PendingManualApproval")
    documents = _build(sagemaker, tmp_path, "shadow", 2)
    assert documents["prod"]["ModelPackageArn"] == arns[0]
    assert documents["prod"]["ShadowModelPackageArn"] == arns[1]
    assert documents["staging"]["ShadowModelPackageArn"] == ""  # a prod option


def test_promote_makes_the_candidate_the_production_model(sagemaker: Any, tmp_path: Path) -> None:
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arns = add_packages(sagemaker, "Approved", "Approved", "Approved")
    documents = _build(sagemaker, tmp_path, "promote", 2)
    assert documents["prod"]["ModelPackageArn"] == arns[1]  # not the newest approved (3)
    assert documents["prod"]["ShadowModelPackageArn"] == ""
    assert documents["staging"]["ModelPackageArn"] == arns[2]


@pytest.mark.parametrize(
    ("statuses", "mode", "version", "message"),
    [
        (("Approved", "PendingManualApproval"), "promote", 2, "version 2 is PendingManualApproval"),
        (("Approved", "Rejected"), "shadow", 2, "version 2 is Rejected"),
        (("Approved",), "shadow", 1, "already the production model"),
        (("Approved",), "shadow", 7, "no version 7 in model package group"),
    ],
)
def test_a_shadow_that_cannot_be_served_is_a_clear_stop(
    sagemaker: Any,
    tmp_path: Path,
    *,
    statuses: tuple[str, ...],
    mode: str,
    version: int,
    message: str,
) -> None:
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    add_packages(sagemaker, *statuses)
    with pytest.raises(BuildError, match=message):
        _build(sagemaker, tmp_path, mode, version)
    assert not (tmp_path / "out").exists()


def test_cli_reports_one_line_and_exit_1(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert main(["--model-package-group", GROUP, "--out-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "ERROR: no approved model package in group 'demo-models'"
    )


def test_cli_without_group_names_what_is_missing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODEL_PACKAGE_GROUP_NAME", raising=False)
    assert main([]) == 1
    assert "set MODEL_PACKAGE_GROUP_NAME" in capsys.readouterr().err
