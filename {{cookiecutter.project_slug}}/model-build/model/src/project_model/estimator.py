"""The estimator: XGBoost, binary:logistic, early stopping on the validation AUC.

REPLACE: train, save, load and score your own estimator here. The machinery calls only the functions
below (see ``project_model/__init__.py``); rows are float arrays with categories as codes and NaN for a
missing value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from model_container.data import Dataset
from project_model.hyperparameters import Hyperparameters
from project_model.schema import SCHEMA
from project_model.trees import UnsupportedModelError, from_booster

MODEL_FILE = "xgboost-model.json"  # xgboost's JSON format: xgboost 3.1+ reads no other but UBJ


@dataclass(frozen=True)
class Fitted:
    estimator: xgb.Booster  # holds exactly the trees up to the best iteration
    metrics: dict[str, float]  # printed as `<name>: <value>`: SageMaker's metric regexes read them
    info: dict[str, Any] = field(default_factory=dict)  # recorded in the model's metadata


def fit(
    train: Dataset,
    validation: Dataset | None,
    hyperparameters: Hyperparameters,
    log: Callable[[str], None] | None = None,
) -> Fitted:
    """Train; with a validation set, stop early on its AUC and keep the best iteration.

    ``log`` receives one line per round (``[round] train-auc: ... validation-auc: ...``). Under an
    active xgboost collective (distributed training) every worker calls this with its shard.
    """
    dtrain = _dmatrix(train)
    evals = [(dtrain, "train")]
    if validation is not None:
        evals.append((_dmatrix(validation), "validation"))
    stop_early = validation is not None and hyperparameters.early_stopping_rounds > 0
    history: dict[str, Any] = {}
    booster = xgb.train(
        hyperparameters.xgboost_params(train.feature_names),
        dtrain,
        num_boost_round=hyperparameters.num_round,
        evals=evals,
        evals_result=history,
        early_stopping_rounds=hyperparameters.early_stopping_rounds if stop_early else None,
        verbose_eval=False,
        callbacks=[_LogRounds(log)] if log else None,
    )
    best = booster.best_iteration if stop_early else booster.num_boosted_rounds() - 1
    metrics = {f"{name}-auc": float(history[name]["auc"][best]) for name in history}
    # Slice so the saved model IS the best model: servers need no iteration range.
    return Fitted(
        booster[: best + 1],
        metrics,
        {"best_iteration": best, "xgboost_version": xgb.__version__},
    )


def predict(estimator: xgb.Booster, rows: np.ndarray) -> np.ndarray:
    """Probabilities of class 1 (inplace_predict skips building a DMatrix: xgboost's cheapest path)."""
    return estimator.inplace_predict(rows, validate_features=False)


def save(estimator: xgb.Booster, folder: Path) -> str:
    """Write the estimator into ``folder``; returns the file name the metadata records."""
    estimator.save_model(folder / MODEL_FILE)
    return MODEL_FILE


def load(path: Path, threads: int = 1) -> xgb.Booster:
    """Read a file written by ``save``; ``threads`` is the OpenMP threads one scorer may use.

    Raises ValueError with xgboost's first line when the file is not a model it can read.
    """
    booster = xgb.Booster(params={"nthread": threads})
    try:
        booster.load_model(path)
    except xgb.core.XGBoostError as error:
        first_line = (str(error).strip().splitlines() or ["unreadable"])[0]
        raise ValueError(f"xgboost cannot load it ({first_line[:200]})") from None
    booster.set_param({"nthread": threads})
    return booster


def explain(estimator: xgb.Booster, rows: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """XGBoost's exact TreeSHAP in log-odds: one column per feature, the last the bias term."""
    return estimator.predict(_dmatrix_of(rows, list(names)), pred_contribs=True)


def small_batch(estimator: xgb.Booster) -> Callable[[np.ndarray], np.ndarray] | None:
    """The tree walker (trees.py) for 1-8 row requests (None when it cannot read these trees)."""
    try:
        return from_booster(estimator).predict
    except (UnsupportedModelError, KeyError, TypeError, ValueError, IndexError):
        return None


def _feature_types(names: Sequence[str]) -> list[str]:
    categorical = SCHEMA.categories()
    return ["c" if name in categorical else "q" for name in names]


def _dmatrix_of(
    rows: np.ndarray, names: list[str], labels: np.ndarray | None = None
) -> xgb.DMatrix:
    return xgb.DMatrix(
        rows,
        label=labels,
        feature_names=names,
        feature_types=_feature_types(names),
        enable_categorical=True,
    )


def _dmatrix(data: Dataset) -> xgb.DMatrix:
    return _dmatrix_of(data.features, data.feature_names, data.labels)


class _LogRounds(xgb.callback.TrainingCallback):
    """Print each round's AUCs in the ``<name>-auc: <value>`` form SageMaker metric regexes parse."""

    def __init__(self, log: Callable[[str], None]) -> None:
        super().__init__()
        self._log = log

    def after_iteration(self, model: xgb.Booster, epoch: int, evals_log: dict[str, Any]) -> bool:
        scores = " ".join(
            f"{name}-auc: {metrics['auc'][-1]:.5f}" for name, metrics in evals_log.items()
        )
        self._log(f"[{epoch}] {scores}")
        return False
