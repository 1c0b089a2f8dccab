"""The drift report: one self-contained page with a distribution plot per feature (numeric and
categorical), the drift overview, and every name escaped (feature names come from the user's data)."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest

from model_container import data_quality
from model_container.monitor import distributions, hourly
from model_container.monitor.checks import compare
from model_container.monitor.reader import Chunk, ReadSummary
from model_container.monitor.report import html_report
from model_container.monitor.stats import StreamingStatistics

# Names a user's schema may have: markup and matplotlib's math syntax must stay plain text.
NAMES = ["<b>age</b>", "cost $x$", "colour"]
COLOURS = ["red", "<i>blue</i>"]


def test_one_embedded_plot_per_feature_names_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    rows = 400
    baseline_table = np.column_stack(
        [rng.normal(50, 10, rows), rng.exponential(3, rows), rng.integers(0, 2, rows)]
    ).astype(np.float64)
    categories = {"colour": COLOURS}
    baseline = data_quality.statistics(NAMES, baseline_table, categories)
    constraints = data_quality.constraints(NAMES, baseline_table, categories)
    # A baseline from another tool may hold a value no bin can (JSON's Infinity): left out of the plot.
    sketch = baseline["features"][1]["numerical_statistics"]["distribution"]["kll"]["sketch"]
    sketch["data"][0] = sorted([*sketch["data"][0], np.inf])
    window = StreamingStatistics(NAMES, categories=categories)
    shifted = baseline_table.copy()
    shifted[:, 0] += 30  # the first feature drifts
    window.add(Chunk(values=shifted, non_numeric=np.zeros(3, dtype=np.int64)))
    violations, results = compare(window, baseline, constraints)
    assert [v["feature_name"] for v in violations] == ["<b>age</b>"]

    page = html_report(
        "Data drift of <endpoint>", window, results, violations, ReadSummary(), baseline=baseline
    )

    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]*)">', page)
    assert len(images) == 1 + len(NAMES)  # the drift overview and one per feature
    for data, _ in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    # The drifted feature's plot comes first; names are escaped everywhere.
    assert images[1][1] == "distribution of &lt;b&gt;age&lt;/b&gt;, baseline and window"
    assert "<b>age</b>" not in page
    assert "<i>blue</i>" not in page and "<endpoint>" not in page
    assert "Data drift of &lt;endpoint&gt;" in page

    # A wide schema: at most MAX_PLOTS distributions, the flagged ones first, and the page says so.
    monkeypatch.setattr(distributions, "MAX_PLOTS", 1)
    page = html_report("t", window, results, violations, ReadSummary(), baseline=baseline)
    alts = re.findall(r'<img src="data:image/png;base64,[^"]+" alt="([^"]*)">', page)
    assert alts == [
        "drift of every feature against its limit",  # the one nearest its limit
        "distribution of &lt;b&gt;age&lt;/b&gt;, baseline and window",
    ]
    assert "(1 of 3 features)" in page


def test_without_the_baseline_no_distributions() -> None:
    window = StreamingStatistics(["a"])
    window.add(Chunk(values=np.array([[1.0], [2.0]]), non_numeric=np.zeros(1, dtype=np.int64)))
    baseline = data_quality.statistics(["a"], np.array([[1.0], [3.0]]))
    _, results = compare(window, baseline, data_quality.constraints(["a"], np.array([[1.0]])))
    page = html_report("t", window, results, [], ReadSummary())
    assert "Distributions" not in page and page.count("<img ") == 1  # the drift overview only


def test_drift_over_the_windows_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each hour compared with the baseline on its own; plotted from two hours on."""
    rng = np.random.default_rng(1)
    table = rng.normal(0, 1, (300, 1))
    baseline = data_quality.statistics(["x"], table)
    constraints = data_quality.constraints(["x"], table)
    window = StreamingStatistics(["x"])
    tracker = hourly.HourlyStatistics.like(window)
    zeros = np.zeros(1, dtype=np.int64)
    for hour, shift in (("2026-01-01T00", 0.0), ("2026-01-01T01", 3.0)):
        chunk = Chunk(values=table + shift, non_numeric=zeros, hour=hour)
        window.add(chunk)
        tracker.add(chunk)
    tracker.add(Chunk(values=table, non_numeric=zeros))  # no known hour: the window's only
    hours = tracker.compared(baseline, constraints)
    assert [(h.start.hour, h.rows) for h in hours] == [(0, 300), (1, 300)]
    first, second = (h.results[0] for h in hours)
    assert first.drift is not None and first.drift_limit is not None
    assert first.drift < first.drift_limit  # the same distribution: no drift
    assert second.drift is not None and second.drift > 0.9  # shifted by 3 standard deviations
    violations, results = compare(window, baseline, constraints)
    page = html_report("t", window, results, violations, ReadSummary(), hours=hours)
    assert 'alt="drift of every feature hour by hour, and rows per hour"' in page
    # One hour has no time axis; a window of more than MAX_HOURS hours keeps none (memory).
    assert "hour by hour" not in html_report(
        "t", window, results, [], ReadSummary(), hours=hours[:1]
    )
    monkeypatch.setattr(hourly, "MAX_HOURS", 1)
    capped = hourly.HourlyStatistics.like(window)
    for hour in ("2026-01-01T00", "2026-01-01T01"):
        capped.add(Chunk(values=table, non_numeric=zeros, hour=hour))
    assert capped.too_many and capped.compared(baseline, constraints) == []
