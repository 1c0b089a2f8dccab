"""Data-quality baselines in the JSON shapes SageMaker Model Monitor writes and reads.

``statistics.json``: per feature ``inferred_type`` and ``numerical_statistics`` (counts, mean, sum,
std_dev, min, max, and the ``distribution.kll`` sketch with 10 equal-width buckets);
``constraints.json``: per feature completeness and non-negativity, plus the ``monitoring_config``
that Model Monitor's drift check (``comparison_threshold`` 0.1) uses.

A categorical feature is ``String`` with its categories as ``string_constraints.domains``; its
statistics are those of its codes (positions in that list), which the monitor compares with the
L-infinity distance of the two category distributions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

KLL_K = 2048  # Model Monitor's sketch parameters
KLL_C = 0.64
BUCKETS = 10  # Model Monitor materialises the distribution in 10 buckets


def inferred_type(values: np.ndarray) -> str:
    """``Integral`` when every present value is whole, else ``Fractional`` (as Model Monitor infers)."""
    present = values[~np.isnan(values)]
    return "Integral" if np.all(present == np.round(present)) else "Fractional"


def kll_sketch(values: np.ndarray) -> list[list[float]]:
    """The sketch's compactor levels. Up to k values KLL keeps them all, exactly, at level 0;
    beyond that we keep every 2^h-th sorted value at level h (weight 2^h), a valid compacted state."""
    ordered = np.sort(values)
    level = 0
    while len(ordered) > KLL_K:
        ordered = ordered[(len(ordered) % 2) :: 2] if level == 0 else ordered[1::2]
        level += 1
    return [[] for _ in range(level)] + [[float(v) for v in ordered]]


def buckets(values: np.ndarray) -> list[dict[str, float]]:
    """Counts in 10 equal-width buckets from min to max (the last one includes max)."""
    low, high = float(values.min()), float(values.max())
    if low == high:
        return [{"lower_bound": low, "upper_bound": high, "count": float(len(values))}]
    edges = np.linspace(low, high, BUCKETS + 1)
    counts, _ = np.histogram(values, bins=edges)
    return [
        {
            "lower_bound": float(edges[i]),
            "upper_bound": float(edges[i + 1]),
            "count": float(counts[i]),
        }
        for i in range(BUCKETS)
    ]


Categories = Mapping[str, Sequence[str]]  # categorical feature -> its categories


def statistics(
    names: Sequence[str], table: np.ndarray, categories: Categories | None = None
) -> dict[str, Any]:
    """The ``statistics.json`` document of a feature table (NaN = missing, categories as codes)."""
    categories = categories or {}
    features = []
    for index, name in enumerate(names):
        column = table[:, index]
        present = column[~np.isnan(column)]
        numbers: dict[str, Any] = {
            "common": {
                "num_present": len(present),
                "num_missing": int(len(column) - len(present)),
            }
        }
        if len(present):
            numbers.update(
                mean=float(present.mean()),
                sum=float(present.sum()),
                std_dev=float(present.std()),
                min=float(present.min()),
                max=float(present.max()),
                distribution={
                    "kll": {
                        "buckets": buckets(present),
                        "sketch": {
                            "parameters": {"c": KLL_C, "k": float(KLL_K)},
                            "data": kll_sketch(present),
                        },
                    }
                },
            )
        kind = "String" if name in categories else inferred_type(column)
        features.append({"name": name, "inferred_type": kind, "numerical_statistics": numbers})
    return {"version": 0.0, "dataset": {"item_count": len(table)}, "features": features}


def constraints(
    names: Sequence[str], table: np.ndarray, categories: Categories | None = None
) -> dict[str, Any]:
    """The ``constraints.json`` document suggested for a feature table (what Model Monitor suggests)."""
    categories = categories or {}
    features = []
    for index, name in enumerate(names):
        column = table[:, index]
        present = column[~np.isnan(column)]
        feature: dict[str, Any] = {
            "name": name,
            "inferred_type": "String" if name in categories else inferred_type(column),
            "completeness": float(len(present) / len(column)) if len(column) else 0.0,
        }
        if name in categories:
            feature["string_constraints"] = {"domains": list(categories[name])}
        else:
            non_negative = bool(len(present) and present.min() >= 0)
            feature["num_constraints"] = {"is_non_negative": non_negative}
        features.append(feature)
    return {
        "version": 0.0,
        "features": features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 1.0,
            "domain_content_threshold": 1.0,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": 0.1,
                "comparison_method": "Robust",
                "categorical_comparison_threshold": 0.1,
                "categorical_drift_method": "LInfinity",
            },
        },
    }
