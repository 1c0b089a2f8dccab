"""The local executor's mechanics on a small hand-written definition with stand-in containers."""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from model_build.errors import StepFailedError, UsageError
from model_build.local.cache import duration_seconds
from model_build.local.commands import BUNDLED_DATA, step_code_version
from model_build.local.executor import LocalExecutor
from model_build.local.jobs import run_processing
from model_build.local.resolve import UnsupportedDefinitionError
from model_build.local.retries import EXCEPTION_TYPES, StepFaultError
from model_build.local.storage import s3_path
from tests.botocore_requests import simulate

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


# -- retry policies -------------------------------------------------------------------------------


def retrying(definition: dict[str, Any], step: str, **policy: Any) -> dict[str, Any]:
    """``definition`` with one retry policy on ``step`` (a top-level step)."""
    target = next(s for s in definition["Steps"] if s["Name"] == step)
    target["RetryPolicies"] = [{"BackoffRate": 2.0, "IntervalSeconds": 60, **policy}]
    return definition


class Faults:
    """Stands in for run_processing: the listed failures first, then the real job."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self, *args: Any) -> dict[str, Any]:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return run_processing(*args)


def capacity() -> StepFaultError:
    return StepFaultError("SageMaker.CAPACITY_ERROR", "Make: insufficient capacity for ml.m5.large")


def faulty_executor(
    tmp_path: Path, definition: dict[str, Any], monkeypatch: pytest.MonkeyPatch, faults: Faults
) -> tuple[LocalExecutor, list[float], list[str]]:
    monkeypatch.setattr("model_build.local.executor.run_processing", faults)
    run = executor(tmp_path, definition)
    waits: list[float] = []
    lines: list[str] = []
    run.sleep, run._log = waits.append, lines.append
    return run, waits, lines


def test_a_transient_failure_is_retried_and_the_run_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = retrying(
        make_definition(), "Make", ExceptionType=["SageMaker.CAPACITY_ERROR"], MaxAttempts=2
    )
    faults = Faults(capacity())
    run, waits, lines = faulty_executor(tmp_path, definition, monkeypatch, faults)
    result = run.run()
    assert result.status == "Succeeded", result.failure
    assert faults.calls == 2 and result.registered
    assert waits == [1.0]  # SageMaker's 60 s, a minute-per-second locally
    (retry,) = [line for line in lines if "attempt" in line]
    assert retry.endswith(
        "Make attempt 1 failed: SageMaker.CAPACITY_ERROR: Make: insufficient capacity for "
        "ml.m5.large; retrying after 60s (locally 1.00s)"
    )


def test_retries_back_off_up_to_max_attempts_then_the_step_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = retrying(
        make_definition(), "Make", ExceptionType=["SageMaker.CAPACITY_ERROR"], MaxAttempts=3
    )
    faults = Faults(*(capacity() for _ in range(10)))
    run, waits, _ = faulty_executor(tmp_path, definition, monkeypatch, faults)
    result = run.run()
    assert result.status == "Failed" and faults.calls == 4  # the first attempt and 3 retries
    assert waits == [1.0, 2.0, 2.0]  # 60, 120, 240 s: scaled, and capped at LOCAL_WAIT_CAP
    assert result.failure == (
        "SageMaker.CAPACITY_ERROR: Make: insufficient capacity for ml.m5.large (after 3 retries)"
    )
    assert set(result.steps) == {"Make"}


def test_expire_after_min_bounds_retries_by_sagemaker_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = retrying(
        make_definition(),
        "Make",
        ExceptionType=["SageMaker.CAPACITY_ERROR"],
        BackoffRate=1.0,
        ExpireAfterMin=2,
    )
    faults = Faults(*(capacity() for _ in range(10)))
    run, waits, _ = faulty_executor(tmp_path, definition, monkeypatch, faults)
    assert run.run().status == "Failed"
    assert faults.calls == 2 and waits == [1.0]  # a second 60 s wait would reach the 2 minutes


@pytest.mark.parametrize(
    "failure",
    [
        StepFaultError("SageMaker.RESOURCE_LIMIT", "Make: quota"),  # a type no policy names
        StepFailedError("Make: raw data has 3 columns, expected 6"),  # the step's own error
    ],
)
def test_a_failure_no_policy_matches_fails_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    definition = retrying(
        make_definition(), "Make", ExceptionType=["SageMaker.CAPACITY_ERROR"], MaxAttempts=5
    )
    faults = Faults(failure)
    run, waits, _ = faulty_executor(tmp_path, definition, monkeypatch, faults)
    result = run.run()
    assert result.status == "Failed" and result.failure == str(failure)
    assert faults.calls == 1 and waits == []


def test_a_failing_container_is_not_retried(tmp_path: Path) -> None:
    definition = retrying(make_definition("fail"), "Make", ExceptionType=list(EXCEPTION_TYPES))
    run = executor(tmp_path, definition)
    run.sleep = lambda _: pytest.fail("no retry expected")
    result = run.run()
    assert result.failure.startswith("Make: raw data has 3 columns, expected 6 (exit 1; log: ")


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"ExceptionType": ["SageMaker.OOPS"]}, "ExceptionType 'SageMaker.OOPS' is not one of"),
        (
            {"ExceptionType": ["Step.THROTTLING"], "MaxAttempts": 2, "ExpireAfterMin": 5},
            "MaxAttempts and ExpireAfterMin are exclusive",
        ),
        ({"ExceptionType": ["Step.THROTTLING"], "MaxAttempts": 21}, "MaxAttempts must be 0-20"),
        ({"ExceptionType": ["Step.THROTTLING"], "Retries": 2}, "unknown field 'Retries'"),
    ],
)
def test_a_policy_sagemaker_would_refuse_is_refused(
    tmp_path: Path, policy: dict[str, Any], message: str
) -> None:
    definition = make_definition()
    definition["Steps"][2]["RetryPolicies"] = [policy]  # Make
    with pytest.raises(UnsupportedDefinitionError, match=re.escape(message)):
        executor(tmp_path, definition)


def test_a_condition_step_takes_no_retry_policy(tmp_path: Path) -> None:
    definition = make_definition()
    definition["Steps"][0]["RetryPolicies"] = [{"ExceptionType": ["Step.THROTTLING"]}]  # Gate
    with pytest.raises(UnsupportedDefinitionError, match="a Condition step takes no RetryPolicies"):
        executor(tmp_path, definition)


# -- step caching ---------------------------------------------------------------------------------


def cached(definition: dict[str, Any], *names: str, expire: str = "PT1H") -> dict[str, Any]:
    for step in definition["Steps"]:
        if step["Name"] in names:
            step["CacheConfig"] = {"Enabled": True, "ExpireAfter": expire}
    return definition


def jobs_run(result: Any) -> set[str]:
    return {name for name, step in result.steps.items() if not step.get("cached")}


def test_a_cached_step_is_reused_on_an_identical_rerun(tmp_path: Path) -> None:
    run = executor(tmp_path, cached(make_definition(), "Make", "Fit"))
    first = run.run()
    assert jobs_run(first) == {"Make", "Fit", "Gate", "Register"}
    lines: list[str] = []
    run._log = lines.append
    again = run.run()
    assert again.status == "Succeeded", again.failure
    assert any(
        line.endswith(f"] Make cached: reused execution {first.execution_id} (0.0s)")
        for line in lines
    ), lines
    # Make's key is unchanged, so is Fit's (it reads Make's reused outputs): only the rest reruns.
    assert jobs_run(again) == {"Gate", "Register"}
    assert again.property_files["Make"] == first.property_files["Make"]  # read from the reused run
    assert [p["ModelPackageVersion"] for p in again.registered] == [2]
    model = again.registered[0]["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    assert f"/{first.execution_id}/fit/" in model


def test_a_cached_step_reruns_when_its_inputs_change(tmp_path: Path) -> None:
    run = executor(tmp_path, cached(make_definition(), "Make", "Fit"))
    run.run()
    changed = run.run({"Value": "0.8"})  # Make's ContainerArguments, and so Fit's input, change
    assert jobs_run(changed) == {"Make", "Fit", "Gate", "Register"}
    assert changed.property_files["Make"]["Metrics"]["metrics"]["auc"]["value"] == 0.8
    assert jobs_run(run.run({"Value": "0.8"})) == {"Gate", "Register"}  # cached in turn
    reseeded = run.run({"Value": "0.8", "Seed": "6"})  # only Fit's hyperparameters change
    assert jobs_run(reseeded) == {"Fit", "Gate", "Register"}


def test_a_cached_run_is_not_reused_when_expired_deleted_or_the_code_changed(
    tmp_path: Path,
) -> None:
    definition = cached(make_definition(), "Make", expire="P1D")
    run = executor(tmp_path, definition)
    first = run.run()
    run.cache.now = lambda: time.time() + 86400  # a day later: expired
    assert "Make" in jobs_run(run.run())
    run.cache.now = time.time
    assert "Make" not in jobs_run(run.run())
    shutil.rmtree(tmp_path / "s3" / "bkt" / "runs")  # the reused run's outputs are gone
    assert "Make" in jobs_run(run.run())
    other_code = executor_like(run, tmp_path, definition, code_version="v2")
    assert "Make" in jobs_run(other_code.run())
    assert first.status == "Succeeded"


def executor_like(
    run: LocalExecutor, tmp_path: Path, definition: dict[str, Any], code_version: str
) -> LocalExecutor:
    return LocalExecutor(
        definition,
        tmp_path,
        region=run.region,
        log=lambda _: None,
        train_command=run.train_command,
        code_version=code_version,
    )


def test_a_failed_step_is_never_reused(tmp_path: Path) -> None:
    definition = cached(make_definition("fail"), "Make")
    assert executor(tmp_path, definition).run().status == "Failed"
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"Enabled": True}, "needs exactly Enabled and ExpireAfter"),
        ({"Enabled": True, "ExpireAfter": "soon"}, "'soon' is not an ISO 8601 duration"),
    ],
)
def test_a_cache_config_sagemaker_would_refuse_is_refused(
    tmp_path: Path, config: dict[str, Any], message: str
) -> None:
    definition = make_definition()
    definition["Steps"][2]["CacheConfig"] = config  # Make
    with pytest.raises(UsageError, match=message):
        executor(tmp_path, definition)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("P30D", 30 * 86400), ("PT1H", 3600), ("30d", 30 * 86400), ("T16m", 960), ("P1DT5H", 104400)],
)
def test_expire_after_durations(text: str, seconds: int) -> None:
    assert duration_seconds(text) == seconds


def test_the_step_code_version_follows_the_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "stepcode"
    package.mkdir()
    (package / "__init__.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = step_code_version(("stepcode",))
    assert step_code_version(("stepcode",)) == before
    (package / "__init__.py").write_text("VALUE = 2\n")
    assert step_code_version(("stepcode",)) != before


# -- progress lines -------------------------------------------------------------------------------


def test_concurrent_steps_log_one_line_per_event(tmp_path: Path) -> None:
    definition = make_definition()
    twin = json.loads(json.dumps(definition["Steps"][2]))  # a second step that only needs Data
    twin["Name"] = "MakeToo"
    definition["Steps"].append(twin)
    out = io.StringIO()

    def slow_print(line: str) -> None:
        # print() writes the line and its newline separately; a slow stream widens that gap.
        out.write(line)
        time.sleep(0.05)
        out.write("\n")

    run = executor(tmp_path, definition)
    run._log = slow_print
    assert run.run().status == "Succeeded"
    lines = out.getvalue().splitlines()
    stamp = re.compile(r"\[ *\d+\.\ds\] ")
    for line in lines:  # a timestamp opens each line, and no line holds two events
        condition = line.startswith("         Gate: conditions met")
        assert condition or (stamp.match(line) and len(stamp.findall(line)) == 1), repr(line)
    started = [line for line in lines if line.endswith("(Processing) started")]
    assert sorted(line.split("] ")[1] for line in started) == [
        "Make (Processing) started",
        "MakeToo (Processing) started",
    ]


def _preprocess_on(tmp_path: Path, definition: dict[str, Any], hosts: int) -> dict[str, Any]:
    """The definition's Preprocess request run on ``hosts`` local hosts over three raw objects."""
    ((args,),) = [
        [
            args
            for name, _, args in simulate(definition, parameters={"ProcessingInstanceCount": hosts})
            if name == "Preprocess"
        ]
    ]
    lines = next(BUNDLED_DATA.iterdir()).read_text().splitlines(True)
    raw = s3_path(tmp_path, args["ProcessingInputs"][0]["S3Input"]["S3Uri"])
    raw.mkdir(parents=True)
    for index in range(3):
        (raw / f"part-{index}.csv").write_text("".join(lines[index::3]))
    run_processing(tmp_path, "Preprocess", args, {})
    return {
        item["OutputName"]: s3_path(tmp_path, item["S3Output"]["S3Uri"])
        for item in args["ProcessingOutputConfig"]["Outputs"]
    }


def test_two_preprocess_hosts_write_the_split_one_host_writes(
    tmp_path: Path, definition: dict[str, Any]
) -> None:
    """ProcessingInstanceCount=2: each host gets a share of the raw objects (ShardedByS3Key) and
    names its files after itself; together they write the rows one host writes to every output."""
    one = _preprocess_on(tmp_path / "one", definition, 1)
    two = _preprocess_on(tmp_path / "two", definition, 2)
    shares = [
        sorted(p.name for p in (tmp_path / "two" / "jobs" / "Preprocess" / host).rglob("part-*"))
        for host in ("algo-1", "algo-2")
    ]
    assert shares == [["part-0.csv", "part-2.csv"], ["part-1.csv"]]
    # The MLflow record comes from the first host only.
    assert [p.name for p in two.pop("tracking").iterdir()] == ["Preprocess"]
    del one["tracking"]
    for name, folder in two.items():
        assert sorted(p.name for p in folder.iterdir()) == [
            f"{name}-algo-1.csv",
            f"{name}-algo-2.csv",
        ]
        assert [p.name for p in one[name].iterdir()] == [f"{name}-algo-1.csv"]

        def rows(folder: Path) -> list[str]:
            files = sorted(folder.iterdir())
            headers = {f.read_text().splitlines()[0] for f in files}
            assert len(headers) == 1  # every part has the same header
            return sorted(line for f in files for line in f.read_text().splitlines()[1:])

        assert rows(folder) == rows(one[name]), name


def test_hosts_writing_the_same_file_name_fail_the_step(tmp_path: Path) -> None:
    definition = make_definition()
    process = definition["Steps"][2]["Arguments"]
    process["ProcessingResources"] = {
        "ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}
    }
    result = executor(tmp_path, definition).run()
    assert result.status == "Failed"
    assert "Make: algo-1 and algo-2 both wrote copy/data.csv" in (result.failure or "")


# Reads the local registry's folder if it may, else calls S3: what Champion does, in a few lines.
_AWS_CALL = (
    "import os, boto3\n"
    "if os.environ.get('LOCAL_AWS_ROOT'):\n"
    "    raise SystemExit(0)\n"
    "boto3.client('s3', region_name='eu-west-1', aws_access_key_id='k',"
    " aws_secret_access_key='s').list_buckets()\n"
)


@pytest.mark.parametrize("isolation", [True, False])
def test_an_isolated_job_cannot_call_aws(tmp_path: Path, isolation: bool) -> None:
    """EnableNetworkIsolation: the container gets neither the local stand-in for AWS nor a
    reachable endpoint, so the call fails; without it the step reads the local registry."""
    args = {
        "AppSpecification": {"ContainerEntrypoint": ["python3", "-c", _AWS_CALL]},
        "NetworkConfig": {"EnableNetworkIsolation": isolation},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1}},
    }
    env = {"LOCAL_AWS_ROOT": str(tmp_path), "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:1"}
    if not isolation:
        assert run_processing(tmp_path, "Champion", args, env)["ProcessingJobStatus"] == "Completed"
        return
    with pytest.raises(
        StepFailedError, match=r"Could not connect to the endpoint URL: \"http://127\.0\.0\.1:9/"
    ):
        run_processing(tmp_path, "Champion", args, env)


def test_a_job_in_a_vpc_runs_locally_as_any_other(tmp_path: Path) -> None:
    """VpcConfig (large projects' jobs, as the twin runs them) has no local meaning: ignored."""
    args = {
        "AppSpecification": {"ContainerEntrypoint": ["python3", "-c", _AWS_CALL]},
        "NetworkConfig": {
            "EnableNetworkIsolation": False,
            "VpcConfig": {"SecurityGroupIds": ["sg-0123abcd"], "Subnets": ["subnet-0123abcd"]},
        },
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1}},
    }
    env = {"LOCAL_AWS_ROOT": str(tmp_path)}
    assert run_processing(tmp_path, "Champion", args, env)["ProcessingJobStatus"] == "Completed"
