"""Comparing a window's statistics with the baseline: Model Monitor's ``constraint_violations.json``.

Checks per feature (the baseline's ``constraints.json`` and ``statistics.json`` decide the limits):

- ``completeness_check``: the share of rows with a value fell below the baseline's completeness by
  more than ``completeness_tolerance``;
- ``data_type_check``: the share of values of the baseline's type (numbers; whole numbers for an
  ``Integral`` feature) is below ``datatype_check_threshold``;
- ``non_negative_check``: negative values in a feature the baseline marks ``is_non_negative``;
- ``range_check``: values outside the valid range the project's schema documents for the column;
- ``baseline_drift_check``: the two-sample KS distance (L-infinity distance of the CDFs) exceeds
  ``comparison_threshold`` (default 0.1). With ``comparison_method`` "Robust" (the baseline's
  default) it must also exceed the KS critical value at significance 0.01 for the two sample sizes,
  so that sampling noise in a small window is not reported as drift; "Simple" uses the threshold only.
  A categorical (``String``) feature compares its category shares instead: their L-infinity distance
  against ``categorical_comparison_threshold``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

import project_model
from model_container.columns import Numeric
from model_container.monitor.stats import (
    StreamingStatistics,
    cdf_distance,
    pmf_distance,
    weighted_sample,
)

DEFAULT_THRESHOLD = 0.1  # Model Monitor's comparison_threshold
DEFAULT_COMPLETENESS_TOLERANCE = 0.05
KS_C_ALPHA = math.sqrt(-math.log(0.01 / 2) / 2)  # 1.628: KS critical-value factor at alpha = 0.01
_VALID_RANGE = {
    column.name: (column.low, column.high)
    for column in project_model.SCHEMA.columns
    if isinstance(column, Numeric)
}


@dataclass(frozen=True)
class FeatureResult:
    name: str
    completeness: float
    baseline_completeness: float | None
    drift: float | None  # KS distance to the baseline; None without a baseline sketch or data
    drift_limit: float | None  # the distance above which drift is a violation


def _by_name(document: dict[str, Any], what: str) -> dict[str, dict[str, Any]]:
    features = document.get("features")
    if not isinstance(features, list) or not all(
        isinstance(f, dict) and isinstance(f.get("name"), str) for f in features
    ):
        raise ValueError(f"{what} has no list of named features")
    return {feature["name"]: feature for feature in features}


def compare(
    window: StreamingStatistics,
    baseline_statistics: dict[str, Any],
    baseline_constraints: dict[str, Any],
    *,
    completeness_tolerance: float = DEFAULT_COMPLETENESS_TOLERANCE,
) -> tuple[list[dict[str, str]], list[FeatureResult]]:
    """The violations (Model Monitor's shape) and the per-feature results behind the metrics."""
    stats = _by_name(baseline_statistics, "statistics.json")
    limits = _by_name(baseline_constraints, "constraints.json")
    config = baseline_constraints.get("monitoring_config") or {}
    distribution = config.get("distribution_constraints") or {}
    compare_distributions = distribution.get("perform_comparison", "Enabled") == "Enabled"
    threshold = float(distribution.get("comparison_threshold", DEFAULT_THRESHOLD))
    categorical_threshold = float(
        distribution.get("categorical_comparison_threshold", DEFAULT_THRESHOLD)
    )
    robust = distribution.get("comparison_method", "Robust") == "Robust"
    type_threshold = float(config.get("datatype_check_threshold", 1.0))

    violations: list[dict[str, str]] = []
    results = []

    def violation(name: str, check: str, description: str) -> None:
        violations.append(
            {"feature_name": name, "constraint_check_type": check, "description": description}
        )

    for index, name in enumerate(window.names):
        rows = window.rows
        present = int(window.present[index])
        non_numeric = int(window.non_numeric[index])
        completeness = (present + non_numeric) / rows if rows else 0.0
        constraint = limits.get(name, {})
        expected = constraint.get("completeness")
        if expected is not None and completeness < float(expected) - completeness_tolerance:
            violation(
                name,
                "completeness_check",
                f"Completeness {completeness:.4f} is below the baseline's {float(expected):.4f} "
                f"by more than the tolerance {completeness_tolerance}",
            )

        typed = present + non_numeric
        baseline_type = constraint.get("inferred_type") or stats.get(name, {}).get("inferred_type")
        wrong = non_numeric + (int(window.fractional[index]) if baseline_type == "Integral" else 0)
        if typed and (typed - wrong) / typed < type_threshold:
            violation(
                name,
                "data_type_check",
                f"{wrong} of {typed} values are not {baseline_type or 'numeric'} "
                f"({non_numeric} not numbers); allowed share of matching values >= {type_threshold}",
            )

        if (constraint.get("num_constraints") or {}).get("is_non_negative") and window.negative[
            index
        ]:
            violation(
                name,
                "non_negative_check",
                f"{int(window.negative[index])} negative values (min {window.min[index]:g}); "
                "the baseline is non-negative",
            )

        categorical = "string_constraints" in constraint
        if name in _VALID_RANGE and present and not categorical:
            low, high = _VALID_RANGE[name]
            if window.min[index] < low or window.max[index] > high:
                violation(
                    name,
                    "range_check",
                    f"values from {window.min[index]:g} to {window.max[index]:g}; "
                    f"valid values are {low:g} to {high:g}",
                )

        drift = limit = None
        reference = weighted_sample(stats[name]) if name in stats else None
        if reference is not None and present:
            current = _window_sample(window, index)
            if categorical:
                drift, limit = pmf_distance(reference, current), categorical_threshold
                described = f"Baseline drift distance {drift:.4f} (L-infinity, category shares)"
                described += f" exceeds the threshold {limit}"
            else:
                drift, limit, described = _ks_drift(reference, current, present, threshold, robust)
            if compare_distributions and drift > limit:
                violation(name, "baseline_drift_check", described)
        results.append(
            FeatureResult(
                name=name,
                completeness=completeness,
                baseline_completeness=None if expected is None else float(expected),
                drift=drift,
                drift_limit=limit,
            )
        )
    return violations, results


def _ks_drift(
    reference: tuple[np.ndarray, np.ndarray],
    current: tuple[np.ndarray, np.ndarray],
    present: int,
    threshold: float,
    robust: bool,
) -> tuple[float, float, str]:
    """(KS distance, the limit it must stay under, the violation's description)."""
    drift = cdf_distance(reference, current)
    described = f"Baseline drift distance {drift:.4f} exceeds the threshold {threshold}"
    if not robust:
        return drift, threshold, described
    n = float(reference[1].sum())
    critical = KS_C_ALPHA * math.sqrt((n + present) / (n * present))
    described += f" and the KS critical value {critical:.4f} (alpha 0.01)"
    return drift, max(threshold, critical), described


def _window_sample(window: StreamingStatistics, index: int) -> tuple[np.ndarray, np.ndarray]:
    pairs = sorted(window.sketches[index])
    return (
        np.array([item for item, _ in pairs], dtype=np.float64),
        np.array([weight for _, weight in pairs], dtype=np.float64),
    )
