"""Comparing a window's statistics with the baseline: Model Monitor's ``constraint_violations.json``.

The checks and their ``constraint_check_type`` are the documented ones
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-interpreting-violations.html), with the
limits of the baseline's ``constraints.json``
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-constraints.html):

- ``completeness_check``: the share of rows with a value is below the feature's ``completeness``
  (compared directly; ``completeness_tolerance``, default 0, is our option to allow a drop);
- ``data_type_check`` (numeric features): the share of values not of the baseline's type (not numbers;
  not whole for an ``Integral`` feature) exceeds ``datatype_check_threshold`` (default 0.1);
- ``categorical_values_check`` (``String`` features): the share of values outside the feature's
  ``string_constraints.domains`` exceeds ``domain_content_threshold`` (default 0.1);
- ``missing_column_check`` / ``extra_column_check``: rows with fewer / more fields than the
  baseline's features (named by position: the missing ones are the last features; extra ones are
  ``_c<i>``, Spark's name for a headerless CSV column), or by-name instances with keys that are no
  feature (an absent key is a missing value, for the completeness check);
- ``baseline_drift_check``: the two-sample KS distance (L-infinity distance of the CDFs) exceeds
  ``comparison_threshold`` (default 0.1). With ``comparison_method`` "Robust" (the baseline's
  default) it must also exceed the KS critical value at significance 0.01 for the two sample sizes,
  so that sampling noise in a small window is not reported as drift; "Simple" uses the threshold only.
  A ``String`` feature compares its category shares instead (``string_statistics`` buckets): their
  L-infinity distance against ``categorical_comparison_threshold``.

Our extension checks (``EXTENSION_CHECKS``: not documented types, so the monitor writes them to
``extension_violations.json``, never to ``constraint_violations.json``):

- ``non_negative_check``: negative values in a feature the baseline marks ``is_non_negative``;
- ``range_check``: values outside the feature's valid range (the schema's, which the baselines step
  writes to ``extension_constraints.json``; ``compare``'s ``valid_ranges``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from model_container.data_quality import (
    COMPARISON_THRESHOLD,
    DATATYPE_CHECK_THRESHOLD,
    DOMAIN_CONTENT_THRESHOLD,
)
from model_container.monitor.rows import ReadSummary
from model_container.monitor.stats import (
    StreamingStatistics,
    category_shares,
    cdf_distance,
    weighted_sample,
)

DEFAULT_THRESHOLD = COMPARISON_THRESHOLD
DEFAULT_COMPLETENESS_TOLERANCE = 0.0  # the violations page compares with the constraint directly
# The documented constraint_check_type values; anything else is ours.
STANDARD_CHECKS = (
    "data_type_check",
    "completeness_check",
    "baseline_drift_check",
    "missing_column_check",
    "extra_column_check",
    "categorical_values_check",
)
EXTENSION_CHECKS = ("non_negative_check", "range_check")
MAX_EXTRA_POSITIONS = 10  # extra positional columns named in violations
KS_C_ALPHA = math.sqrt(-math.log(0.01 / 2) / 2)  # 1.628: KS critical-value factor at alpha = 0.01


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
    summary: ReadSummary | None = None,
    valid_ranges: Mapping[str, tuple[float, float]] | None = None,
) -> tuple[list[dict[str, str]], list[FeatureResult]]:
    """The violations (Model Monitor's shape; extension checks among them, see ``is_standard``)
    and the per-feature results behind the metrics. ``valid_ranges`` (feature -> (min, max)) are
    the range check's limits; without them it does not run."""
    stats = _by_name(baseline_statistics, "statistics.json")
    limits = _by_name(baseline_constraints, "constraints.json")
    config = baseline_constraints.get("monitoring_config") or {}
    distribution = config.get("distribution_constraints") or {}
    compare_distributions = distribution.get("perform_comparison", "Enabled") == "Enabled"
    type_threshold = float(config.get("datatype_check_threshold", DATATYPE_CHECK_THRESHOLD))
    domain_threshold = float(config.get("domain_content_threshold", DOMAIN_CONTENT_THRESHOLD))

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
        typed = present + non_numeric
        completeness = typed / rows if rows else 0.0
        constraint = limits.get(name, {})
        expected = constraint.get("completeness")
        if expected is not None and completeness < float(expected) - completeness_tolerance:
            allowed = (
                f" less the tolerance {completeness_tolerance}" if completeness_tolerance else ""
            )
            violation(
                name,
                "completeness_check",
                f"Completeness {completeness:.4f} is below the constraint's {float(expected):.4f}"
                + allowed,
            )

        domain = (constraint.get("string_constraints") or {}).get("domains")
        categorical = isinstance(domain, list)
        if categorical:
            if typed and non_numeric / typed > domain_threshold:
                violation(
                    name,
                    "categorical_values_check",
                    f"{non_numeric} of {typed} values ({non_numeric / typed:.4f}) are not in the "
                    f"baseline's domain; allowed share <= domain_content_threshold {domain_threshold}",
                )
        else:
            baseline_type = constraint.get("inferred_type") or stats.get(name, {}).get(
                "inferred_type"
            )
            fractional = int(window.fractional[index]) if baseline_type == "Integral" else 0
            wrong = non_numeric + fractional
            if typed and wrong / typed > type_threshold:
                violation(
                    name,
                    "data_type_check",
                    f"{wrong} of {typed} values ({wrong / typed:.4f}) are not "
                    f"{baseline_type or 'numeric'} ({non_numeric} not numbers); allowed share "
                    f"<= datatype_check_threshold {type_threshold}",
                )
            _extension_checks(window, index, constraint, valid_ranges or {}, violation)

        drift = limit = None
        if name in stats and present:
            found = _drift(
                window, index, stats[name], domain if categorical else None, distribution
            )
            if found is not None:
                drift, limit, described = found
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
    if summary is not None:
        _column_checks(window.names, summary, violation)
    return violations, results


def _drift(
    window: StreamingStatistics,
    index: int,
    feature: dict[str, Any],
    domain: list[str] | None,
    distribution: dict[str, Any],
) -> tuple[float, float, str] | None:
    """(distance, the limit it must stay under, the violation's description), or None without a
    baseline distribution: category shares for a ``String`` feature (``domain``), else KS."""
    if domain is not None:
        reference = baseline_shares(feature, domain)
        if reference is None:
            return None
        drift = float(np.max(np.abs(reference - _window_shares(window, index, len(domain)))))
        limit = float(distribution.get("categorical_comparison_threshold", DEFAULT_THRESHOLD))
        described = (
            f"Baseline drift distance {drift:.4f} (L-infinity, category shares) "
            f"exceeds the threshold {limit}"
        )
        return drift, limit, described
    sample = weighted_sample(feature)
    if sample is None:
        return None
    threshold = float(distribution.get("comparison_threshold", DEFAULT_THRESHOLD))
    robust = distribution.get("comparison_method", "Robust") == "Robust"
    present = int(window.present[index])
    return _ks_drift(sample, window_sample(window, index), present, threshold, robust)


def is_standard(violation: dict[str, str]) -> bool:
    """Whether a violation's check is one of the documented ``constraint_check_type`` values."""
    return violation["constraint_check_type"] in STANDARD_CHECKS


def _extension_checks(
    window: StreamingStatistics,
    index: int,
    constraint: dict[str, Any],
    valid_ranges: Mapping[str, tuple[float, float]],
    violation: Any,
) -> None:
    name = window.names[index]
    if (constraint.get("num_constraints") or {}).get("is_non_negative") and window.negative[index]:
        violation(
            name,
            "non_negative_check",
            f"{int(window.negative[index])} negative values (min {window.min[index]:g}); "
            "the baseline is non-negative",
        )
    if name in valid_ranges and window.present[index]:
        low, high = valid_ranges[name]
        if window.min[index] < low or window.max[index] > high:
            violation(
                name,
                "range_check",
                f"values from {window.min[index]:g} to {window.max[index]:g}; "
                f"valid values are {low:g} to {high:g}",
            )


def _column_checks(names: Sequence[str], summary: ReadSummary, violation: Any) -> None:
    width = len(names)
    if summary.short_rows and summary.fewest_fields is not None:
        for position in range(summary.fewest_fields, width):
            violation(
                names[position],
                "missing_column_check",
                f"{summary.short_rows} rows have fewer columns than the baseline's {width} "
                f"(as few as {summary.fewest_fields}): column {position + 1} is missing",
            )
    if summary.long_rows and summary.most_fields is not None:
        for position in range(width, min(summary.most_fields, width + MAX_EXTRA_POSITIONS)):
            violation(
                f"_c{position}",
                "extra_column_check",
                f"{summary.long_rows} rows have more columns than the baseline's {width} "
                f"(up to {summary.most_fields}): column {position + 1} is extra",
            )
    for key, count in summary.extra_names.items():
        violation(
            key,
            "extra_column_check",
            f"{count} instances have the key {key!r}, which is not one of the baseline's features",
        )


def baseline_shares(feature: dict[str, Any], domain: Sequence[str]) -> np.ndarray | None:
    """The baseline's category shares: its ``string_statistics`` buckets, or the sketch of the
    category codes a baseline written before them held."""
    shares = category_shares(feature, domain)
    if shares is not None:
        return shares
    sample = weighted_sample(feature)
    if sample is None:
        return None
    codes, weights = sample
    inside = (codes >= 0) & (codes < len(domain))
    counts = np.bincount(codes[inside].astype(np.int64), weights[inside], len(domain) + 1)
    return counts / counts.sum() if counts.sum() > 0 else None


def _window_shares(window: StreamingStatistics, index: int, categories: int) -> np.ndarray:
    counts = np.zeros(categories + 1)
    if index in window.categories:
        counts[:categories] = window.categories[index][1][:categories]
    total = counts.sum()
    return counts / total if total > 0 else counts


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


def window_sample(window: StreamingStatistics, index: int) -> tuple[np.ndarray, np.ndarray]:
    pairs = sorted(window.sketches[index])
    return (
        np.array([item for item, _ in pairs], dtype=np.float64),
        np.array([weight for _, weight in pairs], dtype=np.float64),
    )
