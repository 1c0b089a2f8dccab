"""Console scripts: names from args/env, one-line errors, upsert/start and approval against moto."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from model_build import cloud, definitions, errors, options
from model_build.errors import run_cli
from model_build.local import commands, registry
from model_build.pipeline import get_definition
from tests.botocore_requests import simulate
from tests.conftest import CONFIG, LOCAL_NAMES, NAME_ENV


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no project.toml above tmp_path
    for key, value in NAME_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def cached_definition(monkeypatch: pytest.MonkeyPatch, definition: dict[str, Any]) -> None:
    # Building it again costs seconds; the session fixture is the same build with the same names.
    monkeypatch.setattr(
        definitions, "build_definition", lambda config: json.loads(json.dumps(definition))
    )


def test_missing_names_are_listed_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for key in [*NAME_ENV, "AWS_DEFAULT_REGION"]:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ARTIFACT_BUCKET", "artifact-bucket")
    assert run_cli(cloud.run_pipeline_main, []) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: missing SAGEMAKER_PROJECT_NAME (or --project-name), SAGEMAKER_PROJECT_ID (or --project-id), "
        "SAGEMAKER_PIPELINE_ROLE_ARN (or --role-arn), AWS_REGION (or --region)\n"
    )


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--role-arn", "role", "SAGEMAKER_PIPELINE_ROLE_ARN='role' is not an IAM role ARN"),
        ("--bucket", "Bad_Bucket", "ARTIFACT_BUCKET='Bad_Bucket' is not an S3 bucket name"),
        ("--region", "mars", "AWS_REGION='mars' is not an AWS region"),
    ],
)
def test_bad_names_are_rejected(
    names: None, capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    assert run_cli(definitions.definition_main, [flag, value]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1


def test_bad_parameter_override(
    names: None, cached_definition: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(cloud.run_pipeline_main, ["-p", "Nope=1"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown parameter 'Nope'; defined: ")
    assert run_cli(cloud.run_pipeline_main, ["-p", "novalue"]) == 2
    assert capsys.readouterr().err == "error: --parameter 'novalue': expected Name=Value\n"


def test_unknown_option_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(commands.run_local_main, ["--frobnicate"]) == 2
    assert capsys.readouterr().err == "error: run-local: unrecognized arguments: --frobnicate\n"


def test_project_toml_gives_local_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "project.toml").write_text(
        '[project]\nslug = "my-proj"  # the SageMaker project name\nregion = "ap-southeast-2"\n'
        '[instances]\nprocessing = "ml.c5.xlarge"\ntraining = "ml.m5.2xlarge"\n'
    )
    (tmp_path / "model-build").mkdir()
    monkeypatch.chdir(tmp_path / "model-build")
    for key in [*NAME_ENV, "AWS_DEFAULT_REGION"]:
        monkeypatch.delenv(key, raising=False)
    parser = errors.UsageParser()
    options.add_name_arguments(parser)
    config = options.build_config(parser.parse_args([]), local=True)
    assert (config.project_name, config.region, config.resolved_group) == (
        "my-proj",
        "ap-southeast-2",
        "my-proj-local",
    )
    assert (config.processing_instance_type, config.training_instance_type) == (
        "ml.c5.xlarge",
        "ml.m5.2xlarge",
    )


@mock_aws
def test_run_pipeline_upserts_and_starts(
    names: None, cached_definition: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(cloud.run_pipeline_main, ["-p", "AucThreshold=0.9"]) == 0
    assert run_cli(cloud.run_pipeline_main, ["--description", "second"]) == 0  # second run updates
    out = capsys.readouterr().out
    assert (
        out.count("upserted arn:aws:sagemaker:eu-west-1:") == 2 and out.count("started arn:") == 2
    )
    client = boto3.client("sagemaker", region_name="eu-west-1")
    pipeline = client.describe_pipeline(PipelineName="mammo-p-0123456789ab-model-build")
    assert pipeline["RoleArn"] == CONFIG.role_arn and pipeline["PipelineDescription"] == "second"
    assert json.loads(pipeline["PipelineDefinition"])["Steps"][0]["Name"] == "Preprocess"
    executions = client.list_pipeline_executions(PipelineName="mammo-p-0123456789ab-model-build")
    assert len(executions["PipelineExecutionSummaries"]) == 2
    params = [
        client.list_pipeline_parameters_for_execution(
            PipelineExecutionArn=e["PipelineExecutionArn"]
        )["PipelineParameters"]
        for e in executions["PipelineExecutionSummaries"]
    ]
    assert sorted(params, key=len) == [[], [{"Name": "AucThreshold", "Value": "0.9"}]]


class FakeExecutionClient:
    """list_pipeline_execution_steps is not in moto: a scripted sequence of polls."""

    def __init__(self) -> None:
        self.polls = [
            ([("Preprocess", "Executing")], "Executing"),
            ([("Preprocess", "Succeeded"), ("Train", "Executing")], "Executing"),
            ([("Preprocess", "Succeeded"), ("Train", "Failed")], "Failed"),
        ]

    def list_pipeline_execution_steps(self, **_: Any) -> dict[str, Any]:
        steps, _status = self.polls[0]
        return {
            "PipelineExecutionSteps": [
                {
                    "StepName": n,
                    "StepStatus": s,
                    **({"FailureReason": "OOM"} if s == "Failed" else {}),
                }
                for n, s in steps
            ]
        }

    def describe_pipeline_execution(self, **_: Any) -> dict[str, Any]:
        _steps, status = self.polls.pop(0)
        return {
            "PipelineExecutionStatus": status,
            **({"FailureReason": "step Train failed"} if status == "Failed" else {}),
        }


def test_wait_prints_each_status_change_once() -> None:
    out = io.StringIO()
    assert (
        cloud.wait_for_execution(FakeExecutionClient(), "arn", poll_seconds=0, out=out) == "Failed"
    )
    lines = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]
    assert lines == [
        "Preprocess: Executing",
        "Preprocess: Succeeded",
        "Train: Executing",
        "Train: Failed: OOM",
        "Failed: step Train failed",
    ]


@mock_aws
def test_cloud_approval_of_a_registered_package(definition: dict[str, Any]) -> None:
    client = boto3.client("sagemaker", region_name="eu-west-1")
    client.create_model_package_group(ModelPackageGroupName="mammo-p-0123456789ab")
    register = next(args for name, _, args in simulate(definition) if name == "Register")
    arn = client.create_model_package(**register)["ModelPackageArn"]
    assert (
        client.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]
        == "PendingManualApproval"
    )
    assert commands.approve_in_registry(client, "mammo-p-0123456789ab") == arn
    assert client.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Approved"
    with pytest.raises(Exception, match="no package pending approval"):
        commands.approve_in_registry(client, "mammo-p-0123456789ab")


def test_local_approve_flips_the_newest_pending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = {"ModelPackageGroupName": "g", "ModelApprovalStatus": "PendingManualApproval"}
    older = registry.register(tmp_path, request, region="eu-west-1", account="111122223333")
    newer = registry.register(tmp_path, request, region="eu-west-1", account="111122223333")
    assert run_cli(commands.approve_main, ["--work-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"{newer['ModelPackageArn']}: Approved\n"
    statuses = [record["ModelApprovalStatus"] for _, record in registry.packages(tmp_path)]
    assert statuses == ["PendingManualApproval", "Approved"] and older["ModelPackageVersion"] == 1
    assert run_cli(commands.approve_main, ["--work-dir", str(tmp_path)]) == 0
    assert run_cli(commands.approve_main, ["--work-dir", str(tmp_path)]) == 2
    assert "no package pending approval" in capsys.readouterr().err


def test_console_scripts_are_installed() -> None:
    for script in (
        "get-pipeline-definition",
        "run-pipeline",
        "upsert-pipelines",
        "run-local",
        "approve",
    ):
        path = Path(sys.executable).parent / script
        assert path.exists(), f"{script} missing: pip install -e model-build"
        assert (
            subprocess.run(
                [str(path), "--help"], capture_output=True, timeout=60, check=False
            ).returncode
            == 0
        )


def test_definition_cache_reuses_and_invalidates(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, definition: dict[str, Any]
) -> None:
    builds: list[Any] = []
    monkeypatch.setattr(
        definitions, "build_definition", lambda config: builds.append(config) or definition
    )
    assert definitions.cached_definition(CONFIG, tmp_path) == (definition, False)
    assert definitions.cached_definition(CONFIG, tmp_path) == (definition, True)
    other = dataclasses.replace(CONFIG, project_id="p-other")
    assert definitions.cached_definition(other, tmp_path)[1] is False
    assert builds == [CONFIG, other]


def test_aws_errors_are_one_line(
    names: None, cached_definition: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # No credentials at all (conftest): botocore refuses before any connection is attempted.
    assert run_cli(cloud.run_pipeline_main, []) == 1
    err = capsys.readouterr().err
    assert err == "error: AWS: Unable to locate credentials\n"


def test_get_pipeline_definition_writes_the_sdk_definition(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for key in [*NAME_ENV, "AWS_DEFAULT_REGION"]:
        monkeypatch.delenv(key, raising=False)
    out = tmp_path / "definition.json"
    args = [*LOCAL_NAMES, "-o", str(out)]
    assert run_cli(definitions.definition_main, args) == 0
    # A real build, same names -> the same JSON (--local: with the tracking steps, as run-local's).
    local = dataclasses.replace(CONFIG, tracking=True)
    assert json.loads(out.read_text()) == json.loads(get_definition(local))
