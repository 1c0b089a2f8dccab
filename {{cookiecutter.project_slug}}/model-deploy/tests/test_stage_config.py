"""The shipped stage configurations are valid, and every bad knob is named with its file and key."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from model_deploy.stage_config import SCHEMA_FILE, StageConfigError, load

HERE = Path(__file__).resolve().parents[1]
STAGES = ("staging", "prod")


@pytest.mark.parametrize("stage", STAGES)
def test_shipped_configs_are_valid(stage: str) -> None:
    config = load(HERE / f"{stage}-config.json")
    assert config["stage"] == stage


def test_prod_is_at_least_as_careful_as_staging() -> None:
    staging, prod = (load(HERE / f"{stage}-config.json") for stage in STAGES)
    assert prod["autoscaling"]["min_instances"] >= 2  # survives the loss of one instance / AZ
    assert prod["deployment"]["traffic_routing"] in {"CANARY", "LINEAR"}
    assert (
        prod["deployment"]["wait_interval_seconds"]
        >= staging["deployment"]["wait_interval_seconds"]
    )


def _write(tmp_path: Path, stage: str, config: dict[str, Any]) -> Path:
    (tmp_path / SCHEMA_FILE).write_text((HERE / SCHEMA_FILE).read_text(encoding="utf-8"))
    target = tmp_path / f"{stage}-config.json"
    target.write_text(json.dumps(config))
    return target


def _edited(stage: str, key: str, value: Any) -> dict[str, Any]:
    config = copy.deepcopy(json.loads((HERE / f"{stage}-config.json").read_text(encoding="utf-8")))
    *parents, leaf = key.split(".")
    node = config
    for part in parents:
        node = node[part]
    node[leaf] = value
    return config


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("deployment.canary_size_percent", 0, "deployment.canary_size_percent: 0 is less than"),
        ("deployment.canary_size_percent", 101, "deployment.canary_size_percent: 101 is greater"),
        ("deployment.traffic_routing", "BLUE", "deployment.traffic_routing: 'BLUE' is not one of"),
        ("data_capture.sampling_percentage", 150, "data_capture.sampling_percentage: 150"),
        ("autoscaling.min_instances", 5, "autoscaling.min_instances: 5 is above"),
        ("initial_instance_count", 9, "initial_instance_count: 9 is outside"),
        ("instance_type", "ml.m5.huge", "instance_type: 'ml.m5.huge' is not a SageMaker hosting"),
        ("alarms.model_latency_p99_ms", 0, "alarms.model_latency_p99_ms: 0 is less than or equal"),
        ("stage", "prod", "stage: 'prod' does not match the file name"),
        ("autoscaling.surprise", 1, "autoscaling: Additional properties are not allowed"),
        ("autoscaling.enabled", "yes", "autoscaling.enabled: 'yes' is not of type 'boolean'"),
    ],
)
def test_bad_knob_is_named_with_file_and_key(
    tmp_path: Path, key: str, value: Any, message: str
) -> None:
    target = _write(tmp_path, "staging", _edited("staging", key, value))
    with pytest.raises(StageConfigError) as raised:
        load(target)
    assert any(
        line.startswith(f"{target}: ") and message in line for line in raised.value.problems
    ), raised.value.problems


def test_unreadable_file_is_one_clear_line(tmp_path: Path) -> None:
    target = tmp_path / "staging-config.json"
    target.write_text("{not json")
    with pytest.raises(StageConfigError, match=r"staging-config.json: cannot read"):
        load(target)


def test_canary_above_half_the_fleet_is_rejected(tmp_path: Path) -> None:
    target = _write(tmp_path, "prod", _edited("prod", "deployment.canary_size_percent", 60))
    with pytest.raises(StageConfigError, match=r"deployment.canary_size_percent: 60 is above 50"):
        load(target)


@pytest.mark.parametrize(
    ("stage", "shadow", "message"),
    [
        (
            "staging",
            {"mode": "shadow", "model_package_version": 2},
            "shadow.mode: 'shadow' in staging",
        ),
        (
            "prod",
            {"mode": "shadow", "model_package_version": None},
            "shadow.model_package_version: null",
        ),
        (
            "prod",
            {"mode": "promote", "model_package_version": 0},
            "shadow.model_package_version: 0",
        ),
        ("prod", {"mode": "canary"}, "shadow.mode: 'canary' is not one of"),
        ("prod", {"instance_type": "ml.m5.huge"}, "shadow.instance_type: 'ml.m5.huge' is not"),
    ],
)
def test_bad_shadow_is_named_with_file_and_key(
    tmp_path: Path, stage: str, shadow: dict[str, Any], message: str
) -> None:
    config = _edited(stage, "stage", stage)
    config["shadow"] = {
        "mode": "off",
        "model_package_version": None,
        "instance_type": "ml.m5.large",
        "instance_count": 1,
        **shadow,
    }
    target = _write(tmp_path, stage, config)
    with pytest.raises(StageConfigError) as raised:
        load(target)
    assert any(message in line for line in raised.value.problems), raised.value.problems
