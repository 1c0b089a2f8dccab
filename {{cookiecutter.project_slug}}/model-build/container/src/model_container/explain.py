"""Global feature attributions in Clarify's report shape, from the model folder's ``explain``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

MAX_ROWS = 10_000  # mean |SHAP| is stable long before this; bounds the step's run time


def sample(table: np.ndarray) -> np.ndarray:
    """At most MAX_ROWS rows, the same ones every run."""
    if len(table) > MAX_ROWS:
        return table[np.random.default_rng(0).choice(len(table), MAX_ROWS, replace=False)]
    return table


def global_shap(names: Sequence[str], contributions: np.ndarray) -> dict[str, Any]:
    """Mean |SHAP| per feature and the expected value, shaped like Clarify's ``analysis.json``.

    ``contributions``: one row per scored row, one column per feature and the bias term last.
    """
    if contributions.ndim != 2 or contributions.shape[1] != len(names) + 1:
        raise ValueError(
            f"attributions of shape {contributions.shape}; expected (rows, {len(names)} features + bias)"
        )
    per_feature = np.abs(contributions[:, :-1]).mean(axis=0)
    return {
        "version": "1.0",
        "explanations": {
            "kernel_shap": {
                "label0": {
                    "global_shap_values": {
                        name: float(value) for name, value in zip(names, per_feature, strict=True)
                    },
                    "expected_value": float(contributions[:, -1].mean()),
                }
            }
        },
    }
