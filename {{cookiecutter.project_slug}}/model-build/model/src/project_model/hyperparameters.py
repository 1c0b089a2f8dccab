"""Training hyperparameters: defaults, and parsing SageMaker's all-strings hyperparameters.json.

REPLACE: your estimator's settings. Keep ``threshold`` (the server's decision threshold) and
``from_mapping``; the pipeline passes the values of its parameters (model_build/pipeline.py) by name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from model_container.entrypoint import StepError
from project_model.schema import MONOTONE


@dataclass(frozen=True)
class Hyperparameters:
    """XGBoost settings of the default model (binary:logistic, early stopping on validation AUC)."""

    max_depth: int = 3
    eta: float = 0.1
    num_round: int = 100
    early_stopping_rounds: int = 20  # 0 turns early stopping off; AUC plateaus early, so be patient
    min_child_weight: float = 1.0
    subsample: float = 1.0
    colsample_bytree: float = 1.0
    seed: int = 0
    monotone: int = 1  # 1: the score follows the directions in schema.MONOTONE; 0: unconstrained
    threshold: float = 0.5  # decision threshold written to the model metadata for serving

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Hyperparameters:
        """Parse values as SageMaker passes them (strings, sometimes JSON-quoted); reject unknown keys.

        Keys SageMaker or the SDK add for themselves (``sagemaker_*``, ``_tuning_objective_metric``)
        are ignored.
        """
        known = {field.name: field for field in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key.startswith(("sagemaker_", "_")):
                continue
            if key not in known:
                raise StepError(f"unknown hyperparameter {key!r}; allowed: {', '.join(known)}")
            values[key] = _convert(key, value, int if known[key].type in ("int", int) else float)
        parsed = cls(**values)
        parsed.validate()
        return parsed

    def validate(self) -> None:
        """Raise StepError naming the first value outside its allowed range."""
        for name, ok, allowed in (
            ("max_depth", 1 <= self.max_depth <= 20, "an integer 1-20"),
            ("eta", 0 < self.eta <= 1, "a number in (0, 1]"),
            ("num_round", 1 <= self.num_round <= 10_000, "an integer 1-10000"),
            ("early_stopping_rounds", self.early_stopping_rounds >= 0, "an integer >= 0 (0 = off)"),
            ("min_child_weight", self.min_child_weight >= 0, "a number >= 0"),
            ("subsample", 0 < self.subsample <= 1, "a number in (0, 1]"),
            ("colsample_bytree", 0 < self.colsample_bytree <= 1, "a number in (0, 1]"),
            ("seed", self.seed >= 0, "an integer >= 0"),
            ("monotone", self.monotone in (0, 1), "0 or 1"),
            ("threshold", 0 < self.threshold < 1, "a number in (0, 1)"),
        ):
            if not ok:
                raise StepError(
                    f"hyperparameter {name}={getattr(self, name)!r} is not allowed; expected {allowed}"
                )

    def xgboost_params(self, feature_names: Sequence[str]) -> dict[str, Any]:
        """The booster parameters (everything but the round counts and the threshold)."""
        directions = [MONOTONE.get(name, 0) if self.monotone else 0 for name in feature_names]
        return {
            "monotone_constraints": "(" + ",".join(map(str, directions)) + ")",
            "objective": "binary:logistic",
            "eval_metric": "auc",
            "tree_method": "hist",
            "max_depth": self.max_depth,
            "eta": self.eta,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "seed": self.seed,
        }


def _convert(key: str, value: Any, kind: Callable[[str], Any]) -> Any:
    text = str(value).strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':  # the SDK may JSON-encode string values
        text = json.loads(text)
    try:
        number = float(text)
        if kind is int:
            if not number.is_integer():
                raise ValueError
            return int(number)
        return number
    except (ValueError, OverflowError):
        expected = "an integer" if kind is int else "a number"
        raise StepError(f"hyperparameter {key}={value!r} is not {expected}") from None
