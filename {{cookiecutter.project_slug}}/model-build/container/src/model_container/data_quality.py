"""Data-quality baselines in the documented JSON shapes of SageMaker Model Monitor.

``statistics.json`` (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-statistics.html):
a numeric feature is ``Integral`` or ``Fractional`` with ``numerical_statistics`` (counts, mean, sum,
std_dev, min, max and the ``distribution.kll`` sketch, materialised in 10 buckets); a categorical
feature is ``String`` with ``string_statistics`` (counts, ``distinct_count`` and
``distribution.categorical.buckets`` of value and count).
``constraints.json`` (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-constraints.html):
per feature its type, the suggested completeness, ``num_constraints.is_non_negative`` (numeric) or
``string_constraints.domains`` (the categories), and the ``monitoring_config`` with the page's
defaults (type and domain thresholds 0.1, drift threshold 0.1, L-infinity for categories).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

KLL_K = 2048  # Model Monitor's sketch parameters
KLL_C = 0.64
BUCKETS = 10  # "By default, the distribution is materialized in 10 buckets" (the statistics page)
# monitoring_config defaults of the constraints page: a share of values of the wrong type (or, for a
# String feature, outside its domain) above 0.1 is a violation.
DATATYPE_CHECK_THRESHOLD = 0.1
DOMAIN_CONTENT_THRESHOLD = 0.1
COMPARISON_THRESHOLD = 0.1
# Completeness suggested for an incomplete feature: a lower bound of the share, rounded down to 2
# decimals, after Deequ (the library behind Model Monitor's suggestions), whose RetainCompletenessRule
# (github.com/awslabs/deequ, src/main/scala/com/amazon/deequ/suggestions/rules/RetainCompletenessRule.scala)
# takes p - z * sqrt(p (1 - p) / n). The monitor compares every window with this constraint directly
# (the violations page), so the bound also allows for the sampling noise of a window of
# COMPLETENESS_WINDOW rows (smaller windows may flag noise), at 99 % (z = 2.576):
# p - z * sqrt(p (1 - p) (1 / n + 1 / COMPLETENESS_WINDOW)). A complete feature must stay complete (1.0).
COMPLETENESS_Z = 2.576
COMPLETENESS_WINDOW = 100


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


def bucket_edges(low: float, high: float) -> np.ndarray:
    """11 edges of the 10 equal-width buckets from min to max; a feature of one value gets 10
    buckets too (of width 1 from that value, the first holding every value): always 10 buckets."""
    if low == high:
        return low + np.arange(BUCKETS + 1, dtype=np.float64)
    return np.linspace(low, high, BUCKETS + 1)


def buckets(values: np.ndarray) -> list[dict[str, float]]:
    """Counts in 10 equal-width buckets from min to max (the last one includes max)."""
    edges = bucket_edges(float(values.min()), float(values.max()))
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


def string_statistics(common: dict[str, int], counts: Mapping[str, float]) -> dict[str, Any]:
    """A ``String`` feature's ``string_statistics``: its values seen and how often."""
    seen = [(value, count) for value, count in counts.items() if count > 0]
    return {
        "common": common,
        "distinct_count": float(len(seen)),
        "distribution": {
            "categorical": {
                "buckets": [{"value": value, "count": float(count)} for value, count in seen]
            }
        },
    }


def numerical_statistics(common: dict[str, int], present: np.ndarray) -> dict[str, Any]:
    numbers: dict[str, Any] = {"common": common}
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
    return numbers


def statistics(
    names: Sequence[str], table: np.ndarray, categories: Categories | None = None
) -> dict[str, Any]:
    """The ``statistics.json`` document of a feature table (NaN = missing, categories as codes:
    positions in their list)."""
    categories = categories or {}
    features = []
    for index, name in enumerate(names):
        column = table[:, index]
        present = column[~np.isnan(column)]
        common = {"num_present": len(present), "num_missing": int(len(column) - len(present))}
        if name in categories:
            values = list(categories[name])
            counts = np.bincount(present.astype(np.int64), minlength=len(values))
            features.append(
                {
                    "name": name,
                    "inferred_type": "String",
                    "string_statistics": string_statistics(
                        common, dict(zip(values, counts.tolist(), strict=True))
                    ),
                }
            )
        else:
            features.append(
                {
                    "name": name,
                    "inferred_type": inferred_type(column),
                    "numerical_statistics": numerical_statistics(common, present),
                }
            )
    return {"version": 0.0, "dataset": {"item_count": len(table)}, "features": features}


def suggested_completeness(present: int, rows: int) -> float:
    """1.0 for a complete feature; else the lower bound of its share (see COMPLETENESS_Z)."""
    if not rows:
        return 0.0
    share = present / rows
    if share >= 1.0:
        return 1.0
    noise = math.sqrt(share * (1 - share) * (1 / rows + 1 / COMPLETENESS_WINDOW))
    return max(math.floor((share - COMPLETENESS_Z * noise) * 100) / 100, 0.0)


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
            "completeness": suggested_completeness(len(present), len(column)),
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
            "datatype_check_threshold": DATATYPE_CHECK_THRESHOLD,
            "domain_content_threshold": DOMAIN_CONTENT_THRESHOLD,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": COMPARISON_THRESHOLD,
                "comparison_method": "Robust",
                "categorical_comparison_threshold": COMPARISON_THRESHOLD,
                "categorical_drift_method": "LInfinity",
            },
        },
    }
