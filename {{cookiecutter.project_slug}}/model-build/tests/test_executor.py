"""The local executor's mechanics on a small hand-written definition with stand-in containers."""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from model_build.errors import UsageError
from model_build.local.executor import LocalExecutor
from model_build.local.resolve import UnsupportedDefinitionError
from model_build.local.storage import s3_path

FAKES = Path(__file__).parent / "fakes"
RUN = {"Get": "Execution.PipelineExecutionId"}


def out_uri(*parts: str) -> dict[str, Any]:
    return {"Std:Join": {"On": "/", "Values": ["s3://bkt/runs", RUN, *parts]}}


def make_definition(value: str = "0.9") -> dict[str, Any]:
    process = {
        "Name": "Make",
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ImageUri": "img",
                "ContainerEntrypoint": ["python3", str(FAKES / "process.py")],
                "ContainerArguments": ["--value", {"Get": "Parameters.Value"}],
            },
            "ProcessingInputs": [
                {
                    "InputName": "raw",
                    "S3Input": {
                        "S3Uri": {"Get": "Parameters.Data"},
                        "LocalPath": "/opt/ml/processing/input/raw",
                        "S3DataType": "S3Prefix",
                    },
                }
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "out",
                        "S3Output": {
                            "S3Uri": out_uri("make"),
                            "LocalPath": "/opt/ml/processing/output/out",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
        },
        "PropertyFiles": [
            {"PropertyFileName": "Metrics", "OutputName": "out", "FilePath": "metrics.json"}
        ],
    }
    train = {
        "Name": "Fit",
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
            "HyperParameters": {
                "seed": {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.Seed"}]}}
            },
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": {
                                "Get": "Steps.Make.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"
                            },
                        }
                    },
                }
            ],
            "ResourceConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": {"Get": "Parameters.Count"},
            },
            "OutputDataConfig": {"S3OutputPath": out_uri("fit")},
        },
    }
    auc = {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Make.PropertyFiles.Metrics"},
            "Path": "metrics.auc.value",
        }
    }
    register = {
        "Name": "Register",
        "Type": "RegisterModel",
        "Arguments": {
            "ModelPackageGroupName": "group",
            "ModelApprovalStatus": {"Get": "Parameters.Status"},
            "InferenceSpecification": {
                "Containers": [
                    {
                        "Image": "img",
                        "ModelDataUrl": {"Get": "Steps.Fit.ModelArtifacts.S3ModelArtifacts"},
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            "Tags": [{"Key": "k", "Value": "v"}],
        },
    }
    fail = {
        "Name": "TooLow",
        "Type": "Fail",
        "Arguments": {
            "ErrorMessage": {
                "Std:Join": {
                    "On": " ",
                    "Values": ["auc", auc, "below", {"Get": "Parameters.Threshold"}],
                }
            }
        },
    }
    gate = {
        "Name": "Gate",
        "Type": "Condition",
        "DependsOn": ["Fit"],
        "Arguments": {
            "Conditions": [
                {
                    "Type": "GreaterThanOrEqualTo",
                    "LeftValue": auc,
                    "RightValue": {"Get": "Parameters.Threshold"},
                }
            ],
            "IfSteps": [register],
            "ElseSteps": [fail],
        },
    }
    return {
        "Version": "2020-12-01",
        "Parameters": [
            {"Name": "Value", "Type": "String", "DefaultValue": value},
            {"Name": "Data", "Type": "String", "DefaultValue": "s3://bkt/raw/"},
            {"Name": "Seed", "Type": "Integer", "DefaultValue": 5},
            {"Name": "Count", "Type": "Integer", "DefaultValue": 1},
            {"Name": "Threshold", "Type": "Float", "DefaultValue": 0.5},
            {"Name": "Status", "Type": "String", "DefaultValue": "PendingManualApproval"},
        ],
        "Steps": [gate, train, process],
    }  # deliberately out of order: the executor sorts by references


def executor(tmp_path: Path, definition: dict[str, Any]) -> LocalExecutor:
    raw = s3_path(tmp_path, "s3://bkt/raw/")
    raw.mkdir(parents=True)
    (raw / "data.csv").write_text("1,2,3\n")
    return LocalExecutor(
        definition,
        tmp_path,
        region="eu-west-1",
        log=lambda _: None,
        train_command=(sys.executable, str(FAKES / "train.py")),
    )


def model_record(tmp_path: Path, result: Any) -> dict[str, Any]:
    uri = result.registered[0]["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    with tarfile.open(s3_path(tmp_path, uri)) as tar:
        return json.load(tar.extractfile("record.json"))  # type: ignore[arg-type]


def test_success_runs_every_step_and_registers(tmp_path: Path) -> None:
    result = executor(tmp_path, make_definition()).run()
    assert result.status == "Succeeded", result.failure
    assert set(result.steps) == {"Make", "Fit", "Gate", "Register"}
    run = result.execution_id
    assert (
        s3_path(tmp_path, f"s3://bkt/runs/{run}/make") / "copy" / "data.csv"
    ).read_text() == "1,2,3\n"
    record = model_record(tmp_path, result)
    assert record["hyperparameters"] == {"seed": "5"}  # strings, as SageMaker passes them
    assert record["channels"] == ["train"]
    assert record["resourceconfig"]["hosts"] == ["algo-1"] and record["addresses"] is None
    (package,) = result.registered
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert json.loads((tmp_path / "registry" / "group" / "1.json").read_text()) == package


def test_registry_record_has_the_describe_model_package_shape(tmp_path: Path) -> None:
    (package,) = executor(tmp_path, make_definition()).run().registered
    shape = (
        botocore.session.get_session()
        .get_service_model("sagemaker")
        .operation_model("DescribeModelPackage")
        .output_shape
    )
    report = ParamValidator().validate(package, shape)
    assert not report.has_errors(), report.generate_report()


def test_failing_gate_runs_fail_step_and_registers_nothing(tmp_path: Path) -> None:
    result = executor(tmp_path, make_definition("0.25")).run()
    assert result.status == "Failed"
    assert result.failure == "TooLow: auc 0.25 below 0.5"
    assert result.registered == [] and not (tmp_path / "registry").exists()
    # As SageMaker reports them (and its step events say): the gate chose, the FailStep failed.
    assert result.steps["Gate"]["status"] == "Succeeded"
    assert result.steps["TooLow"]["status"] == "Failed"


def test_failing_container_reports_its_failure_reason_and_stops(tmp_path: Path) -> None:
    result = executor(tmp_path, make_definition("fail")).run()
    assert result.status == "Failed"
    assert result.failure.startswith("Make: raw data has 3 columns, expected 6 (exit 1; log: ")
    assert set(result.steps) == {"Make"}


def test_two_training_hosts_get_their_own_layout(tmp_path: Path) -> None:
    result = executor(tmp_path, make_definition()).run({"Count": "2"})
    assert result.status == "Succeeded", result.failure
    record = model_record(tmp_path, result)  # the archive holds the first host's model/
    assert record["resourceconfig"]["current_host"] == "algo-1"
    assert record["resourceconfig"]["hosts"] == ["algo-1", "algo-2"]
    assert record["addresses"] == "algo-1=127.0.0.1,algo-2=127.0.0.1"
    second = json.loads(
        (tmp_path / "jobs" / "Fit" / "algo-2" / "opt_ml" / "model" / "record.json").read_text()
    )
    assert second["resourceconfig"]["current_host"] == "algo-2"


def test_parameter_overrides_are_typed_and_checked(tmp_path: Path) -> None:
    run = executor(tmp_path, make_definition())
    assert run.parameters({"Seed": "9", "Threshold": "0.7"})["Seed"] == 9
    with pytest.raises(UsageError, match="unknown parameter 'Nope'"):
        run.parameters({"Nope": "1"})
    with pytest.raises(UsageError, match="parameter Seed='x' is not a valid Integer"):
        run.parameters({"Seed": "x"})


def test_unsupported_step_type_is_named(tmp_path: Path) -> None:
    definition = make_definition()
    definition["Steps"].append({"Name": "Tune", "Type": "Tuning", "Arguments": {}})
    with pytest.raises(UnsupportedDefinitionError, match="'Tune' has type 'Tuning'"):
        executor(tmp_path, definition)


def test_missing_input_data_fails_the_step_clearly(tmp_path: Path) -> None:
    definition = make_definition()
    definition["Parameters"][1]["DefaultValue"] = "s3://bkt/elsewhere/"
    result = executor(tmp_path, definition).run()
    assert result.status == "Failed"
    assert result.failure.startswith("Make: no objects under s3://bkt/elsewhere/")


def _with_transform(definition: dict[str, Any]) -> dict[str, Any]:
    """``make_definition`` plus a batch transform of the trained model's output after ``Fit``."""
    definition["Steps"].append(
        {
            "Name": "Score",
            "Type": "Transform",
            "DependsOn": ["Fit"],
            "Arguments": {
                "ModelName": {"Std:Join": {"On": "-", "Values": ["model", RUN]}},
                "TransformInput": {
                    "DataSource": {
                        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bkt/raw/"}
                    },
                    "ContentType": "text/csv",
                    "SplitType": "Line",
                },
                "TransformOutput": {"S3OutputPath": out_uri("score"), "AssembleWith": "Line"},
                "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
            },
        }
    )
    return definition


def test_a_transform_step_needs_a_transform_runner(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedDefinitionError, match="'Score' is a batch transform"):
        executor(tmp_path, _with_transform(make_definition()))


def test_a_transform_step_gets_its_resolved_request_from_the_runner(tmp_path: Path) -> None:
    requests: list[dict[str, Any]] = []

    def transform(request: dict[str, Any], _env: dict[str, str]) -> dict[str, Any]:
        requests.append(request)
        return {"TransformJobName": "job", "TransformJobStatus": "Completed"}

    run = LocalExecutor(
        _with_transform(make_definition()),
        tmp_path,
        region="eu-west-1",
        log=lambda _: None,
        train_command=(sys.executable, str(FAKES / "train.py")),
        transform=transform,
    )
    s3_path(tmp_path, "s3://bkt/raw/").mkdir(parents=True)
    (s3_path(tmp_path, "s3://bkt/raw/") / "data.csv").write_text("1,2,3\n")
    result = run.run()
    assert result.status == "Succeeded", result.failure
    (request,) = requests
    run_id = result.execution_id
    assert request["ModelName"] == f"model-{run_id}"
    assert request["TransformOutput"]["S3OutputPath"] == f"s3://bkt/runs/{run_id}/score"
    assert result.steps["Score"]["status"] == "Succeeded"
