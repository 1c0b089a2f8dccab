"""get-pipeline-definition --pipeline and upsert-pipelines: size from project.toml, one-line errors,
and upsert (then a scheduled-style start) of the monitoring and batch pipelines against moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from model_build import cloud, definitions, errors, options
from model_build.errors import run_cli
from tests.conftest import CONFIG, LOCAL_NAMES, NAME_ENV

MONITORING = "mammo-p-0123456789ab-monitoring"
BATCH = "mammo-p-0123456789ab-batch-inference"


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """CodeBuild's environment in a folder without project.toml (tests write one when they need it)."""
    monkeypatch.chdir(tmp_path)
    for key, value in NAME_ENV.items():
        monkeypatch.setenv(key, value)
    return tmp_path


@pytest.fixture
def built(
    monkeypatch: pytest.MonkeyPatch,
    definition: dict[str, Any],
    monitoring_definition: dict[str, Any],
    batch_definition: dict[str, Any],
) -> list[str]:
    """The session's definitions (same names) instead of new builds; records what was built."""
    kinds: list[str] = []
    by_kind = {
        "model-build": definition,
        "monitoring": monitoring_definition,
        "batch-inference": batch_definition,
    }

    def build(config: Any, kind: str = "model-build") -> dict[str, Any]:
        kinds.append(kind)
        return json.loads(json.dumps(by_kind[kind]))

    monkeypatch.setattr(definitions, "build_definition", build)
    return kinds


def write_project_toml(folder: Path, size: str) -> None:
    (folder / "project.toml").write_text(
        f'[project]\nslug = "mammo"\nsize = "{size}"  # small | medium | large\n', encoding="utf-8"
    )


# -- size ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "expected"), [(None, "small"), ("medium", "medium")])
def test_size_comes_from_project_toml(names: Path, size: str | None, expected: str) -> None:
    if size:
        write_project_toml(names, size)
    parser = errors.UsageParser()
    options.add_name_arguments(parser)
    options.add_size_argument(parser)
    config = options.build_config(parser.parse_args([]), local=False)
    assert config.size == expected
    assert config.has_monitoring is (expected != "small")
    assert options.build_config(parser.parse_args(["--size", "large"]), local=False).size == "large"


def test_unknown_size_is_one_line(names: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project_toml(names, "huge")
    assert run_cli(definitions.definition_main, []) == 2
    assert capsys.readouterr().err == (
        f"error: {names / 'project.toml'}: [project] size 'huge' is not one of small, medium, large\n"
    )
    assert run_cli(cloud.upsert_pipelines_main, ["--size", "tiny"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: upsert-pipelines: argument --size: invalid choice: 'tiny'")
    assert err.count("\n") == 1


# -- get-pipeline-definition --pipeline ------------------------------------------------------------


def test_definition_of_the_monitoring_pipeline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, monitoring_definition: dict[str, Any]
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "monitoring.json"
    argv = [*LOCAL_NAMES, "--pipeline", "monitoring", "--size", "medium", "-o", str(out)]
    assert run_cli(definitions.definition_main, argv) == 0
    assert json.loads(out.read_text()) == monitoring_definition  # a real build, same names


def test_definition_default_stays_model_build(
    names: Path, built: list[str], capsys: pytest.CaptureFixture[str], definition: dict[str, Any]
) -> None:
    assert run_cli(definitions.definition_main, []) == 0
    assert json.loads(capsys.readouterr().out) == definition and built == ["model-build"]
    assert run_cli(definitions.definition_main, ["--pipeline", "batch-inference"]) == 0
    assert built == ["model-build", "batch-inference"]


def test_definition_refuses_what_the_project_does_not_have(
    names: Path, built: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(definitions.definition_main, ["--pipeline", "monitoring"]) == 2
    assert capsys.readouterr().err == (
        "error: the monitoring pipeline is only for medium and large projects; this one is "
        "'small' (project.toml [project] size, or --size)\n"
    )
    assert run_cli(definitions.definition_main, ["--pipeline", "training"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "error: get-pipeline-definition: argument --pipeline: invalid choice: 'training'"
    )
    assert err.count("\n") == 1 and built == []


# -- upsert-pipelines ------------------------------------------------------------------------------


@mock_aws
def test_upsert_pipelines_for_medium_then_start_them(
    names: Path,
    built: list[str],
    capsys: pytest.CaptureFixture[str],
    monitoring_definition: dict[str, Any],
    batch_definition: dict[str, Any],
) -> None:
    write_project_toml(names, "medium")
    assert run_cli(cloud.upsert_pipelines_main, []) == 0
    assert run_cli(cloud.upsert_pipelines_main, []) == 0  # the next build updates them
    out = capsys.readouterr().out.splitlines()
    assert [line.rsplit("/", 1)[-1] for line in out] == [MONITORING, BATCH] * 2
    assert all(line.startswith("upserted arn:aws:sagemaker:eu-west-1:") for line in out)
    assert built == ["monitoring", "batch-inference"] * 2

    client = boto3.client("sagemaker", region_name="eu-west-1")
    for name, definition in ((MONITORING, monitoring_definition), (BATCH, batch_definition)):
        pipeline = client.describe_pipeline(PipelineName=name)
        assert pipeline["RoleArn"] == CONFIG.role_arn
        assert json.loads(pipeline["PipelineDefinition"]) == definition
        tags = client.list_tags(ResourceArn=pipeline["PipelineArn"])["Tags"]
        assert {"Key": "sagemaker:project-id", "Value": "p-0123456789ab"} in tags
        # upsert only: the schedules start them
        assert (
            client.list_pipeline_executions(PipelineName=name)["PipelineExecutionSummaries"] == []
        )
    listed = sorted(p["PipelineName"] for p in client.list_pipelines()["PipelineSummaries"])
    assert listed == [BATCH, MONITORING]  # run-pipeline owns the model-build pipeline

    # What the schedules do: start with the scheduled time as the window end / no parameters.
    window = [{"Name": "WindowEnd", "Value": "2026-01-02T03:00:00Z"}]
    started = [
        client.start_pipeline_execution(PipelineName=MONITORING, PipelineParameters=window),
        client.start_pipeline_execution(PipelineName=BATCH),
    ]
    for name, response in zip((MONITORING, BATCH), started, strict=True):
        assert f":pipeline/{name}/execution/" in response["PipelineExecutionArn"]
    arn = started[0]["PipelineExecutionArn"]
    assert (
        client.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)[
            "PipelineParameters"
        ]
        == window
    )


@mock_aws
def test_upsert_pipelines_for_small_has_no_monitoring(
    names: Path, built: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(cloud.upsert_pipelines_main, []) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("upserted arn:") and out[0].endswith(f"/{BATCH}")
    assert out[1:] == ["no monitoring pipeline: project size is 'small' (medium/large have it)"]
    assert built == ["batch-inference"]
    client = boto3.client("sagemaker", region_name="eu-west-1")
    names_found = [p["PipelineName"] for p in client.list_pipelines()["PipelineSummaries"]]
    assert names_found == [BATCH]


def test_upsert_pipelines_needs_the_image(
    names: Path,
    built: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("IMAGE_URI")
    assert run_cli(cloud.upsert_pipelines_main, []) == 2
    assert capsys.readouterr().err == (
        "error: missing IMAGE_URI (or --image-uri): the image the pipelines run by default\n"
    )
    assert built == []


def test_upsert_pipelines_aws_errors_are_one_line(
    names: Path, built: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # No credentials at all (conftest): botocore refuses before any connection is attempted.
    assert run_cli(cloud.upsert_pipelines_main, []) == 1
    assert capsys.readouterr().err == "error: AWS: Unable to locate credentials\n"


@mock_aws
def test_seed_data_fills_an_empty_prefix_once_without_starting_retraining(tmp_path: Path) -> None:
    """A folder's files land below the prefix; a .csv is stored as .csv.seed (the retraining rule
    starts on new .csv objects); a prefix that holds anything is left alone."""
    region = "eu-west-1"
    s3 = boto3.client("s3", region_name=region)
    s3.create_bucket(Bucket="data", CreateBucketConfiguration={"LocationConstraint": region})
    seed = tmp_path / "raw"
    seed.mkdir()
    (seed / "sample.csv").write_text("a,b\n1,2\n")
    (seed / "more.data").write_text("1,2\n")
    assert cloud.seed_input_data(s3, "s3://data/p/data/raw/", seed)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="data")["Contents"])
    assert keys == ["p/data/raw/more.data", "p/data/raw/sample.csv.seed"]
    assert not any(key.endswith(".csv") for key in keys)
    assert not cloud.seed_input_data(s3, "s3://data/p/data/raw/", seed / "sample.csv")
    assert len(s3.list_objects_v2(Bucket="data")["Contents"]) == 2
    with pytest.raises(errors.UsageError, match="no such file"):
        cloud.seed_input_data(s3, "s3://data/p/other/", tmp_path / "missing")
