"""Load the trained model the training step wrote (`model-metadata.json` + xgboost JSON/UBJ) and score rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xgboost as xgb

from model_container.serve import trees

METADATA_FILE = "model-metadata.json"
FORMAT_VERSION = 1
# Up to this many rows per request, walking the tree arrays (serve/trees.py) beats xgboost's
# `inplace_predict` and its 60-100 us of fixed cost per call; beyond it xgboost's blocked predictor
# wins (crossover measured at 8-16 rows on the benchmark model, bench/serving).
SMALL_BATCH_ROWS = 8
# The fast path is used only if it reproduces xgboost on probe rows to this absolute tolerance.
AGREEMENT_TOLERANCE = 1e-6


class ModelError(RuntimeError):
    """The model folder is missing, incomplete or not in the format this server reads."""


@dataclass
class Model:
    """A booster plus what serving needs to know about its inputs and decision threshold."""

    booster: xgb.Booster
    features: tuple[str, ...]
    threshold: float
    iteration_range: tuple[int, int]
    # The same trees (already cut to iteration_range) as arrays; None = xgboost only.
    small_batch: trees.TreeArrays | None = None

    @property
    def n_features(self) -> int:
        return len(self.features)

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Probability of the positive class for each row (NaN = missing value), as float32."""
        if self.small_batch is not None and len(rows) <= SMALL_BATCH_ROWS:
            return self.small_batch.predict(rows)
        return self.predict_xgboost(rows)

    def predict_xgboost(self, rows: np.ndarray) -> np.ndarray:
        # inplace_predict skips building a DMatrix: xgboost's cheapest path.
        return self.booster.inplace_predict(
            rows, iteration_range=self.iteration_range, validate_features=False
        )


def probe_rows(n_features: int, n: int = 256) -> np.ndarray:
    """Rows spread over small and large magnitudes, about 10 % missing: they reach many leaves."""
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((n, n_features)) * rng.choice([1.0, 10.0, 100.0, 1000.0], (n, 1))
    rows[rng.random(rows.shape) < 0.1] = np.nan
    return rows.astype(np.float32)


def small_batch_model(model: Model) -> trees.TreeArrays | None:
    """The model's trees as arrays, or None when they cannot reproduce xgboost's scores."""
    probe = probe_rows(model.n_features)
    try:
        converted = trees.from_booster(model.booster, model.iteration_range[1])
        ours = converted.predict(probe)
    except (trees.UnsupportedModelError, KeyError, TypeError, ValueError, IndexError):
        return None
    # Each score within the tolerance (NaN never is).
    difference = np.abs(ours - model.predict_xgboost(probe))
    return converted if bool((difference <= AGREEMENT_TOLERANCE).all()) else None


def _metadata(model_dir: Path) -> dict:
    path = model_dir / METADATA_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(
            f"{path} not found; the model folder must hold {METADATA_FILE} and the model file"
        ) from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{path}: format_version must be {FORMAT_VERSION}, got {meta.get('format_version')!r}"
        )
    return meta


@dataclass(frozen=True)
class ModelSpec:
    """What `model-metadata.json` says, checked without touching xgboost (safe before forking workers)."""

    model_path: Path
    features: tuple[str, ...]
    threshold: float
    best_iteration: int | None


def read_spec(model_dir: str | Path) -> ModelSpec:
    """Check the model folder: metadata fields and the model file's presence."""
    model_dir = Path(model_dir)
    meta = _metadata(model_dir)
    where = model_dir / METADATA_FILE
    features = meta.get("features")
    if (
        not isinstance(features, list)
        or not features
        or not all(isinstance(f, str) for f in features)
    ):
        raise ModelError(f"{where}: 'features' must be a non-empty list of names, got {features!r}")
    threshold = meta.get("threshold", 0.5)
    if type(threshold) not in (int, float) or not 0.0 <= threshold <= 1.0:
        raise ModelError(f"{where}: 'threshold' must be a number in [0, 1], got {threshold!r}")
    model_file = meta.get("model_file", "xgboost-model.json")
    if not isinstance(model_file, str) or not model_file or Path(model_file).name != model_file:
        raise ModelError(
            f"{where}: 'model_file' must be a file name in the model folder, got {model_file!r}"
        )
    best = meta.get("best_iteration")
    if best is not None and (type(best) is not int or best < 0):
        raise ModelError(f"{where}: 'best_iteration' must be a non-negative integer, got {best!r}")
    path = model_dir / model_file
    if not path.is_file():
        raise ModelError(f"{path} not found (named by 'model_file' in {METADATA_FILE})")
    return ModelSpec(path, tuple(features), float(threshold), best)


def load_model(model_dir: str | Path, nthread: int = 1) -> Model:
    """Load the booster; `nthread` is the OpenMP threads one worker may use (one per worker by default).

    Call it in the process that will predict: xgboost runs OpenMP regions while loading, and a
    process forked after that can deadlock in the OpenMP runtime.
    """
    spec = read_spec(model_dir)
    booster = xgb.Booster(params={"nthread": nthread})
    try:
        booster.load_model(str(spec.model_path))
    except xgb.core.XGBoostError as exc:
        first_line = (str(exc).strip().splitlines() or ["unknown error"])[0]
        raise ModelError(
            f"{spec.model_path}: xgboost cannot load it ({first_line[:200]})"
        ) from None
    if booster.num_features() != len(spec.features):
        raise ModelError(
            f"{spec.model_path} expects {booster.num_features()} features but metadata lists {len(spec.features)}"
        )
    booster.set_param({"nthread": nthread})
    rounds = booster.num_boosted_rounds()
    if spec.best_iteration is not None and spec.best_iteration >= rounds:
        raise ModelError(
            f"{spec.model_path}: best_iteration {spec.best_iteration} >= its {rounds} boosting rounds"
        )
    # Score with the trees up to the early-stopping optimum, as evaluation does; (0, 0) means all trees.
    stop = 0 if spec.best_iteration is None else spec.best_iteration + 1
    model = Model(booster, spec.features, spec.threshold, (0, stop))
    model.small_batch = small_batch_model(model)
    return model
