"""The model artifact contract shared by train, evaluate, baselines and the server.

``model/`` holds ``xgboost-model.json`` (xgboost's JSON format: xgboost 3.1+ cannot read the old
binary format) and ``model-metadata.json``; SageMaker tars ``model/`` into ``model.tar.gz``.
"""

from __future__ import annotations

import json
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xgboost as xgb

from model_container.schema import LABEL
from model_container.steps import StepError

FORMAT_VERSION = 1
MODEL_FILE = "xgboost-model.json"
METADATA_FILE = "model-metadata.json"


@dataclass(frozen=True)
class Model:
    booster: xgb.Booster
    features: list[str]
    threshold: float
    metadata: dict[str, Any]


def save(
    directory: Path,
    booster: xgb.Booster,
    *,
    features: list[str],
    threshold: float,
    best_iteration: int,
) -> None:
    """Write the model and its metadata into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    booster.save_model(directory / MODEL_FILE)
    metadata = {
        "format_version": FORMAT_VERSION,
        "features": features,
        "label": LABEL,
        "threshold": threshold,
        "xgboost_version": xgb.__version__,
        "best_iteration": best_iteration,
        "model_file": MODEL_FILE,
    }
    (directory / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")


def load(directory: Path) -> Model:
    """Load a model folder written by ``save``."""
    meta_path = directory / METADATA_FILE
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StepError(f"{meta_path} is missing; expected the output of the train step") from None
    except ValueError as error:
        raise StepError(f"{meta_path} is not valid JSON: {error}") from None
    if metadata.get("format_version") != FORMAT_VERSION:
        raise StepError(
            f"{meta_path}: format_version {metadata.get('format_version')!r}, expected {FORMAT_VERSION}"
        )
    features, threshold = metadata.get("features"), metadata.get("threshold")
    if (
        not isinstance(features, list)
        or not features
        or not all(isinstance(f, str) for f in features)
    ):
        raise StepError(
            f"{meta_path}: 'features' must be a non-empty list of names, got {features!r}"
        )
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 < threshold < 1
    ):
        raise StepError(f"{meta_path}: 'threshold' must be a number in (0, 1), got {threshold!r}")
    model_path = directory / str(metadata.get("model_file", MODEL_FILE))
    booster = xgb.Booster()
    try:
        booster.load_model(model_path)
    except xgb.core.XGBoostError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
        raise StepError(f"cannot load the model {model_path}: {first_line}") from None
    if booster.num_features() != len(features):
        raise StepError(
            f"{model_path} takes {booster.num_features()} features; {meta_path} lists {features}"
        )
    return Model(booster, features, float(threshold), metadata)


def load_archive(archive: Path) -> Model:
    """Load a model from SageMaker's ``model.tar.gz`` (members may sit under ``./``)."""
    if not archive.is_file():
        raise StepError(f"{archive} is missing; expected the train step's model.tar.gz")
    with tempfile.TemporaryDirectory() as scratch:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(scratch, filter="data")
        except (tarfile.TarError, OSError, EOFError) as error:
            raise StepError(f"{archive} is not a readable .tar.gz: {error}") from None
        found = sorted(Path(scratch).rglob(METADATA_FILE))
        if not found:
            raise StepError(f"{archive} has no {METADATA_FILE}; expected the train step's output")
        return load(found[0].parent)
