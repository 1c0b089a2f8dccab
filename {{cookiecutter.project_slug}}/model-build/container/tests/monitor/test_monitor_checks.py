"""Each constraint check fires on its own kind of change, and not on the baseline's own data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from model_container.columns import Numeric, Schema
from model_container.data_quality import constraints, statistics
from model_container.extension_constraints import schema_ranges
from model_container.monitor import checks
from model_container.monitor.reader import Chunk, ReadSummary
from model_container.monitor.stats import StreamingStatistics
from project_model import SCHEMA

NAMES = ["Age", "Shape"]
# The valid ranges of these tests' own columns (a run reads them from extension_constraints.json).
RANGES = Schema(
    (Numeric("Age", 1, 120), Numeric("Shape", 1, 4, whole=True), Numeric("y", 0, 1)),
    label="y",
    positive="1",
    negative="0",
)


def valid_ranges(schema: Schema) -> dict[str, tuple[float, float]]:
    return {c.name: (c.low, c.high) for c in schema.columns if isinstance(c, Numeric)}


def compare(*args: Any, **options: Any) -> Any:
    """``checks.compare`` with these tests' valid ranges."""
    return checks.compare(*args, valid_ranges=valid_ranges(RANGES), **options)


def test_old_baselines_take_the_ranges_of_the_model_schema() -> None:
    assert schema_ranges() == valid_ranges(SCHEMA)


def test_without_valid_ranges_no_range_check(baseline: np.ndarray) -> None:
    window = baseline.copy()
    window[0, 1] = 7  # Shape codes are 1-4
    stats = StreamingStatistics(NAMES)
    stats.add(Chunk(window, np.zeros(2, dtype=np.int64)))
    violations, _ = checks.compare(stats, statistics(NAMES, baseline), constraints(NAMES, baseline))
    assert violations == []


@pytest.fixture(scope="module")
def baseline() -> np.ndarray:
    rng = np.random.default_rng(11)
    table = np.column_stack([rng.integers(25, 85, 800), rng.integers(1, 5, 800)]).astype(float)
    table[rng.random(800) < 0.05, 1] = np.nan
    return table


def check(
    baseline: np.ndarray,
    window: np.ndarray,
    non_numeric: tuple[int, int] = (0, 0),
    **options: object,
) -> set[tuple[str, str]]:
    stats = StreamingStatistics(NAMES)
    stats.add(Chunk(window, np.array(non_numeric, dtype=np.int64)))
    limits = constraints(NAMES, baseline)
    limits["monitoring_config"]["distribution_constraints"].update(options)
    violations, results = compare(stats, statistics(NAMES, baseline), limits)
    assert [r.name for r in results] == NAMES
    return {(v["feature_name"], v["constraint_check_type"]) for v in violations}


def test_baseline_against_itself_and_a_resample(baseline: np.ndarray) -> None:
    assert check(baseline, baseline) == set()
    resample = baseline[np.random.default_rng(2).choice(len(baseline), 300)]
    assert check(baseline, resample) == set()


def test_drift_on_the_shifted_feature_only(baseline: np.ndarray) -> None:
    window = baseline.copy()
    window[:, 0] += 15
    assert check(baseline, window) == {("Age", "baseline_drift_check")}


def test_robust_ignores_noise_of_a_small_window_that_simple_flags(baseline: np.ndarray) -> None:
    window = baseline[::40].copy()  # 20 rows
    window[:, 0] += 8
    stats = StreamingStatistics(NAMES)
    stats.add(Chunk(window, np.zeros(2, dtype=np.int64)))
    _, results = compare(stats, statistics(NAMES, baseline), constraints(NAMES, baseline))
    age = results[0]
    assert age.drift is not None and age.drift_limit is not None
    # Above Model Monitor's 0.1, below the KS critical value for 20 against 800 rows (~0.37).
    assert 0.1 < age.drift < age.drift_limit
    assert ("Age", "baseline_drift_check") not in check(baseline, window)
    assert ("Age", "baseline_drift_check") in check(baseline, window, comparison_method="Simple")
    assert check(baseline, baseline + np.array([15, 0]), perform_comparison="Disabled") == set()


def test_completeness_is_compared_with_the_constraint_directly(baseline: np.ndarray) -> None:
    limits = constraints(NAMES, baseline)
    limits["features"][1]["completeness"] = 0.9
    window = baseline[:100].copy()
    window[:, 1] = 2.0
    window[:10, 1] = np.nan  # exactly the constraint: 90 of 100
    assert ("Shape", "completeness_check") not in found(baseline, window, limits)
    window[10, 1] = np.nan  # 0.89: one row below it, no tolerance
    assert ("Shape", "completeness_check") in found(baseline, window, limits)
    assert ("Shape", "completeness_check") not in found(
        baseline, window, limits, completeness_tolerance=0.05
    )


def test_the_suggested_completeness_lets_a_normal_window_pass(baseline: np.ndarray) -> None:
    window = baseline.copy()
    window[:200, 1] = np.nan  # completeness ~0.7 against ~0.95
    assert ("Shape", "completeness_check") in check(baseline, window)
    assert check(baseline, baseline[np.random.default_rng(5).choice(len(baseline), 150)]) == set()


def found(
    baseline: np.ndarray,
    window: np.ndarray,
    limits: dict,
    non_numeric: tuple[int, int] = (0, 0),
    **options: object,
) -> set[tuple[str, str]]:
    stats = StreamingStatistics(NAMES)
    stats.add(Chunk(window, np.array(non_numeric, dtype=np.int64)))
    violations, _ = compare(stats, statistics(NAMES, baseline), limits, **options)  # type: ignore[arg-type]
    return {(v["feature_name"], v["constraint_check_type"]) for v in violations}


def test_data_type_allows_the_documented_share_of_other_values(baseline: np.ndarray) -> None:
    window = baseline[~np.isnan(baseline[:, 1])][:100].copy()
    window[:10, 1] = np.nan  # 10 of 100 not numbers: 0.1 is allowed, more is not
    limits = constraints(NAMES, baseline)
    limits["features"][1]["completeness"] = 0.0
    assert found(baseline, window, limits, non_numeric=(0, 10)) == set()
    window[10, 1] = np.nan
    assert found(baseline, window, limits, non_numeric=(0, 11)) == {("Shape", "data_type_check")}
    window = baseline.copy()
    window[:100, 0] += 0.5  # Age is Integral in the baseline: 100 of 800 fractional ages
    assert ("Age", "data_type_check") in check(baseline, window)
    limits["monitoring_config"]["datatype_check_threshold"] = 0.0  # none allowed
    window = baseline.copy()
    window[0, 0] = 40.5
    assert found(baseline, window, limits) == {("Age", "data_type_check")}


def test_non_negative_and_range(baseline: np.ndarray) -> None:
    window = baseline.copy()
    window[0, 0] = -1
    assert check(baseline, window) == {("Age", "non_negative_check"), ("Age", "range_check")}
    window = baseline.copy()
    window[0, 1] = 7  # Shape codes are 1-4
    assert check(baseline, window) == {("Shape", "range_check")}


def test_our_checks_are_the_extension_and_the_others_standard() -> None:
    def kind(check: str) -> bool:
        return checks.is_standard({"constraint_check_type": check})

    assert not kind("range_check") and not kind("non_negative_check")
    assert all(kind(c) for c in checks.STANDARD_CHECKS)


SHAPES = ("round", "oval", "lobular", "irregular")


def check_categorical(baseline: np.ndarray, window: np.ndarray, non_numeric: int = 0) -> set:
    """As ``check``, with Shape a categorical feature (codes 0-3) of the baseline."""
    categories = {"Shape": SHAPES}
    stats = StreamingStatistics(NAMES, categories=categories)
    stats.add(Chunk(window, np.array([0, non_numeric], dtype=np.int64)))
    violations, results = compare(
        stats, statistics(NAMES, baseline, categories), constraints(NAMES, baseline, categories)
    )
    shape = results[1]
    assert shape.drift is not None and shape.drift_limit == 0.1
    return {(v["feature_name"], v["constraint_check_type"]) for v in violations}


def test_a_categorical_feature_drifts_by_its_category_shares(baseline: np.ndarray) -> None:
    codes = baseline.copy()
    codes[:, 1] -= 1  # Shape as codes 0-3: never a range violation, though 0 is below 1-4
    assert check_categorical(codes, codes) == set()
    window = codes.copy()
    window[: len(window) // 3, 1] = 0.0  # a third more "round" than the baseline
    assert check_categorical(codes, window) == {("Shape", "baseline_drift_check")}


def test_values_outside_the_domain_fail_the_categorical_values_check(baseline: np.ndarray) -> None:
    codes = baseline.copy()
    codes[:, 1] -= 1
    codes[np.isnan(codes[:, 1]), 1] = 0.0  # complete, so that only the domain matters
    few = codes.copy()
    few[:5, 1] = np.nan  # 5 of 800 unknown (the reader counts them apart): within 0.1
    assert check_categorical(codes, few, non_numeric=5) == set()
    many = codes.copy()
    many[:100, 1] = np.nan  # 100 of 800: 0.125 > 0.1
    assert ("Shape", "categorical_values_check") in check_categorical(codes, many, non_numeric=100)
    assert ("Shape", "data_type_check") not in check_categorical(codes, many, non_numeric=100)


def column_checks(summary: ReadSummary) -> set[tuple[str, str]]:
    stats = StreamingStatistics(NAMES)
    table = np.array([[40.0, 2.0]] * 10)
    stats.add(Chunk(table, np.zeros(2, dtype=np.int64)))
    violations, _ = compare(
        stats, statistics(NAMES, table), constraints(NAMES, table), summary=summary
    )
    return {(v["feature_name"], v["constraint_check_type"]) for v in violations}


def test_missing_and_extra_columns() -> None:
    assert column_checks(ReadSummary()) == set()
    short = ReadSummary()
    short.wrong_width(1, 2)  # a row of Age only
    assert column_checks(short) == {("Shape", "missing_column_check")}
    long = ReadSummary()
    long.wrong_width(4, 2)
    assert column_checks(long) == {("_c2", "extra_column_check"), ("_c3", "extra_column_check")}
    named = ReadSummary()
    named.extra_name("Colour")
    assert column_checks(named) == {("Colour", "extra_column_check")}
