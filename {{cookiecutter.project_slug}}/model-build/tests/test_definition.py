"""The definition the real SDK builds: shape, contracts with the step code, botocore request shapes."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from model_build.local.resolve import Context, resolve
from model_build.pipeline import get_definition
from tests.botocore_requests import REQUESTS, request_errors, simulate
from tests.conftest import CONFIG, all_steps

SNAPSHOTS = Path(__file__).parent / "snapshots"
SNAPSHOT = SNAPSHOTS / "pipeline-definition.json"


def test_socket_guard_is_active() -> None:
    # The definition fixture is only proof of "offline" if a real connection would fail here.
    with pytest.raises(Exception, match=r"disabled|blocked|not allowed|A test tried"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)


def test_steps_and_order(definition: dict[str, Any]) -> None:
    assert [(s["Name"], s["Type"]) for s in all_steps(definition["Steps"])] == [
        ("Preprocess", "Processing"),
        ("Champion", "Processing"),
        ("Train", "Training"),
        ("Evaluate", "Processing"),
        ("Baselines", "Processing"),
        ("Bias", "Processing"),
        ("QualityGate", "Condition"),
        ("ChampionGate", "Condition"),
        ("Register", "RegisterModel"),
        ("WorseThanChampion", "Fail"),
        ("AucBelowThreshold", "Fail"),
    ]


def test_parameters_and_defaults(definition: dict[str, Any]) -> None:
    params = {p["Name"]: (p["Type"], p.get("DefaultValue")) for p in definition["Parameters"]}
    assert params == {
        "ImageUri": ("String", CONFIG.image_uri),
        "InputDataUrl": ("String", "s3://artifact-bucket/mammo-p-0123456789ab/data/raw/"),
        "ProcessingInstanceType": ("String", "ml.m5.large"),
        "ProcessingInstanceCount": ("Integer", 1),
        "TrainingInstanceType": ("String", "ml.m5.large"),
        "TrainingInstanceCount": ("Integer", 1),
        "Seed": ("Integer", 42),
        "MaxDepth": ("Integer", 3),
        "Eta": ("Float", 0.1),
        "NumRound": ("Integer", 100),
        "EarlyStoppingRounds": ("Integer", 20),
        "AucThreshold": ("Float", 0.83),
        "ChampionComparison": ("String", "enforce"),
        "ChampionAbsoluteTolerance": ("Float", 0.05),
        "ChampionRelativeTolerance": ("Float", 0.1),
        "ModelApprovalStatus": ("String", "PendingManualApproval"),
    }


def test_the_tracking_steps_follow_the_container_contract() -> None:
    """With tracking, Track reads the three records and the model where model_container.track
    looks, and LinkRun gets the run and the package it tags."""
    tracked = json.loads(get_definition(dataclasses.replace(CONFIG, tracking=True)))
    steps = {s["Name"]: s for s in all_steps(tracked["Steps"])}
    track = steps["Track"]["Arguments"]
    assert track["AppSpecification"]["ContainerEntrypoint"] == [
        "python3",
        "-m",
        "model_container.track",
    ]
    assert track["AppSpecification"]["ContainerArguments"] == ["publish"]
    assert sorted(i["S3Input"]["LocalPath"] for i in track["ProcessingInputs"]) == [
        "/opt/ml/processing/model",
        "/opt/ml/processing/records/evaluate",
        "/opt/ml/processing/records/preprocess",
        "/opt/ml/processing/records/train",
    ]
    (output,) = track["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["LocalPath"] == "/opt/ml/processing/tracking"
    link = steps["LinkRun"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert link[:2] == ["link", "--run-id"]
    assert link[3:] == [
        "--model-package-arn",
        {"Get": "Steps.Register.ModelPackageArn"},
    ]


def test_entry_points_follow_the_container_contract(definition: dict[str, Any]) -> None:
    steps = {s["Name"]: s for s in all_steps(definition["Steps"])}
    for name, module in (
        ("Preprocess", "preprocess"),
        ("Champion", "champion"),
        ("Evaluate", "evaluate"),
        ("Baselines", "baselines"),
        ("Bias", "bias"),
    ):
        app = steps[name]["Arguments"]["AppSpecification"]
        assert app["ContainerEntrypoint"] == ["python3", "-m", f"model_container.{module}"]
        assert app["ImageUri"] == {"Get": "Parameters.ImageUri"}
    local_paths = {
        name: sorted(
            [
                i["S3Input"]["LocalPath"]
                for i in steps[name]["Arguments"].get("ProcessingInputs", [])
            ]
            + [
                o["S3Output"]["LocalPath"]
                for o in steps[name]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
            ]
        )
        for name in ("Preprocess", "Champion", "Evaluate", "Baselines", "Bias")
    }
    base = "/opt/ml/processing/"
    assert local_paths == {
        "Preprocess": [
            base + p
            for p in (
                "input/raw",
                "output/baseline",
                "output/test",
                "output/tracking",
                "output/train",
                "output/validation",
            )
        ],
        "Champion": [base + "champion"],
        "Evaluate": [base + p for p in ("champion", "evaluation", "model", "test", "tracking")],
        "Baselines": [base + p for p in ("baselines", "explainability", "model", "train")],
        "Bias": [base + p for p in ("bias", "model", "test", "train")],
    }
    training = steps["Train"]["Arguments"]
    assert training["AlgorithmSpecification"]["TrainingImage"] == {"Get": "Parameters.ImageUri"}
    assert [c["ChannelName"] for c in training["InputDataConfig"]] == ["train", "validation"]
    assert set(training["HyperParameters"]) == {
        "max_depth",
        "eta",
        "num_round",
        "early_stopping_rounds",
        "seed",
    }


def test_quality_gate_and_fail_message(definition: dict[str, Any]) -> None:
    gate = next(s for s in definition["Steps"] if s["Name"] == "QualityGate")["Arguments"]
    (condition,) = gate["Conditions"]
    assert condition["Type"] == "GreaterThanOrEqualTo"
    assert (
        condition["LeftValue"]["Std:JsonGet"]["Path"] == "binary_classification_metrics.auc.value"
    )
    assert condition["RightValue"] == {"Get": "Parameters.AucThreshold"}
    ctx = Context(
        parameters={"AucThreshold": 0.83},
        execution={},
        property_files={
            "Evaluate": {
                "EvaluationReport": {"binary_classification_metrics": {"auc": {"value": 0.71}}}
            }
        },
        steps={"Evaluate": {}},
    )
    message = resolve(gate["ElseSteps"][0]["Arguments"]["ErrorMessage"], ctx)
    assert (
        message
        == "Quality gate: binary_classification_metrics.auc.value 0.71 is below the AucThreshold 0.83"
    )


def test_champion_reaches_evaluate_and_its_gate(definition: dict[str, Any]) -> None:
    steps = {s["Name"]: s for s in all_steps(definition["Steps"])}
    # The lookup runs in the step (the retraining triggers start runs with the defaults), in the
    # project's group; Evaluate reads its output folder, whose URI is known when Evaluate starts.
    champion = steps["Champion"]["Arguments"]
    assert champion["AppSpecification"]["ContainerArguments"] == [
        "--model-package-group",
        "mammo-p-0123456789ab",
    ]
    assert "Champion" not in [s["Name"] for s in definition["Steps"] if s.get("CacheConfig")]
    evaluate = steps["Evaluate"]["Arguments"]
    (source,) = [i for i in evaluate["ProcessingInputs"] if i["InputName"] == "champion"]
    assert source["S3Input"]["S3Uri"] == {
        "Get": "Steps.Champion.ProcessingOutputConfig.Outputs['champion'].S3Output.S3Uri"
    }
    arguments = evaluate["AppSpecification"]["ContainerArguments"]
    assert arguments[:2] == ["--champion-comparison", {"Get": "Parameters.ChampionComparison"}]
    assert [item for item in arguments if isinstance(item, str)] == [
        "--champion-comparison",
        "--absolute-tolerance",
        "--relative-tolerance",
    ]
    (mode,) = [p for p in definition["Parameters"] if p["Name"] == "ChampionComparison"]
    assert mode["EnumValues"] == ["off", "report", "enforce"]
    # QualityGate (threshold) -> ChampionGate -> Register, else WorseThanChampion with both scores.
    gate = steps["QualityGate"]["Arguments"]
    assert [s["Name"] for s in gate["IfSteps"]] == ["ChampionGate"]
    champion_gate = steps["ChampionGate"]["Arguments"]
    (condition,) = champion_gate["Conditions"]
    assert condition["Type"] == "Equals"
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "champion.gate"
    assert condition["RightValue"] == "pass"
    assert [s["Name"] for s in champion_gate["IfSteps"]] == ["Register"]
    section = {
        "candidate_auc": 0.8,
        "auc": 0.86,
        "gate": "fail",
        "reason": "0.0600 below it, at most 0.0100 allowed",
    }
    ctx = Context(
        parameters={},
        execution={},
        property_files={"Evaluate": {"EvaluationReport": {"champion": section}}},
        steps={"Evaluate": {}},
    )
    message = resolve(champion_gate["ElseSteps"][0]["Arguments"]["ErrorMessage"], ctx)
    assert message == (
        "Champion gate: candidate AUC 0.8 is worse than the champion's 0.86 by more than the "
        "tolerance: 0.0600 below it, at most 0.0100 allowed"
    )
    metadata = steps["Register"]["Arguments"]["CustomerMetadataProperties"]
    assert metadata["champion_comparison"] == {"Get": "Parameters.ChampionComparison"}
    assert set(metadata) == {
        "image_uri",
        "evaluation_report",
        "bias_report",
        "endpoint_examples",
        "champion_comparison",
        "champion_absolute_tolerance",
        "champion_relative_tolerance",
    }
    # The packages link their HTML reports (the steps' outputs).
    outputs = {
        "Evaluate": {
            "ProcessingOutputConfig": {
                "Outputs": [{"OutputName": "evaluation", "S3Output": {"S3Uri": "s3://b/e"}}]
            }
        },
        "Bias": {
            "ProcessingOutputConfig": {
                "Outputs": [{"OutputName": "bias", "S3Output": {"S3Uri": "s3://b/bias"}}]
            }
        },
    }
    links = Context(parameters={}, execution={}, property_files={}, steps=outputs)
    assert resolve(metadata["evaluation_report"], links) == "s3://b/e/report.html"
    assert resolve(metadata["bias_report"], links) == "s3://b/bias/report.html"
    assert resolve(metadata["endpoint_examples"], links) == "s3://b/e/examples.csv"


def test_register_step_contents(definition: dict[str, Any]) -> None:
    register = next(s for s in all_steps(definition["Steps"]) if s["Name"] == "Register")[
        "Arguments"
    ]
    assert register["ModelPackageGroupName"] == "mammo-p-0123456789ab"
    assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    spec = register["InferenceSpecification"]
    assert spec["SupportedContentTypes"] == ["text/csv", "application/json"]
    assert spec["Containers"][0]["Image"] == {"Get": "Parameters.ImageUri"}
    assert spec["Containers"][0]["ModelDataUrl"] == {
        "Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"
    }
    assert set(register["ModelMetrics"]) >= {"ModelQuality", "ModelDataQuality", "Explainability"}
    bias = register["ModelMetrics"]["Bias"]
    assert set(bias) == {"PreTrainingReport", "PostTrainingReport"}
    for key, file_name in (
        ("PreTrainingReport", "pre_training_bias.json"),
        ("PostTrainingReport", "post_training_bias.json"),
    ):
        assert bias[key]["ContentType"] == "application/json"
        assert bias[key]["S3Uri"]["Std:Join"]["Values"] == [
            {"Get": "Steps.Bias.ProcessingOutputConfig.Outputs['bias'].S3Output.S3Uri"},
            file_name,
        ]
    assert set(register["DriftCheckBaselines"]) == {
        "ModelDataQuality",
        "Explainability",
        "ModelQuality",
        "Bias",
    }
    # The bias drift baselines are the Bias step's reports (no ConfigFile: the facet is the model
    # folder's project_model.BIAS).
    assert register["DriftCheckBaselines"]["Bias"] == {
        "PreTrainingConstraints": bias["PreTrainingReport"],
        "PostTrainingConstraints": bias["PostTrainingReport"],
    }
    # The model-quality monitor's constraints: the Evaluate step's constraints.json, both places.
    for section in ("ModelMetrics", "DriftCheckBaselines"):
        uri = register[section]["ModelQuality"]["Constraints"]["S3Uri"]
        assert uri["Std:Join"]["Values"][-1] == "constraints.json"
        assert "Steps.Evaluate" in json.dumps(uri)
    assert {"Key": "project-name", "Value": "mammo"} in register["Tags"]


def test_every_request_is_valid_for_botocore(definition: dict[str, Any]) -> None:
    checked = []
    for name, kind, args in simulate(definition):
        errors = request_errors(name, kind, args)
        assert not errors, f"{name} -> {REQUESTS[kind][0]}:\n{errors}"
        checked.append(REQUESTS[kind][0])
    assert sorted(checked) == sorted(
        ["CreateProcessingJob"] * 5 + ["CreateTrainingJob", "CreateModelPackage"]
    )


def test_only_preprocess_scales_out_over_its_raw_objects(definition: dict[str, Any]) -> None:
    """ProcessingInstanceCount instances share Preprocess's raw objects by S3 key; the other
    processing steps need whole splits and run on one instance with every input replicated."""
    for name, kind, args in simulate(definition, parameters={"ProcessingInstanceCount": 3}):
        if kind != "Processing":
            continue
        count = args["ProcessingResources"]["ClusterConfig"]["InstanceCount"]
        kinds = {
            item["InputName"]: item["S3Input"]["S3DataDistributionType"]
            for item in args.get("ProcessingInputs", [])  # Champion has none
        }
        if name == "Preprocess":
            assert (count, kinds) == (3, {"raw": "ShardedByS3Key"})
            assert not request_errors(name, kind, args)
        else:
            assert count == 1, name
            assert set(kinds.values()) <= {"FullyReplicated"}, (name, kinds)


def test_botocore_check_catches_a_typed_hyperparameter(definition: dict[str, Any]) -> None:
    # The check above is only worth something if it fails on a real mistake (an Integer hyperparameter).
    broken = json.loads(json.dumps(definition))
    train = next(s for s in broken["Steps"] if s["Name"] == "Train")
    train["Arguments"]["HyperParameters"]["max_depth"] = {"Get": "Parameters.MaxDepth"}
    args = next(a for n, _, a in simulate(broken) if n == "Train")
    assert "HyperParameters.max_depth" in request_errors("Train", "Training", args)


def test_botocore_check_catches_lengths_and_patterns(definition: dict[str, Any]) -> None:
    # ...and on what ParamValidator alone lets through: the model's maximum lengths and patterns.
    args = next(a for n, _, a in simulate(definition) if n == "Evaluate")
    too_long = {**args, "RoleArn": "arn:aws:iam::111122223333:role/" + "r" * 2048}
    assert "CreateProcessingJob.RoleArn: 2079 characters, at most 2048" in request_errors(
        "E", "Processing", too_long
    )
    bad_role = {**args, "RoleArn": "arn:aws:iam::1234:role/short-account"}
    assert (
        "CreateProcessingJob.RoleArn: 'arn:aws:iam::1234:role/short-account' does not match"
        in request_errors("E", "Processing", bad_role)
    )


def normalise(definition: dict[str, Any]) -> str:
    text = json.dumps(definition, indent=2, sort_keys=True)
    return re.sub(r"\b[0-9a-f]{32,}\b", "<hash>", text) + "\n"


def check_snapshot(definition: dict[str, Any], path: Path) -> None:
    """The definition equals the reviewed copy at ``path`` (UPDATE_SNAPSHOTS=1 rewrites it)."""
    text = normalise(definition)
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if os.environ.get("UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"snapshot {path.name} did not exist; written, review and commit it")
    assert text == path.read_text(encoding="utf-8"), (
        f"{path.name} changed; rerun with UPDATE_SNAPSHOTS=1 and review the diff"
    )


def test_snapshot(definition: dict[str, Any]) -> None:
    check_snapshot(definition, SNAPSHOT)
