"""Load a stage configuration file and check every knob before anything is deployed.

The JSON Schema beside the files (stage-config.schema.json) documents and bounds each knob; this
module adds the rules between knobs and the instance types botocore knows. Every problem becomes one
line naming the file and the key.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
from jsonschema import Draft202012Validator

SCHEMA_FILE = "stage-config.schema.json"


class StageConfigError(ValueError):
    """One or more problems in a stage configuration file, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@cache
def hosting_instance_types() -> frozenset[str]:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return frozenset(model.shape_for("ProductionVariantInstanceType").enum)


def _key(parts: list[str | int]) -> str:
    return ".".join(str(p) for p in parts) or "(top level)"


def problems(config: Any, schema: dict[str, Any], path: Path) -> list[str]:
    """Every problem with ``config`` as ``<file>: <key>: <why>`` lines (empty when it is valid)."""
    validator = Draft202012Validator(schema)
    found = [
        f"{path}: {_key(list(error.absolute_path))}: {error.message}"
        for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.path)))
    ]
    if found:
        return found
    if config["instance_type"] not in hosting_instance_types():
        found.append(
            f"{path}: instance_type: {config['instance_type']!r} is not a SageMaker hosting "
            "instance type; allowed: e.g. ml.m5.large, ml.c5.xlarge"
        )
    scaling = config["autoscaling"]
    if scaling["min_instances"] > scaling["max_instances"]:
        found.append(
            f"{path}: autoscaling.min_instances: {scaling['min_instances']} is above "
            f"autoscaling.max_instances ({scaling['max_instances']}); allowed: min <= max"
        )
    elif (
        not scaling["min_instances"] <= config["initial_instance_count"] <= scaling["max_instances"]
    ):
        found.append(
            f"{path}: initial_instance_count: {config['initial_instance_count']} is outside "
            f"autoscaling [{scaling['min_instances']}, {scaling['max_instances']}]"
        )
    deployment = config["deployment"]
    if deployment["traffic_routing"] == "CANARY" and deployment["canary_size_percent"] > 50:
        found.append(
            f"{path}: deployment.canary_size_percent: {deployment['canary_size_percent']} is above "
            "50; allowed: 1-50 (SageMaker's canary is at most half of the new fleet)"
        )
    shadow = config.get("shadow")
    if shadow is not None:
        found += _shadow_problems(shadow, config["stage"], path)
    if config["stage"] != path.name.removesuffix("-config.json"):
        found.append(f"{path}: stage: {config['stage']!r} does not match the file name")
    return found


def _shadow_problems(shadow: dict[str, Any], stage: str, path: Path) -> list[str]:
    """A shadow variant is a prod option; a candidate version is needed unless it is off."""
    found = []
    if stage != "prod" and shadow["mode"] != "off":
        found.append(
            f"{path}: shadow.mode: {shadow['mode']!r} in {stage}; allowed: off (prod only)"
        )
    if shadow["mode"] != "off" and shadow["model_package_version"] is None:
        found.append(
            f"{path}: shadow.model_package_version: null with mode {shadow['mode']!r}; "
            "allowed: the candidate's version number"
        )
    if shadow["instance_type"] not in hosting_instance_types():
        found.append(
            f"{path}: shadow.instance_type: {shadow['instance_type']!r} is not a SageMaker hosting "
            "instance type"
        )
    return found


def load(path: Path) -> dict[str, Any]:
    """The checked configuration in ``path``; ``StageConfigError`` lists what is wrong."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        schema = json.loads((path.parent / SCHEMA_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise StageConfigError([f"{path}: cannot read: {error}"]) from error
    found = problems(config, schema, path)
    if found:
        raise StageConfigError(found)
    return config
