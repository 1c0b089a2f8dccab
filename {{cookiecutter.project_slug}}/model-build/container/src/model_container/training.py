"""The one training function: used by the ``train`` entry point and by the model-quality benchmark."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import xgboost as xgb

from model_container.data import Dataset
from model_container.hyperparameters import Hyperparameters


@dataclass(frozen=True)
class FitResult:
    booster: xgb.Booster  # holds exactly the trees up to the best iteration
    best_iteration: int
    train_auc: float
    validation_auc: float | None


def fit(
    train: Dataset,
    validation: Dataset | None,
    hyperparameters: Hyperparameters,
    *,
    log: Callable[[str], None] | None = None,
) -> FitResult:
    """Train XGBoost; with a validation set, stop early on its AUC and keep the best iteration.

    ``log`` receives one line per round (``[round] train-auc: ... validation-auc: ...``). Under an
    active xgboost collective (distributed training) every worker must call this with its shard.
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
    # Slice so the saved model IS the best model: servers need no iteration range.
    best_booster = booster[: best + 1]
    return FitResult(
        booster=best_booster,
        best_iteration=best,
        train_auc=float(history["train"]["auc"][best]),
        validation_auc=float(history["validation"]["auc"][best])
        if validation is not None
        else None,
    )


def predict(booster: xgb.Booster, features: Any, feature_names: list[str]) -> Any:
    """Probabilities of class 1 for a feature matrix (NaN = missing)."""
    return booster.predict(xgb.DMatrix(features, feature_names=feature_names))


def _dmatrix(data: Dataset) -> xgb.DMatrix:
    return xgb.DMatrix(data.features, label=data.labels, feature_names=data.feature_names)


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
