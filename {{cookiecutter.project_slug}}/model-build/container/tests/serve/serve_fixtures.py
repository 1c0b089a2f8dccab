"""Write a small model folder in the training step's format (model-metadata.json + xgboost JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xgboost as xgb

from model_container import artifact
from project_model import SCHEMA

FEATURES = ("Age", "Shape", "Margin", "Density")


def make_rows(n: int, seed: int = 0) -> np.ndarray:
    """Rows shaped like the mammographic-mass features, about 5 % missing."""
    rng = np.random.default_rng(seed)
    rows = np.column_stack(
        [
            rng.integers(18, 96, n),
            rng.integers(1, 5, n),
            rng.integers(1, 6, n),
            rng.integers(1, 5, n),
        ]
    ).astype(np.float32)
    rows[rng.random(rows.shape) < 0.05] = np.nan
    return rows


def write_model(model_dir: Path, rounds: int = 100, seed: int = 0) -> Path:
    """Train a depth-3 binary:logistic booster on synthetic rows and save it as the train step does."""
    rows = make_rows(800, seed)
    logit = 0.05 * (np.nan_to_num(rows[:, 0], nan=55.0) - 55) + 0.6 * (
        np.nan_to_num(rows[:, 2], nan=3.0) - 3
    )
    labels = (np.random.default_rng(seed + 1).random(len(rows)) < 1 / (1 + np.exp(-logit))).astype(
        np.float32
    )
    params = {
        "objective": "binary:logistic",
        "max_depth": 3,
        "eta": 0.1,
        "nthread": 1,
        "seed": seed,
    }
    booster = xgb.train(
        params, xgb.DMatrix(rows, label=labels, feature_names=list(FEATURES)), rounds
    )
    model_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(model_dir / "xgboost-model.json"))
    metadata = {
        "format_version": artifact.FORMAT_VERSION,
        "features": list(FEATURES),
        "categories": {},
        "label": SCHEMA.label,
        "threshold": 0.5,
        "model_file": "xgboost-model.json",
        "info": {"xgboost_version": xgb.__version__, "best_iteration": rounds - 1},
    }
    (model_dir / artifact.METADATA_FILE).write_text(
        json.dumps(metadata, indent=2), encoding="utf-8"
    )
    return model_dir
