"""Every job of the three pipelines: the project's KMS key on its volumes and outputs (when the build
passes one), network isolation as NETWORK_ISOLATION decides, inter-container traffic encryption for
large projects; the requests stay valid for botocore."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from model_build import errors, options, pipeline_kinds
from model_build.steps import NETWORK_ISOLATION, network_isolation
from tests.botocore_requests import request_errors, simulate
from tests.conftest import CONFIG, NAME_ENV, all_steps
from tests.test_scheduled_definitions import approved_stand_in

KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEYED = dataclasses.replace(CONFIG, kms_key_arn=KEY, size="large")

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
        assert _get(args, OUTPUT_KEY[kind]) == KEY, name


def test_without_a_key_no_job_names_one(
    definition: dict[str, Any],
    batch_definition: dict[str, Any],
    monitoring_definition: dict[str, Any],
) -> None:
    plain = {"build": definition, "batch": batch_definition, "monitoring": monitoring_definition}
    jobs = _jobs(plain)
    assert len(jobs) == len(EXPECTED_ISOLATION) + 1  # the transform has no isolation of its own
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


def test_keyed_requests_are_valid_for_botocore(keyed: dict[str, dict[str, Any]]) -> None:
    checked = []
    for kind, definition in keyed.items():
        stand_in = approved_stand_in(definition) if kind == pipeline_kinds.BATCH_INFERENCE else None
        for name, step_type, args in simulate(definition, stand_in):
            assert not request_errors(name, step_type, args), name
            checked.append(step_type)
    assert sorted(set(checked)) == ["Processing", "RegisterModel", "Training", "Transform"]


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
