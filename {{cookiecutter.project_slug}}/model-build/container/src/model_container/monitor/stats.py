"""Streaming per-feature statistics in bounded memory, as Model Monitor's ``statistics.json``
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-statistics.html).

Counts, mean and variance merge chunk by chunk (Chan et al.'s parallel update, numerically stable);
quantiles come from Apache DataSketches' KLL sketch with Model Monitor's k = 2048, whose memory does not
grow with the data (normalised rank error about 0.14 % at 99 % confidence; exact up to 2048 values).
A categorical feature (its values arrive as codes: positions in the baseline's domain) is counted
per category instead and written as ``String`` with ``string_statistics``; its values outside the
domain are counted apart (the reader's ``non_numeric`` of that column).
The document has the shape ``model_container.data_quality.statistics`` writes for the baseline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from datasketches import kll_doubles_sketch

from model_container.data_quality import (
    BUCKETS,
    KLL_C,
    KLL_K,
    bucket_edges,
    string_statistics,
)
from model_container.monitor.reader import Chunk


class StreamingStatistics:
    """Per-feature statistics of rows that arrive in chunks."""

    def __init__(
        self,
        names: Sequence[str],
        k: int = KLL_K,
        categories: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.names = list(names)
        width = len(self.names)
        # column index -> (its categories, counts per category code)
        self.categories = {
            index: (list(categories[name]), np.zeros(len(categories[name]), dtype=np.int64))
            for index, name in enumerate(self.names)
            if categories and name in categories
        }
        self.rows = 0
        self.present = np.zeros(width, dtype=np.int64)
        self.non_numeric = np.zeros(width, dtype=np.int64)
        self.fractional = np.zeros(width, dtype=np.int64)  # present values that are not whole
        self.negative = np.zeros(width, dtype=np.int64)
        self.mean = np.zeros(width)
        self.m2 = np.zeros(width)  # sum of squared deviations from the mean
        self.total = np.zeros(width)
        self.min = np.full(width, math.inf)
        self.max = np.full(width, -math.inf)
        self.sketches = [kll_doubles_sketch(k) for _ in self.names]

    def add(self, chunk: Chunk) -> None:
        values = chunk.values
        if values.ndim != 2 or values.shape[1] != len(self.names):
            raise ValueError(f"chunk of shape {values.shape}; expected (rows, {len(self.names)})")
        self.rows += len(values)
        self.non_numeric += chunk.non_numeric
        present = ~np.isnan(values)
        count = present.sum(axis=0)
        if not count.any():
            return
        filled = np.where(present, values, 0.0)
        total = filled.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, total / np.maximum(count, 1), 0.0)
        m2 = (np.where(present, values - mean, 0.0) ** 2).sum(axis=0)
        merged = self.present + count
        delta = mean - self.mean
        safe = np.maximum(merged, 1)
        self.mean = self.mean + delta * count / safe
        self.m2 = self.m2 + m2 + delta**2 * self.present * count / safe
        self.present = merged
        self.total += total
        self.fractional += (present & (values != np.round(values))).sum(axis=0)
        self.negative += (present & (values < 0)).sum(axis=0)
        self.min = np.minimum(self.min, np.where(present, values, math.inf).min(axis=0))
        self.max = np.maximum(self.max, np.where(present, values, -math.inf).max(axis=0))
        for index, sketch in enumerate(self.sketches):
            if index in self.categories:
                codes = values[:, index]
                codes = codes[~np.isnan(codes)].astype(np.int64)
                counts = self.categories[index][1]
                counts += np.bincount(codes, minlength=len(counts))[: len(counts)]
            elif count[index]:
                sketch.update(np.ascontiguousarray(values[:, index]))  # the sketch skips NaN

    def missing(self, index: int) -> int:
        """Rows without a value (empty or null); non-numeric values are counted apart."""
        return int(self.rows - self.present[index] - self.non_numeric[index])

    def inferred_type(self, index: int) -> str:
        """``String`` for a categorical feature; a numeric one is typed by its numbers (the page
        pairs ``String`` with ``string_statistics``, which text we do not keep could not fill):
        its values of another type are the data type check's and ``monitor.non_numeric_values``'."""
        if index in self.categories:
            return "String"
        return "Fractional" if self.fractional[index] else "Integral"

    def category_counts(self, index: int) -> dict[str, int]:
        """A categorical feature's count per category of the baseline's domain."""
        values, counts = self.categories[index]
        return dict(zip(values, counts.tolist(), strict=True))

    def document(self) -> dict[str, Any]:
        """The ``statistics.json`` document (Model Monitor's shape)."""
        features = []
        for index, name in enumerate(self.names):
            if index in self.categories:
                # A value outside the domain is still a string that is present.
                common = {
                    "num_present": int(self.present[index] + self.non_numeric[index]),
                    "num_missing": self.missing(index),
                }
                statistics = string_statistics(common, self.category_counts(index))
                features.append(
                    {"name": name, "inferred_type": "String", "string_statistics": statistics}
                )
                continue
            common = {"num_present": int(self.present[index]), "num_missing": self.missing(index)}
            numbers: dict[str, Any] = {"common": common}
            if self.present[index]:
                sketch = self.sketches[index]
                numbers.update(
                    mean=float(self.mean[index]),
                    sum=float(self.total[index]),
                    std_dev=math.sqrt(max(self.m2[index], 0.0) / self.present[index]),
                    min=float(self.min[index]),
                    max=float(self.max[index]),
                    distribution={
                        "kll": {
                            "buckets": sketch_buckets(sketch),
                            "sketch": {
                                "parameters": {"c": KLL_C, "k": float(sketch.k)},
                                "data": sketch_levels(sketch),
                            },
                        }
                    },
                )
            features.append(
                {
                    "name": name,
                    "inferred_type": self.inferred_type(index),
                    "numerical_statistics": numbers,
                }
            )
        return {"version": 0.0, "dataset": {"item_count": self.rows}, "features": features}


def sketch_buckets(sketch: kll_doubles_sketch) -> list[dict[str, float]]:
    """10 equal-width buckets from min to max, [low, high) and the last [low, max], like np.histogram."""
    low, high, n = sketch.get_min_value(), sketch.get_max_value(), sketch.n
    edges = bucket_edges(low, high)
    masses = sketch.get_pmf(edges[1:-1].tolist(), inclusive=False)
    return [
        {
            "lower_bound": float(edges[i]),
            "upper_bound": float(edges[i + 1]),
            "count": float(round(masses[i] * n, 6)),
        }
        for i in range(BUCKETS)
    ]


def sketch_levels(sketch: kll_doubles_sketch) -> list[list[float]]:
    """The sketch's retained items by compactor level h (weight 2^h), sorted: Model Monitor's layout."""
    levels: dict[int, list[float]] = {}
    for item, weight in sketch:
        levels.setdefault(int(weight).bit_length() - 1, []).append(float(item))
    height = max(levels, default=0) + 1
    return [sorted(levels.get(h, [])) for h in range(height)]


def weighted_sample(feature: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """(sorted items, weights) of a statistics.json feature's KLL sketch, or None without one."""
    numbers = feature.get("numerical_statistics") or {}
    levels = ((numbers.get("distribution") or {}).get("kll") or {}).get("sketch", {}).get("data")
    if not levels:
        return None
    items = np.concatenate([np.asarray(level, dtype=np.float64) for level in levels])
    weights = np.concatenate([np.full(len(level), 2.0**h) for h, level in enumerate(levels)])
    if not len(items):
        return None
    order = np.argsort(items, kind="stable")
    return items[order], weights[order]


def category_shares(feature: dict[str, Any], domain: Sequence[str]) -> np.ndarray | None:
    """A ``String`` feature's share of each category of ``domain`` (and, last, of other values)
    from its ``string_statistics`` buckets; None without any."""
    buckets = (
        ((feature.get("string_statistics") or {}).get("distribution") or {}).get("categorical")
        or {}
    ).get("buckets")
    if not isinstance(buckets, list) or not buckets:
        return None
    position = {value: i for i, value in enumerate(domain)}
    counts = np.zeros(len(domain) + 1)
    for bucket in buckets:
        counts[position.get(str(bucket["value"]), len(domain))] += float(bucket["count"])
    total = counts.sum()
    return counts / total if total > 0 else None


def cdf_distance(
    first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]
) -> float:
    """L-infinity distance between two weighted empirical CDFs (the two-sample KS statistic).

    Both CDFs are step functions that only jump at their items, so the supremum is attained at one of
    them. Exact for unweighted samples; with sketches it is within both sketches' rank errors.
    """
    points = np.union1d(first[0], second[0])
    return float(np.max(np.abs(_cdf(first, points) - _cdf(second, points))))


def _cdf(sample: tuple[np.ndarray, np.ndarray], points: np.ndarray) -> np.ndarray:
    items, weights = sample
    cumulative = np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum()
    return cumulative[np.searchsorted(items, points, side="right")]
