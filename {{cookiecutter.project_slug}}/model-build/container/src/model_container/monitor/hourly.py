"""The window hour by hour, for the report's plot over time: each inference hour's rows (the reader
hands them out one hour per chunk) are compared with the baseline as the whole window is.

One run sees one window (24 hours in the monitoring pipeline); its hours are the time axis it has.
Each hour is a smaller sample than the window, so its distances are noisier and, with the Robust
comparison, its limits higher; the plot marks an hour above its own limit. The hourly sketches are smaller than the
window's (k = ``HOURLY_K``: rank error about 0.8 % instead of 0.14 %), and at most ``MAX_HOURS``
hours are kept: a longer window gets no hourly plot (its history is in CloudWatch, one point per run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from model_container.monitor.checks import FeatureResult, compare
from model_container.monitor.reader import Chunk
from model_container.monitor.stats import StreamingStatistics

MAX_HOURS = 48
HOURLY_K = 400


@dataclass(frozen=True)
class Hour:
    start: datetime
    rows: int
    results: list[FeatureResult]


class HourlyStatistics:
    """Per-hour statistics of a window's chunks (each chunk holds one hour's rows)."""

    def __init__(
        self, names: Sequence[str], categories: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self.names = list(names)
        self.categories = categories
        self.hours: dict[str, StreamingStatistics] = {}
        self.too_many = False  # more than MAX_HOURS hours: none kept

    @classmethod
    def like(cls, window: StreamingStatistics) -> HourlyStatistics:
        """For the features (and categories) of the whole window's statistics."""
        categories = {window.names[i]: values for i, (values, _) in window.categories.items()}
        return cls(window.names, categories)

    def add(self, chunk: Chunk) -> None:
        if self.too_many or not chunk.hour:
            return
        statistics = self.hours.get(chunk.hour)
        if statistics is None:
            if len(self.hours) == MAX_HOURS:
                self.too_many = True
                self.hours.clear()
                return
            statistics = StreamingStatistics(self.names, k=HOURLY_K, categories=self.categories)
            self.hours[chunk.hour] = statistics
        statistics.add(chunk)

    def compared(
        self, baseline_statistics: dict[str, Any], baseline_constraints: dict[str, Any]
    ) -> list[Hour]:
        """Each hour's drift against the baseline, in time order (empty if not tracked)."""
        hours = []
        for key in sorted(self.hours):
            try:
                start = datetime.strptime(key, "%Y-%m-%dT%H").replace(tzinfo=UTC)
            except ValueError:  # not an hour the reader could read: no place on the time axis
                continue
            statistics = self.hours[key]
            _, results = compare(statistics, baseline_statistics, baseline_constraints)
            hours.append(Hour(start, statistics.rows, results))
        return hours
