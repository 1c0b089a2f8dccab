"""The model artifact: what the train step writes into ``model/`` and evaluate, baselines and the
server read back. The one home of its file format.

``model/`` holds the estimator's file (``project_model.save`` names it) and ``model-metadata.json``:
``format_version``, ``features`` (in input order), ``categories`` (per categorical feature, the
strings whose positions are the codes the estimator was trained on), ``label``, ``threshold`` (the
server's decision threshold), ``model_file`` and ``info`` (what the estimator reported: version,
best iteration, ...). SageMaker tars ``model/`` into ``model.tar.gz``.
"""

from __future__ import annotations

import json
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import project_model
from model_container.entrypoint import StepError

FORMAT_VERSION = 2
METADATA_FILE = "model-metadata.json"


class ModelError(StepError):
    """The model folder is missing, incomplete or not in this format (the message says which)."""


@dataclass(frozen=True)
class ModelSpec:
    """What ``model-metadata.json`` says, checked without loading the estimator."""

    path: Path  # the estimator's file
    features: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]
    threshold: float
    metadata: dict[str, Any]


@dataclass(frozen=True)
class Model:
    spec: ModelSpec
    estimator: Any

    @property
    def features(self) -> list[str]:
        return list(self.spec.features)

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """P(positive) per row (categories as codes, NaN = missing)."""
        return project_model.predict(self.estimator, rows)


def save(
    folder: Path,
    estimator: Any,
    *,
    features: Sequence[str],
    categories: Mapping[str, Sequence[str]],
    label: str,
    threshold: float,
    info: Mapping[str, Any],
) -> None:
    """Write the estimator and its metadata into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    model_file = project_model.save(estimator, folder)
    metadata = {
        "format_version": FORMAT_VERSION,
        "features": list(features),
        "categories": {name: list(values) for name, values in categories.items()},
        "label": label,
        "threshold": threshold,
        "model_file": model_file,
        "info": dict(info),
    }
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")


def read_spec(folder: str | Path) -> ModelSpec:
    """Check the metadata fields and the model file's presence (safe before forking workers)."""
    where = Path(folder) / METADATA_FILE
    try:
        meta = json.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(
            f"{where} not found; the model folder must hold {METADATA_FILE} and the model file "
            "(the train step's output)"
        ) from None
    except (OSError, ValueError) as error:
        raise ModelError(f"{where} is not readable JSON: {error}") from None
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        found = meta.get("format_version") if isinstance(meta, dict) else meta
        raise ModelError(f"{where}: format_version must be {FORMAT_VERSION}, got {found!r}")
    features = meta.get("features")
    if (
        not isinstance(features, list)
        or not features
        or not all(isinstance(f, str) for f in features)
    ):
        raise ModelError(f"{where}: 'features' must be a non-empty list of names, got {features!r}")
    categories = meta.get("categories", {})
    if not isinstance(categories, dict) or not all(
        name in features
        and isinstance(values, list)
        and values
        and all(isinstance(v, str) for v in values)
        for name, values in categories.items()
    ):
        raise ModelError(
            f"{where}: 'categories' must map features to non-empty lists of strings, got {categories!r}"
        )
    threshold = meta.get("threshold")
    if type(threshold) not in (int, float) or not 0.0 < threshold < 1.0:
        raise ModelError(f"{where}: 'threshold' must be a number in (0, 1), got {threshold!r}")
    model_file = meta.get("model_file")
    if not isinstance(model_file, str) or not model_file or Path(model_file).name != model_file:
        raise ModelError(
            f"{where}: 'model_file' must be a file name in the model folder, got {model_file!r}"
        )
    path = Path(folder) / model_file
    if not path.is_file():
        raise ModelError(f"{path} not found (named by 'model_file' in {METADATA_FILE})")
    return ModelSpec(
        path,
        tuple(features),
        {name: tuple(values) for name, values in categories.items()},
        float(threshold),
        meta,
    )


def load(folder: str | Path, threads: int = 1) -> Model:
    """Load the model folder; ``threads``: what one scorer may use (one per server worker)."""
    spec = read_spec(folder)
    try:
        estimator = project_model.load(spec.path, threads)
    except ValueError as error:
        raise ModelError(f"cannot load the model {spec.path}: {error}") from None
    model = Model(spec, estimator)
    probe = np.zeros((1, len(spec.features)), dtype=np.float32)
    try:
        model.predict(probe)
    except Exception as error:  # the estimator and the metadata disagree (e.g. on the width)
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise ModelError(
            f"{spec.path} cannot score a row of the {len(spec.features)} features "
            f"{METADATA_FILE} lists: {reason}"
        ) from None
    return model


def load_archive(archive: Path) -> Model:
    """Load a model from SageMaker's ``model.tar.gz`` (members may sit under ``./``)."""
    if not archive.is_file():
        raise ModelError(f"{archive} is missing; expected the train step's model.tar.gz")
    with tempfile.TemporaryDirectory() as scratch:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(scratch, filter="data")
        except (tarfile.TarError, OSError, EOFError) as error:
            raise ModelError(f"{archive} is not a readable .tar.gz: {error}") from None
        found = sorted(Path(scratch).rglob(METADATA_FILE))
        if not found:
            raise ModelError(f"{archive} has no {METADATA_FILE}; expected the train step's output")
        return load(found[0].parent)
