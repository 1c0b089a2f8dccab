"""The monitoring and batch-inference definitions the real SDK builds: parameters, step graph, the
contract with the container's entry points, botocore request shapes, snapshots, and the local
executor's refusal to run them."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from model_build import pipeline_kinds
from model_build.errors import run_cli
from model_build.local import commands
from model_build.local.executor import LocalExecutor
from model_build.local.resolve import (
    Context,
    UnsupportedDefinitionError,
    evaluate_condition,
    resolve,
)
from model_container import approved_model
from model_container.monitor import options as monitor_options
from model_container.monitor_quality import options as quality_options
from tests.botocore_requests import EXECUTION, REQUESTS, request_errors, simulate
from tests.conftest import CONFIG, MEDIUM, all_steps
from tests.test_definition import SNAPSHOTS, check_snapshot

BATCH_INPUT = "s3://artifact-bucket/mammo-p-0123456789ab/batch/input/"
MODEL_NAME = "mammo-p-0123456789ab-" + EXECUTION["PipelineExecutionId"]


def steps_by_name(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["Name"]: step for step in all_steps(definition["Steps"])}


def parameters(definition: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    return {p["Name"]: (p["Type"], p.get("DefaultValue")) for p in definition["Parameters"]}


def option(arguments: list[Any], flag: str) -> Any:
    """The value after ``flag`` in a container's argument list."""
    assert arguments.count(flag) == 1, f"{flag} appears {arguments.count(flag)} times"
    return arguments[arguments.index(flag) + 1]


def approved_stand_in(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The ApprovedModel property file as approved_model writes it, with the name the step passed."""
    step = steps_by_name(definition)["LatestApprovedModel"]
    params = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    arguments = resolve(
        step["Arguments"]["AppSpecification"]["ContainerArguments"],
        Context(parameters=params, execution=dict(EXECUTION)),
    )
    return {
        "LatestApprovedModel": {"ApprovedModel": {"model_name": option(arguments, "--model-name")}}
    }


def batch_requests(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Step name -> resolved request, the transform's model name from the stand-in property file."""
    return {name: args for name, _, args in simulate(definition, approved_stand_in(definition))}


# -- which project has which pipeline -------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "kinds"),
    [
        ("small", ("model-build", "batch-inference")),
        ("medium", ("model-build", "monitoring", "batch-inference")),
        ("large", ("model-build", "monitoring", "batch-inference")),
    ],
)
def test_monitoring_only_for_medium_and_large(size: str, kinds: tuple[str, ...]) -> None:
    assert pipeline_kinds.available(dataclasses.replace(CONFIG, size=size)) == kinds


def test_pipeline_names() -> None:
    names = {kind: pipeline_kinds.pipeline_name(kind, MEDIUM) for kind in pipeline_kinds.KINDS}
    assert names == {
        "model-build": "mammo-p-0123456789ab-model-build",
        "monitoring": "mammo-p-0123456789ab-monitoring",
        "batch-inference": "mammo-p-0123456789ab-batch-inference",
    }


def test_each_definition_is_told_apart(
    definition: dict[str, Any],
    monitoring_definition: dict[str, Any],
    batch_definition: dict[str, Any],
) -> None:
    assert [
        pipeline_kinds.kind_of(d) for d in (definition, monitoring_definition, batch_definition)
    ] == [
        "model-build",
        "monitoring",
        "batch-inference",
    ]
    assert pipeline_kinds.kind_of({"Parameters": [], "Steps": []}) is None


# -- monitoring -----------------------------------------------------------------------------------


def test_monitoring_parameters(monitoring_definition: dict[str, Any]) -> None:
    assert parameters(monitoring_definition) == {
        "ImageUri": ("String", CONFIG.image_uri),
        "ProcessingInstanceType": ("String", "ml.m5.large"),
        "WindowEnd": ("String", ""),
        "WindowHours": ("Integer", 24),
        "CaptureUrl": (
            "String",
            "s3://artifact-bucket/data-capture/prod/mammo-prod/AllTraffic/",
        ),
        "GroundTruthUrl": ("String", "s3://artifact-bucket/ground-truth/prod/mammo-prod/"),
    }


def test_monitoring_step_runs_the_monitor_with_the_contract_flags(
    monitoring_definition: dict[str, Any],
) -> None:
    assert ("MonitorDataCapture", "Processing") in [
        (s["Name"], s["Type"]) for s in all_steps(monitoring_definition["Steps"])
    ]
    args = _requests(
        monitoring_definition, {"WindowEnd": "2026-01-02T03:00:00Z", "WindowHours": 6}
    )["MonitorDataCapture"]
    app = args["AppSpecification"]
    assert app["ContainerEntrypoint"] == ["python3", "-m", "model_container.monitor"]
    assert app["ImageUri"] == CONFIG.image_uri
    assert app["ContainerArguments"] == [
        "--capture-url",
        "s3://artifact-bucket/data-capture/prod/mammo-prod/AllTraffic/",
        "--end",
        "2026-01-02T03:00:00Z",
        "--hours",
        "6",
        "--model-package-group",
        "mammo-p-0123456789ab",
        "--endpoint",
        "mammo-prod",
        "--namespace",
        "mammo/DataDrift",
        "--publish-metrics",
        "--region",
        "eu-west-1",
        "--violation-status",
        "0",
        "--feature-attribution",
        "--attribution-threshold",
        "0.90",
    ]
    assert "ProcessingInputs" not in args  # the monitor streams the window straight from S3
    # The monitor accepts them: the threshold parses, the attribution check is on.
    parsed = monitor_options.build_parser().parse_args(app["ContainerArguments"])
    assert parsed.feature_attribution and parsed.attribution_threshold == 0.9
    (output,) = args["ProcessingOutputConfig"]["Outputs"]
    assert output["OutputName"] == "monitoring"
    assert output["S3Output"]["LocalPath"] == "/opt/ml/processing/monitoring"


def test_monitoring_default_window_end_is_an_empty_argument(
    monitoring_definition: dict[str, Any],
) -> None:
    # `--end ''` means "now" to the monitor; an empty ContainerArguments item is valid (min 0).
    for name, kind, args in simulate(monitoring_definition):
        arguments = args["AppSpecification"]["ContainerArguments"]
        assert option(arguments, "--end") == "" and option(arguments, "--hours") == "24"
        assert request_errors(name, kind, args) == ""


def _requests(definition: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict:
    """Each step's request by step name."""
    return {name: args for name, _, args in simulate(definition, parameters=parameters)}


def test_model_quality_step_reads_the_window_and_ground_truth(
    monitoring_definition: dict[str, Any],
) -> None:
    args = _requests(
        monitoring_definition, {"WindowEnd": "2026-01-02T03:00:00Z", "WindowHours": 6}
    )["MonitorModelQuality"]
    app = args["AppSpecification"]
    assert app["ContainerEntrypoint"] == ["python3", "-m", "model_container.monitor_quality"]
    arguments = app["ContainerArguments"]
    assert (
        option(arguments, "--ground-truth-url")
        == "s3://artifact-bucket/ground-truth/prod/mammo-prod/"
    )
    assert option(arguments, "--capture-url") == (
        "s3://artifact-bucket/data-capture/prod/mammo-prod/AllTraffic/"
    )
    assert (option(arguments, "--end"), option(arguments, "--hours")) == (
        "2026-01-02T03:00:00Z",
        "6",
    )
    assert option(arguments, "--namespace") == "mammo/ModelQuality"
    assert option(arguments, "--violation-status") == "0"
    assert option(arguments, "--without-ground-truth") == "skip"
    (output,) = args["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["LocalPath"] == "/opt/ml/processing/model-quality"
    # The image's own parser accepts it (the contract's other side).
    parsed = quality_options.build_parser().parse_args(arguments)
    assert quality_options.parse_window(parsed).start is not None
    assert (parsed.publish_metrics, parsed.model_package_group) == (True, "mammo-p-0123456789ab")


def test_monitoring_endpoint_is_the_lowercase_deployed_name() -> None:
    # model-deploy names the endpoint from the lowercase slug; the alarm's namespace is lowercase too.
    config = dataclasses.replace(MEDIUM, project_name="Mammo-Mixed")
    assert config.endpoint_name("prod") == "mammo-mixed-prod"
    assert config.drift_namespace == "mammo-mixed/DataDrift"
    assert (
        config.capture_url == "s3://artifact-bucket/data-capture/prod/mammo-mixed-prod/AllTraffic/"
    )


# -- batch inference ------------------------------------------------------------------------------


def test_batch_parameters(batch_definition: dict[str, Any]) -> None:
    assert parameters(batch_definition) == {
        "ImageUri": ("String", CONFIG.image_uri),
        "ProcessingInstanceType": ("String", "ml.m5.large"),
        "TransformInstanceType": ("String", "ml.m5.large"),
        "TransformInstanceCount": ("Integer", 1),
        "BatchInputUrl": ("String", BATCH_INPUT),
    }


def test_batch_step_graph(batch_definition: dict[str, Any]) -> None:
    top = [(s["Name"], s["Type"]) for s in batch_definition["Steps"]]
    assert top == [
        ("LatestApprovedModel", "Processing"),
        ("CheckBatchInput", "Processing"),
        ("BatchInputClean", "Condition"),
    ]
    clean = batch_definition["Steps"][2]["Arguments"]
    assert [(s["Name"], s["Type"]) for s in clean["IfSteps"]] == [("BatchTransform", "Transform")]
    assert [(s["Name"], s["Type"]) for s in clean["ElseSteps"]] == [("BatchInputDrift", "Fail")]


def test_property_files(batch_definition: dict[str, Any]) -> None:
    steps = steps_by_name(batch_definition)
    assert steps["LatestApprovedModel"]["PropertyFiles"] == [
        {
            "PropertyFileName": "ApprovedModel",
            "OutputName": "approved",
            "FilePath": "model-package.json",
        }
    ]
    assert steps["CheckBatchInput"]["PropertyFiles"] == [
        {
            "PropertyFileName": "BatchInputSummary",
            "OutputName": "monitoring",
            "FilePath": "summary.json",
        }
    ]


def test_latest_approved_model_step(batch_definition: dict[str, Any]) -> None:
    args = batch_requests(batch_definition)["LatestApprovedModel"]
    app = args["AppSpecification"]
    assert app["ContainerEntrypoint"] == ["python3", "-m", "model_container.approved_model"]
    assert app["ContainerArguments"] == [
        "--model-package-group",
        "mammo-p-0123456789ab",
        "--model-name",
        MODEL_NAME,
        "--execution-role-arn",
        CONFIG.role_arn,
    ]
    (output,) = args["ProcessingOutputConfig"]["Outputs"]
    assert (output["OutputName"], output["S3Output"]["LocalPath"]) == (
        "approved",
        "/opt/ml/processing/approved",  # approved_model's default --output-dir
    )


def test_check_batch_input_step(batch_definition: dict[str, Any]) -> None:
    resolved = batch_requests(batch_definition)
    args = resolved["CheckBatchInput"]
    app = args["AppSpecification"]
    assert app["ContainerEntrypoint"] == ["python3", "-m", "model_container.monitor"]
    arguments = app["ContainerArguments"]
    assert option(arguments, "--input-format") == "csv"
    assert option(arguments, "--violation-status") == "0"
    inputs = {i["InputName"]: i["S3Input"] for i in args["ProcessingInputs"]}
    assert inputs["batch"]["S3Uri"] == BATCH_INPUT
    assert option(arguments, "--capture-dir") == inputs["batch"]["LocalPath"]
    approved = resolved["LatestApprovedModel"]["ProcessingOutputConfig"]["Outputs"][0]
    # approved_model writes baselines/ below its output; the monitor reads processing/baselines.
    assert inputs["baselines"]["S3Uri"] == approved["S3Output"]["S3Uri"] + "/baselines"
    assert inputs["baselines"]["LocalPath"] == "/opt/ml/processing/baselines"
    (output,) = args["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["LocalPath"] == "/opt/ml/processing/monitoring"


def test_condition_passes_only_without_violations(batch_definition: dict[str, Any]) -> None:
    clean = steps_by_name(batch_definition)["BatchInputClean"]["Arguments"]
    (condition,) = clean["Conditions"]
    assert condition["Type"] == "Equals" and condition["RightValue"] == 0
    assert condition["LeftValue"] == {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.CheckBatchInput.PropertyFiles.BatchInputSummary"},
            "Path": "violations",
        }
    }
    outcomes = []
    for violations in (0, 1, 7):
        summary = {"violations": violations, "rows": 100, "features_with_violations": []}
        ctx = Context(
            parameters={},
            execution={},
            property_files={"CheckBatchInput": {"BatchInputSummary": summary}},
            steps={"CheckBatchInput": {}},
        )
        outcomes.append(evaluate_condition(condition, ctx))
    assert outcomes == [True, False, False]


def test_fail_step_names_the_violations(batch_definition: dict[str, Any]) -> None:
    fail = steps_by_name(batch_definition)["BatchInputDrift"]
    summary = {"violations": 3, "rows": 250, "features_with_violations": ["Age"]}
    ctx = Context(
        parameters={"BatchInputUrl": BATCH_INPUT},
        execution={},
        property_files={"CheckBatchInput": {"BatchInputSummary": summary}},
        steps={"CheckBatchInput": {}},
    )
    assert resolve(fail["Arguments"]["ErrorMessage"], ctx) == (
        f"Batch input drift: 3 baseline constraint violations in 250 rows of {BATCH_INPUT} "
        "(report: the CheckBatchInput step's monitoring output)"
    )


def test_transform_step(batch_definition: dict[str, Any]) -> None:
    transform = steps_by_name(batch_definition)["BatchTransform"]["Arguments"]
    # The same expression the LatestApprovedModel step receives as --model-name.
    approved_args = steps_by_name(batch_definition)["LatestApprovedModel"]["Arguments"]
    container_args = approved_args["AppSpecification"]["ContainerArguments"]
    name_expression = container_args[container_args.index("--model-name") + 1]
    assert transform["ModelName"] == name_expression
    assert "Std:Join" in name_expression
    assert transform["TransformResources"] == {
        "InstanceType": {"Get": "Parameters.TransformInstanceType"},
        "InstanceCount": {"Get": "Parameters.TransformInstanceCount"},
    }
    args = batch_requests(batch_definition)["BatchTransform"]
    assert args["ModelName"] == MODEL_NAME
    assert args["TransformInput"] == {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": BATCH_INPUT}},
        "ContentType": "text/csv",
        "SplitType": "Line",
    }
    output = args["TransformOutput"]
    assert (output["Accept"], output["AssembleWith"]) == ("text/csv", "Line")
    assert output["S3OutputPath"] == (
        "s3://artifact-bucket/mammo-p-0123456789ab/abcdef123456/batchtransform/output"
    )


# -- both: request shapes, tags, snapshots --------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "operations"),
    [
        ("monitoring_definition", ["CreateProcessingJob"] * 2),  # drift, model quality
        ("batch_definition", ["CreateProcessingJob", "CreateProcessingJob", "CreateTransformJob"]),
    ],
)
def test_every_request_is_valid_for_botocore(
    request: pytest.FixtureRequest, fixture: str, operations: list[str]
) -> None:
    definition = request.getfixturevalue(fixture)
    stand_ins = approved_stand_in(definition) if fixture == "batch_definition" else None
    checked = []
    for name, kind, args in simulate(definition, stand_ins):
        errors = request_errors(name, kind, args)
        assert not errors, f"{name} -> {REQUESTS[kind][0]}:\n{errors}"
        assert {"Key": "project-name", "Value": "mammo"} in args["Tags"]
        checked.append(REQUESTS[kind][0])
    assert checked == operations


def test_longest_project_names_still_make_valid_requests() -> None:
    # A 32-character slug (the template's limit) and a Studio project id: the model name the
    # transform uses must stay within CreateTransformJob's 63 characters.
    config = dataclasses.replace(CONFIG, project_name="a" + "-b" * 15 + "c")
    definition = json.loads(pipeline_kinds.definition(pipeline_kinds.BATCH_INFERENCE, config))
    stand_ins = approved_stand_in(definition)
    model_name = stand_ins["LatestApprovedModel"]["ApprovedModel"]["model_name"]
    assert model_name == "a" + "-b" * 15 + "c-p-01234-abcdef123456" and len(model_name) == 53
    for name, kind, args in simulate(definition, stand_ins):
        assert request_errors(name, kind, args) == "", name


@pytest.mark.parametrize(
    ("fixture", "snapshot"),
    [
        ("monitoring_definition", "monitoring-definition.json"),
        ("batch_definition", "batch-inference-definition.json"),
    ],
)
def test_snapshot(request: pytest.FixtureRequest, fixture: str, snapshot: str) -> None:
    check_snapshot(request.getfixturevalue(fixture), SNAPSHOTS / snapshot)


# -- the local executor refuses them --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["monitoring", "batch-inference"])
def test_local_executor_refuses_with_one_line(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # no project.toml above
    fixture = {"monitoring": "monitoring_definition", "batch-inference": "batch_definition"}
    definition = request.getfixturevalue(fixture[kind])
    with pytest.raises(UnsupportedDefinitionError, match=f"this is the {kind} pipeline"):
        LocalExecutor(definition, tmp_path)
    path = tmp_path / "definition.json"
    path.write_text(json.dumps(definition), encoding="utf-8")
    argv = ["--definition", str(path), "--work-dir", str(tmp_path / "work")]
    assert run_cli(commands.run_local_main, argv) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: this is the {kind} pipeline, which runs only on SageMaker (upsert it with "
        "upsert-pipelines); the local executor runs the model-build pipeline\n"
    )
    assert not (tmp_path / "work" / "jobs").exists()


# -- the container's own argument parsers accept what the steps pass --------------------------------


def test_container_entry_points_accept_the_step_arguments(
    monitoring_definition: dict[str, Any], batch_definition: dict[str, Any]
) -> None:
    # The other side of the contract, checked with the image's real parsers (model_container is
    # installed next to model_build): a renamed or missing flag fails here, not in a scheduled run.
    monitoring = _requests(monitoring_definition)["MonitorDataCapture"]
    args = monitor_options.build_parser().parse_args(
        monitoring["AppSpecification"]["ContainerArguments"]
    )
    window = monitor_options.parse_window(args)
    assert window.end is not None and window.start is not None  # '' = now, minus 24 h
    assert (window.end - window.start).total_seconds() == 24 * 3600
    assert (args.violation_status, args.publish_metrics, args.input_format) == (0, True, "capture")
    assert (args.namespace, args.endpoint, args.region) == (
        "mammo/DataDrift",
        "mammo-prod",
        "eu-west-1",
    )

    requests = batch_requests(batch_definition)
    check = requests["CheckBatchInput"]["AppSpecification"]["ContainerArguments"]
    args = monitor_options.build_parser().parse_args(check)
    monitor_options.parse_window(args)  # csv input takes no window: raises if one were passed
    assert (args.input_format, args.violation_status) == ("csv", 0)
    assert args.baseline_dir is None and args.output_dir is None  # the defaults the step mounts

    approved = requests["LatestApprovedModel"]["AppSpecification"]["ContainerArguments"]
    args = approved_model._parser().parse_args(approved)
    assert (args.model_package_group, args.model_name, args.execution_role_arn) == (
        "mammo-p-0123456789ab",
        MODEL_NAME,
        CONFIG.role_arn,
    )
    assert args.output_dir is None  # default processing/approved, the step's output


@pytest.mark.parametrize("kind", [pipeline_kinds.MONITORING, pipeline_kinds.BATCH_INFERENCE])
def test_a_scheduled_definition_builds_first_in_a_fresh_process_without_a_region(
    kind: str,
) -> None:
    """The SDK's import needs a region: a scheduled pipeline built before anything else imported
    the SDK (its own upsert, a test run in another order) must set up the offline SDK first."""
    code = (
        "import json\n"
        "from model_build import pipeline_kinds\n"
        "from tests.conftest import MEDIUM\n"
        f"json.loads(pipeline_kinds.definition({kind!r}, MEDIUM))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
