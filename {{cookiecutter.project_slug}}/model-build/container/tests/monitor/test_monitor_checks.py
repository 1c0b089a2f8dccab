"""Each constraint check fires on its own kind of change, and not on the baseline's own data."""

from __future__ import annotations

import numpy as np
import pytest

from model_container.columns import Numeric, Schema
from model_container.data_quality import constraints, statistics
from model_container.monitor import checks
from model_container.monitor.checks import compare
from model_container.monitor.reader import Chunk
from model_container.monitor.stats import StreamingStatistics
from project_model import SCHEMA

NAMES = ["Age", "Shape"]
# The valid ranges of these tests' own columns (the range check reads the model's SCHEMA).
RANGES = Schema(
    (Numeric("Age", 1, 120), Numeric("Shape", 1, 4, whole=True), Numeric("y", 0, 1)),
    label="y",
    positive="1",
    negative="0",
)


MODEL_RANGES = checks._VALID_RANGE


def valid_ranges(schema: Schema) -> dict[str, tuple[float, float]]:
    return {c.name: (c.low, c.high) for c in schema.columns if isinstance(c, Numeric)}


@pytest.fixture(autouse=True)
def ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "_VALID_RANGE", valid_ranges(RANGES))


def test_the_range_check_knows_the_model_schema_ranges() -> None:
    assert valid_ranges(SCHEMA) == MODEL_RANGES


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


def test_completeness(baseline: np.ndarray) -> None:
    window = baseline.copy()
    window[:200, 1] = np.nan  # completeness ~0.7 against ~0.95
    assert ("Shape", "completeness_check") in check(baseline, window)
    window = baseline.copy()
    window[:30, 1] = np.nan  # within the 0.05 tolerance
    assert check(baseline, window) == set()


def test_data_type(baseline: np.ndarray) -> None:
    window = baseline.copy()
    window[:3, 1] = np.nan
    assert check(baseline, window, non_numeric=(0, 3)) == {("Shape", "data_type_check")}
    window = baseline.copy()
    window[0, 0] = 40.5  # Age is Integral in the baseline
    assert check(baseline, window) == {("Age", "data_type_check")}


def test_non_negative_and_range(baseline: np.ndarray) -> None:
    window = baseline.copy()
    window[0, 0] = -1
    assert check(baseline, window) == {("Age", "non_negative_check"), ("Age", "range_check")}
    window = baseline.copy()
    window[0, 1] = 7  # Shape codes are 1-4
    assert check(baseline, window) == {("Shape", "range_check")}


SHAPES = ("round", "oval", "lobular", "irregular")


def check_categorical(baseline: np.ndarray, window: np.ndarray, non_numeric: int = 0) -> set:
    """As ``check``, with Shape a categorical feature (codes 0-3) of the baseline."""
    categories = {"Shape": SHAPES}
    stats = StreamingStatistics(NAMES)
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
    # An unknown category (the reader counts it as non-numeric) fails the type check.
    unknown = codes.copy()
    unknown[:5, 1] = np.nan
    assert check_categorical(codes, unknown, non_numeric=5) == {("Shape", "data_type_check")}
