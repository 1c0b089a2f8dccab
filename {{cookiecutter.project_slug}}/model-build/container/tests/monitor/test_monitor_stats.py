"""Streaming statistics and the KS distance against hand-computed cases and numpy/scipy references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp

from model_container.data_quality import KLL_K, statistics
from model_container.monitor.reader import Chunk
from model_container.monitor.stats import (
    StreamingStatistics,
    cdf_distance,
    weighted_sample,
)


def stream(
    names: list[str], table: np.ndarray, chunk: int, non_numeric: int = 0
) -> StreamingStatistics:
    stats = StreamingStatistics(names)
    for start in range(0, len(table), chunk):
        counts = np.zeros(len(names), dtype=np.int64)
        if start == 0:
            counts[0] = non_numeric
        stats.add(Chunk(table[start : start + chunk], counts))
    return stats


def unweighted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.sort(values), np.ones(len(values))


def test_hand_computed_small_case() -> None:
    table = np.array([[1.0], [2.0], [np.nan], [4.0]])
    document = stream(["x"], table, chunk=3, non_numeric=1).document()
    numbers = document["features"][0]["numerical_statistics"]
    # present 1, 2, 4: mean 7/3, population variance ((4/3)^2 + (1/3)^2 + (5/3)^2) / 3 = 14/9
    assert numbers["common"] == {"num_present": 3, "num_missing": 0}  # the NaN was the non-number
    assert numbers["mean"] == pytest.approx(7 / 3)
    assert numbers["std_dev"] == pytest.approx(math.sqrt(14 / 9))
    assert (numbers["sum"], numbers["min"], numbers["max"]) == (7.0, 1.0, 4.0)
    assert numbers["distribution"]["kll"]["sketch"]["data"] == [[1.0, 2.0, 4.0]]
    assert document["dataset"] == {"item_count": 4}
    assert document["features"][0]["inferred_type"] == "Integral"


def test_ks_hand_computed() -> None:
    # CDFs of {1,2,3} and {2,3,4} differ by 1/3 at 1, 2 and 3.
    assert cdf_distance(unweighted(np.array([1.0, 2, 3])), unweighted(np.array([2.0, 3, 4]))) == (
        pytest.approx(1 / 3)
    )
    assert cdf_distance(unweighted(np.array([1.0, 1])), unweighted(np.array([2.0]))) == 1.0
    same = unweighted(np.array([3.0, 1, 2, 2]))
    assert cdf_distance(same, same) == 0.0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scipy's p-value of tiny samples
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 20), min_size=1, max_size=80),
    st.lists(st.integers(0, 20), min_size=1, max_size=80),
)
def test_ks_equals_scipy_two_sample_statistic(first: list[int], second: list[int]) -> None:
    """With ties (discrete features) too: the L-infinity CDF distance is scipy's KS statistic."""
    a, b = np.array(first, dtype=float), np.array(second, dtype=float)
    assert cdf_distance(unweighted(a), unweighted(b)) == pytest.approx(
        ks_2samp(a, b, method="asymp").statistic
    )


def test_streamed_statistics_match_the_baseline_function_exactly_up_to_k() -> None:
    rng = np.random.default_rng(3)
    table = np.column_stack([rng.normal(50, 12, 1500).round(), rng.integers(1, 5, 1500)]).astype(
        float
    )
    table[rng.random(1500) < 0.1, 1] = np.nan
    streamed = stream(["Age", "Shape"], table, chunk=97).document()
    reference = statistics(["Age", "Shape"], table)
    for ours, theirs in zip(streamed["features"], reference["features"], strict=True):
        a, b = ours["numerical_statistics"], theirs["numerical_statistics"]
        assert a["common"] == b["common"]
        for key in ("mean", "sum", "std_dev", "min", "max"):
            assert a[key] == pytest.approx(b[key], rel=1e-12)
        assert a["distribution"]["kll"]["buckets"] == b["distribution"]["kll"]["buckets"]
        assert (
            a["distribution"]["kll"]["sketch"]["data"] == b["distribution"]["kll"]["sketch"]["data"]
        )
        assert ours["inferred_type"] == theirs["inferred_type"]


def test_sketched_statistics_stay_within_the_rank_error_beyond_k() -> None:
    rng = np.random.default_rng(5)
    baseline = rng.normal(size=(20_000, 1))
    window = rng.normal(0.05, 1, size=(30_000, 1))
    streamed = stream(["x"], window, chunk=4096)
    sketch = streamed.sketches[0]
    epsilon = sketch.normalized_rank_error(False)
    assert sketch.num_retained < 4 * KLL_K  # memory does not grow with the data
    numbers = streamed.document()["features"][0]["numerical_statistics"]
    assert numbers["mean"] == pytest.approx(window.mean(), rel=1e-9)
    assert numbers["std_dev"] == pytest.approx(window.std(), rel=1e-9)
    counts = [bucket["count"] for bucket in numbers["distribution"]["kll"]["buckets"]]
    exact, _ = np.histogram(window, bins=10, range=(window.min(), window.max()))
    assert np.all(np.abs(np.array(counts) - exact) <= 2 * epsilon * len(window))

    # KS between the sketches vs the exact statistic: within the two sketches' rank errors.
    baseline_document = statistics(["x"], baseline)  # the baselines step's own compacted sketch
    baseline_sample = weighted_sample(baseline_document["features"][0])
    assert baseline_sample is not None
    window_sample = sorted(sketch)
    approximate = cdf_distance(
        baseline_sample,
        (np.array([v for v, _ in window_sample]), np.array([w for _, w in window_sample], float)),
    )
    exact_ks = ks_2samp(baseline[:, 0], window[:, 0]).statistic
    # The baselines step keeps every 2^h-th sorted value: its CDF is off by at most 1/len(kept).
    kept = baseline_document["features"][0]["numerical_statistics"]["distribution"]["kll"]
    baseline_error = 1 / len(kept["sketch"]["data"][-1])
    assert abs(approximate - exact_ks) <= epsilon + 2 * baseline_error + 1e-3


def test_fractional_and_text_in_a_numeric_feature() -> None:
    stats = stream(["x", "y"], np.array([[1.5, np.nan], [2.0, np.nan]]), chunk=2)
    stats.non_numeric[1] = 2
    document = stats.document()
    # A numeric feature stays numeric (its text is the data type check's): the page pairs String
    # with string_statistics only.
    assert [f["inferred_type"] for f in document["features"]] == ["Fractional", "Integral"]
    assert document["features"][1]["numerical_statistics"] == {
        "common": {"num_present": 0, "num_missing": 0}
    }


def test_a_categorical_feature_is_counted_per_category() -> None:
    stats = StreamingStatistics(["c"], categories={"c": ("a", "b", "c")})
    stats.add(Chunk(np.array([[0.0], [2.0], [2.0], [np.nan]]), np.array([1])))
    feature = stats.document()["features"][0]
    assert feature == {
        "name": "c",
        "inferred_type": "String",
        "string_statistics": {
            "common": {"num_present": 4, "num_missing": 0},  # 3 known + 1 unknown, none empty
            "distinct_count": 2.0,
            "distribution": {
                "categorical": {
                    "buckets": [{"value": "a", "count": 1.0}, {"value": "c", "count": 2.0}]
                }
            },
        },
    }
