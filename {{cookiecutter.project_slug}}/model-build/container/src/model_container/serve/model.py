"""The served model: the artifact (model_container.artifact) plus the small-batch path the model
folder may offer (``project_model.small_batch``), used only where it reproduces the estimator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import project_model
from model_container import artifact
from model_container.artifact import ModelError, read_spec

__all__ = ["SMALL_BATCH_ROWS", "Model", "ModelError", "load_model", "read_spec"]

# Up to this many rows per request the small-batch scorer (the sample's: walking the tree arrays,
# project_model/trees.py) beats the estimator's own path and its fixed cost per call; beyond it the
# estimator's batched predictor wins (crossover measured at 8-16 rows on the sample model).
SMALL_BATCH_ROWS = 8
# The small-batch scorer is used only if it reproduces the estimator on probe rows to this tolerance.
AGREEMENT_TOLERANCE = 1e-6


@dataclass
class Model:
    """What the server needs: the loaded artifact and, when it agrees, the small-batch scorer."""

    loaded: artifact.Model
    small_batch: Callable[[np.ndarray], np.ndarray] | None = None

    @property
    def features(self) -> tuple[str, ...]:
        return self.loaded.spec.features

    @property
    def categories(self) -> dict[str, tuple[str, ...]]:
        return self.loaded.spec.categories

    @property
    def threshold(self) -> float:
        return self.loaded.spec.threshold

    @property
    def n_features(self) -> int:
        return len(self.features)

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Probability of the positive class for each row (NaN = missing value), as float32."""
        if self.small_batch is not None and len(rows) <= SMALL_BATCH_ROWS:
            return self.small_batch(rows)
        return self.predict_full(rows)

    def predict_full(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.loaded.predict(rows), dtype=np.float32)


def probe_rows(model: Model, n: int = 256) -> np.ndarray:
    """Rows spread over small and large magnitudes, about 10 % missing, valid codes for categories."""
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((n, model.n_features)) * rng.choice(
        [1.0, 10.0, 100.0, 1000.0], (n, 1)
    )
    for index, name in enumerate(model.features):
        if name in model.categories:
            rows[:, index] = rng.integers(0, len(model.categories[name]), n)
    rows[rng.random(rows.shape) < 0.1] = np.nan
    return rows.astype(np.float32)


def agreeing_small_batch(model: Model) -> Callable[[np.ndarray], np.ndarray] | None:
    """The model folder's small-batch scorer, or None when there is none or it disagrees."""
    scorer = project_model.small_batch(model.loaded.estimator)
    if scorer is None:
        return None
    probe = probe_rows(model)
    try:
        ours = np.asarray(scorer(probe), dtype=np.float64)
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    difference = np.abs(ours - model.predict_full(probe))
    return scorer if bool((difference <= AGREEMENT_TOLERANCE).all()) else None


def load_model(model_dir: str | Path, nthread: int = 1) -> Model:
    """Load the model; `nthread` is the OpenMP threads one worker may use (one per worker by default).

    Call it in the process that will predict: xgboost runs OpenMP regions while loading, and a
    process forked after that can deadlock in the OpenMP runtime.
    """
    model = Model(artifact.load(model_dir, nthread))
    model.small_batch = agreeing_small_batch(model)
    return model
