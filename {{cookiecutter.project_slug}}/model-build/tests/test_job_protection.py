"""Every job of the three pipelines: the project's KMS key on its volumes and outputs (when the build
passes one), network isolation as NETWORK_ISOLATION decides, inter-container traffic encryption for
large projects, the project's VPC when the build passes one (large); the requests stay valid for
botocore."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from model_build import errors, options, pipeline_kinds
from model_build.steps import NETWORK_ISOLATION, network_isolation
from tests.botocore_requests import operation_errors, request_errors, simulate
from tests.conftest import CONFIG, NAME_ENV, all_steps
from tests.test_scheduled_definitions import approved_stand_in

KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
APP = "arn:aws:sagemaker:eu-west-1:111122223333:mlflow-app/app-0123456789ab"
# Every job there is: a large project's build with tracking on (Track and LinkRun).
KEYED = dataclasses.replace(CONFIG, kms_key_arn=KEY, size="large", tracking=True, tracking_uri=APP)

# Where each job type carries its volume key, output key and isolation (botocore's member names).
VOLUME_KEY = {
    "Processing": ("ProcessingResources", "ClusterConfig", "VolumeKmsKeyId"),
    "Training": ("ResourceConfig", "VolumeKmsKeyId"),
    "Transform": ("TransformResources", "VolumeKmsKeyId"),
}
OUTPUT_KEY = {
    "Processing": ("ProcessingOutputConfig", "KmsKeyId"),
    "Training": ("OutputDataConfig", "KmsKeyId"),
    "Transform": ("TransformOutput", "KmsKeyId"),
}
ISOLATION = {
    "Processing": ("NetworkConfig", "EnableNetworkIsolation"),
    "Training": ("EnableNetworkIsolation",),
}
# The decision, step by step (model-build/README.md, "Encryption and isolation").
EXPECTED_ISOLATION = {
    "Preprocess": True,
    "Champion": False,
    "Train": True,
    "Evaluate": True,
    "Baselines": True,
    "Bias": True,
    "LatestApprovedModel": False,
    "CheckBatchInput": True,
    "MonitorDataCapture": False,
    "MonitorModelQuality": False,
    "Track": False,
    "LinkRun": False,
}


def _get(args: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = args
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _definitions(config: Any) -> dict[str, dict[str, Any]]:
    return {
        kind: json.loads(pipeline_kinds.definition(kind, config))
        for kind in (
            pipeline_kinds.MODEL_BUILD,
            pipeline_kinds.BATCH_INFERENCE,
            pipeline_kinds.MONITORING,
        )
    }


@pytest.fixture(scope="module")
def keyed() -> dict[str, dict[str, Any]]:
    return _definitions(KEYED)


def _jobs(definitions: dict[str, dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (step["Name"], step["Type"], step["Arguments"])
        for definition in definitions.values()
        for step in all_steps(definition["Steps"])
        if step["Type"] in VOLUME_KEY
    ]


def test_every_job_encrypts_volume_and_output_with_the_project_key(
    keyed: dict[str, dict[str, Any]],
) -> None:
    jobs = _jobs(keyed)
    assert {kind for _, kind, _ in jobs} == {"Processing", "Training", "Transform"}
    for name, kind, args in jobs:
        assert _get(args, VOLUME_KEY[kind]) == KEY, name
        if name == "LinkRun":  # writes no output: nothing to encrypt
            assert "ProcessingOutputConfig" not in args
            continue
        assert _get(args, OUTPUT_KEY[kind]) == KEY, name


def test_without_a_key_no_job_names_one(
    definition: dict[str, Any],
    batch_definition: dict[str, Any],
    monitoring_definition: dict[str, Any],
) -> None:
    plain = {"build": definition, "batch": batch_definition, "monitoring": monitoring_definition}
    jobs = _jobs(plain)
    # The transform has no isolation of its own; Track and LinkRun come with tracking only.
    assert len(jobs) == len(EXPECTED_ISOLATION) + 1 - 2
    for name, kind, args in jobs:
        assert _get(args, VOLUME_KEY[kind]) is None, name
        assert _get(args, OUTPUT_KEY[kind]) is None, name
    assert "KmsKeyId" not in json.dumps(plain)


def test_network_isolation_per_step(keyed: dict[str, dict[str, Any]]) -> None:
    found = {
        name: _get(args, ISOLATION[kind]) for name, kind, args in _jobs(keyed) if kind in ISOLATION
    }
    assert found == EXPECTED_ISOLATION == NETWORK_ISOLATION


def test_a_step_without_a_decision_is_refused() -> None:
    with pytest.raises(ValueError, match=r"step 'Scoring' has no network isolation decision"):
        network_isolation("Scoring")


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_inter_container_traffic_encryption_for_large_only(size: str) -> None:
    config = dataclasses.replace(CONFIG, size=size)
    assert config.encrypts_inter_container_traffic is (size == "large")


def test_training_encrypts_inter_container_traffic_when_large(
    definition: dict[str, Any], keyed: dict[str, dict[str, Any]]
) -> None:
    def train(d: dict[str, Any]) -> dict[str, Any]:
        return next(s for s in d["Steps"] if s["Name"] == "Train")["Arguments"]

    assert train(keyed[pipeline_kinds.MODEL_BUILD])["EnableInterContainerTrafficEncryption"] is True
    assert train(definition)["EnableInterContainerTrafficEncryption"] is False  # small
    assert "VpcConfig" not in json.dumps(keyed)


def _assert_valid_for_botocore(definitions: dict[str, dict[str, Any]]) -> None:
    """Every job step of the three pipelines, as the executor would send it, fits botocore's shape."""
    checked = []
    for kind, definition in definitions.items():
        stand_in = approved_stand_in(definition) if kind == pipeline_kinds.BATCH_INFERENCE else None
        for name, step_type, args in simulate(definition, stand_in):
            assert not request_errors(name, step_type, args), name
            checked.append(step_type)
    assert sorted(set(checked)) == ["Processing", "RegisterModel", "Training", "Transform"]


def test_keyed_requests_are_valid_for_botocore(keyed: dict[str, dict[str, Any]]) -> None:
    _assert_valid_for_botocore(keyed)


def _config(monkeypatch: pytest.MonkeyPatch, key: str | None) -> Any:
    for name, value in NAME_ENV.items():
        monkeypatch.setenv(name, value)
    if key is None:
        monkeypatch.delenv("KMS_KEY_ARN", raising=False)
    else:
        monkeypatch.setenv("KMS_KEY_ARN", key)
    parser = errors.UsageParser()
    options.add_name_arguments(parser)
    return options.build_config(parser.parse_args([]), local=False)


def test_the_key_comes_from_kms_key_arn(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _config(monkeypatch, KEY).kms_key_arn == KEY
    assert _config(monkeypatch, None).kms_key_arn is None


def test_a_malformed_key_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(errors.UsageError, match=r"^KMS_KEY_ARN='alias/mine' is not a KMS key ARN"):
        _config(monkeypatch, "alias/mine")


SUBNETS = ("subnet-0123456789abcdef0", "subnet-0fedcba9876543210")
SECURITY_GROUP = "sg-0123456789abcdef0"
IN_VPC = dataclasses.replace(KEYED, job_subnets=SUBNETS, job_security_groups=(SECURITY_GROUP,))
VPC = {"SecurityGroupIds": [SECURITY_GROUP], "Subnets": list(SUBNETS)}
# Where a job's request carries its VpcConfig (a transform job's is its Model's: approved_model).
VPC_CONFIG = {"Processing": ("NetworkConfig", "VpcConfig"), "Training": ("VpcConfig",)}


@pytest.fixture(scope="module")
def in_vpc() -> dict[str, dict[str, Any]]:
    return _definitions(IN_VPC)


def test_every_job_runs_in_the_given_subnets_and_security_group(
    in_vpc: dict[str, dict[str, Any]],
) -> None:
    jobs = _jobs(in_vpc)
    assert len(jobs) == len(EXPECTED_ISOLATION) + 1
    for name, kind, args in jobs:
        if kind == "Transform":
            continue
        assert _get(args, VPC_CONFIG[kind]) == VPC, name
        # The VPC changes where a job runs, not its isolation decision.
        assert _get(args, ISOLATION[kind]) is NETWORK_ISOLATION[name], name
    # The batch transform's Model is created by LatestApprovedModel, in the same VPC.
    (approved,) = [args for name, _, args in jobs if name == "LatestApprovedModel"]
    arguments = approved["AppSpecification"]["ContainerArguments"]
    subnet_ids = arguments[arguments.index("--subnet-ids") + 1]
    groups = arguments[arguments.index("--security-group-ids") + 1]
    assert (subnet_ids, groups) == (",".join(SUBNETS), SECURITY_GROUP)


def test_vpc_requests_are_valid_for_botocore(in_vpc: dict[str, dict[str, Any]]) -> None:
    _assert_valid_for_botocore(in_vpc)
    # CreateModel with the VpcConfig approved_model sends (model_container.registry.create_model).
    request = {
        "ModelName": "p-abcdef123456",
        "ExecutionRoleArn": CONFIG.role_arn,
        "Containers": [
            {"ModelPackageName": "arn:aws:sagemaker:eu-west-1:111122223333:model-package/g/1"}
        ],
        "EnableNetworkIsolation": True,
        "VpcConfig": IN_VPC.job_vpc,
    }
    assert operation_errors("CreateModel", request) == ""
    assert "VpcConfig.Subnets" in operation_errors(
        "CreateModel",
        {**request, "VpcConfig": {"SecurityGroupIds": [SECURITY_GROUP], "Subnets": []}},
    )


def test_without_a_vpc_no_job_names_one(keyed: dict[str, dict[str, Any]]) -> None:
    assert IN_VPC.job_vpc == VPC and KEYED.job_vpc is None
    assert "VpcConfig" not in json.dumps(keyed) and "--subnet-ids" not in json.dumps(keyed)


def _vpc_config(monkeypatch: pytest.MonkeyPatch, subnets: str, groups: str) -> Any:
    for name, value in NAME_ENV.items():
        monkeypatch.setenv(name, value)
    for name, value in (("JOB_SUBNET_IDS", subnets), ("JOB_SECURITY_GROUP_IDS", groups)):
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)
    parser = errors.UsageParser()
    options.add_name_arguments(parser)
    return options.build_config(parser.parse_args([]), local=False)


def test_the_vpc_comes_from_job_subnet_ids_and_job_security_group_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = _vpc_config(monkeypatch, ",".join(SUBNETS), SECURITY_GROUP)
    assert (config.job_subnets, config.job_security_groups) == (SUBNETS, (SECURITY_GROUP,))
    assert _vpc_config(monkeypatch, "", "").job_vpc is None


@pytest.mark.parametrize(
    ("subnets", "groups", "message"),
    [
        (SUBNETS[0], "", r"^JOB_SUBNET_IDS and JOB_SECURITY_GROUP_IDS go together"),
        ("", SECURITY_GROUP, r"^JOB_SUBNET_IDS and JOB_SECURITY_GROUP_IDS go together"),
        (f"{SUBNETS[0]} {SUBNETS[1]}", SECURITY_GROUP, r"^JOB_SUBNET_IDS='subnet-.*' is not 1-16"),
        (SUBNETS[0], "default", r"^JOB_SECURITY_GROUP_IDS='default' is not 1-5 security group"),
    ],
)
def test_a_malformed_vpc_is_one_line(
    monkeypatch: pytest.MonkeyPatch, subnets: str, groups: str, message: str
) -> None:
    with pytest.raises(errors.UsageError, match=message):
        _vpc_config(monkeypatch, subnets, groups)


def test_tracking_adds_the_publishing_steps_only_when_configured(
    monkeypatch: pytest.MonkeyPatch, definition: dict[str, Any]
) -> None:
    """MLFLOW_TRACKING_URI from the build adds Track and LinkRun, not isolated (they reach the
    server), with the URI as the MlflowTrackingUri parameter's default; the steps that record stay
    isolated; unset, neither step nor parameter exists."""
    names = {step["Name"] for step in all_steps(definition["Steps"])}
    assert not names & {"Track", "LinkRun"}
    assert "MlflowTrackingUri" not in {p["Name"] for p in definition["Parameters"]}
    monkeypatch.setenv("MLFLOW_TRACKING_URI", APP)
    monkeypatch.setenv("SOURCE_GIT_COMMIT", "0" * 40)
    config = _config(monkeypatch, None)
    assert config.tracking and config.tracking_uri == APP
    assert config.source_git == {"source_git_commit": "0" * 40}
    assert config.tracking_environment == {"SOURCE_GIT_COMMIT": "0" * 40}
    tracked = json.loads(pipeline_kinds.definition(pipeline_kinds.MODEL_BUILD, config))
    (parameter,) = [p for p in tracked["Parameters"] if p["Name"] == "MlflowTrackingUri"]
    assert parameter["DefaultValue"] == APP
    steps = {step["Name"]: step for step in all_steps(tracked["Steps"])}
    for name in ("Track", "LinkRun"):
        environment = steps[name]["Arguments"]["Environment"]
        assert environment == {
            "SOURCE_GIT_COMMIT": "0" * 40,
            "MLFLOW_TRACKING_URI": {"Get": "Parameters.MlflowTrackingUri"},
            "PIPELINE_EXECUTION_ARN": {"Get": "Execution.PipelineExecutionArn"},
        }, name
        network = steps[name]["Arguments"]["NetworkConfig"]
        assert network["EnableNetworkIsolation"] is False, name
    for name, step in steps.items():  # no other step gets an environment
        if name not in ("Track", "LinkRun"):
            assert not step["Arguments"].get("Environment"), name
    for name in ("Preprocess", "Evaluate"):
        assert steps[name]["Arguments"]["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert steps["Train"]["Arguments"]["EnableNetworkIsolation"] is True
    # The package records the run; the gates wait for the run to be published.
    metadata = steps["Register"]["Arguments"]["CustomerMetadataProperties"]
    assert metadata["mlflow_run_id"] == {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Track.PropertyFiles.TrackingRun"},
            "Path": "run_id",
        }
    }
    assert "Track" in steps["QualityGate"]["DependsOn"]
    for name, step_type, args in simulate(tracked):
        assert not request_errors(name, step_type, args), name


def test_every_package_records_the_builds_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """SOURCE_GIT_* from the build go into Register's CustomerMetadataProperties, with or without
    tracking; a value the API would refuse is one line."""
    source = {
        "SOURCE_GIT_REPOSITORY": "https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/sagemaker-p",
        "SOURCE_GIT_BRANCH": "release/2026.12",
        "SOURCE_GIT_COMMIT": "0123456789abcdef0123456789abcdef01234567",
    }
    for name, value in source.items():
        monkeypatch.setenv(name, value)
    config = _config(monkeypatch, None)
    built = json.loads(pipeline_kinds.definition(pipeline_kinds.MODEL_BUILD, config))
    steps = {step["Name"]: step for step in all_steps(built["Steps"])}
    metadata = steps["Register"]["Arguments"]["CustomerMetadataProperties"]
    assert {k: v for k, v in metadata.items() if k.startswith("source_git_")} == {
        name.lower(): value for name, value in source.items()
    }
    for name, step_type, args in simulate(built):
        assert not request_errors(name, step_type, args), name
    monkeypatch.setenv("SOURCE_GIT_BRANCH", "fix#12")
    with pytest.raises(errors.UsageError, match=r"^SOURCE_GIT_BRANCH='fix#12' cannot be model"):
        _config(monkeypatch, None)
