"""A step's CacheConfig as the local executor honours it.

As on SageMaker (https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-caching.html), a cached step
reuses the latest successful run of the same step of the same pipeline, younger than ExpireAfter, whose
key attributes are the same (resolved; the attributes per step type:
https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-default-keys.html). Locally the image does not
run, the step code of this checkout does: the key also holds ``code_version``, a digest of that code.
And the run's outputs must still be under ``<work>/s3``. Entries: ``<work>/cache/<pipeline>/<step>/``
(``<pipeline>``: model-build, ...), pruned when they expire.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from model_build.errors import UsageError
from model_build.local.resolve import UnsupportedDefinitionError
from model_build.local.storage import s3_path

KEY_ATTRIBUTES = {
    "Processing": ("AppSpecification", "Environment", "ProcessingInputs"),
    "Training": (
        "AlgorithmSpecification",
        "CheckpointConfig",
        "DebugHookConfig",
        "DebugRuleConfigurations",
        "Environment",
        "HyperParameters",
        "InputDataConfig",
    ),
    "Transform": ("DataProcessing", "Environment", "ModelName", "TransformInput"),
}
# ISO 8601 durations as the caching page writes them ("P30D", "PT1H", "30d", "T16m"); years and
# months count as 365 and 30 days.
_DURATION = re.compile(
    r"P?(?:(?P<Y>\d+)Y)?(?:(?P<Mo>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
    r"(?:T(?:(?P<H>\d+)H)?(?:(?P<Mi>\d+)M)?(?:(?P<S>\d+)S)?)?",
    re.IGNORECASE,
)
_SECONDS = {
    "Y": 365 * 86400,
    "Mo": 30 * 86400,
    "W": 7 * 86400,
    "D": 86400,
    "H": 3600,
    "Mi": 60,
    "S": 1,
}


def duration_seconds(text: str) -> float:
    """``ExpireAfter`` in seconds; UsageError for anything but a positive ISO 8601 duration."""
    match = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    seconds = sum(
        int(value) * _SECONDS[unit]
        for unit, value in (match.groupdict() if match else {}).items()
        if value
    )
    if not seconds:
        raise UsageError(f"ExpireAfter {text!r} is not an ISO 8601 duration such as P30D or PT1H")
    return seconds


def cache_lifetime(step: Mapping[str, Any]) -> float | None:
    """Seconds a run of ``step`` stays reusable; None when its CacheConfig does not turn caching on."""
    config = step.get("CacheConfig")
    if not config or not config.get("Enabled"):
        return None
    name, kind = step["Name"], step["Type"]
    if kind not in KEY_ATTRIBUTES:
        raise UnsupportedDefinitionError(
            f"step {name!r}: a {kind} step is not cached by the local executor "
            f"(cached step types: {', '.join(KEY_ATTRIBUTES)})"
        )
    if set(config) - {"Enabled", "ExpireAfter"} or "ExpireAfter" not in config:
        raise UsageError(
            f"step {name!r}: CacheConfig {config} needs exactly Enabled and ExpireAfter"
        )
    try:
        return duration_seconds(config["ExpireAfter"])
    except UsageError as error:
        raise UsageError(f"step {name!r}: {error}") from None


def output_uris(properties: Mapping[str, Any]) -> list[str]:
    """The S3 locations a finished job step wrote (what a reuse needs to still exist)."""
    outputs = properties.get("ProcessingOutputConfig", {}).get("Outputs", [])
    uris = [item["S3Output"]["S3Uri"] for item in outputs]
    if "ModelArtifacts" in properties:
        uris.append(properties["ModelArtifacts"]["S3ModelArtifacts"])
    if "TransformOutput" in properties:
        uris.append(properties["TransformOutput"]["S3OutputPath"])
    return uris


class StepCache:
    """Successful runs of one pipeline's cached steps, under ``<work>/cache/<pipeline>/``."""

    def __init__(
        self,
        work: Path,
        pipeline: str,
        code_version: str = "",
        now: Callable[[], float] = time.time,
    ) -> None:
        self.work = work
        self.root = work / "cache" / pipeline
        self.code_version = code_version
        self.now = now

    def key(self, kind: str, args: Mapping[str, Any]) -> str:
        """The digest of the step's resolved key attributes and the local code version."""
        attributes = {name: args.get(name) for name in KEY_ATTRIBUTES[kind]}
        text = json.dumps([kind, attributes, self.code_version], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def lookup(self, step: str, key: str, lifetime: float) -> dict[str, Any] | None:
        """The stored run of ``step`` with ``key``, if younger than ``lifetime`` s and its outputs exist."""
        path = self.root / step / f"{key}.json"
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if self.now() - entry["finished"] >= lifetime:
            return None
        if not all(s3_path(self.work, uri).exists() for uri in output_uris(entry["properties"])):
            return None
        return dict(entry)

    def store(
        self, step: str, key: str, properties: dict[str, Any], execution_id: str, lifetime: float
    ) -> None:
        """Record a successful run; it replaces an older one with the same key (the latest is
        reused), and entries of ``step`` older than ``lifetime`` go."""
        folder = self.root / step
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.json"):
            if old.stat().st_mtime < time.time() - lifetime:
                old.unlink(missing_ok=True)
        entry = {"execution_id": execution_id, "finished": self.now(), "properties": properties}
        temporary = folder / f"{key}.tmp"
        temporary.write_text(json.dumps(entry, indent=2, default=str), encoding="utf-8")
        temporary.replace(folder / f"{key}.json")
