"""The drift report's plots: each feature's distribution, baseline against window, and the drift of
every feature against its limit (PNG, embedded by ``model_container.plots``).

A numeric feature's two distributions come from the KLL sketches the checks compare (the baseline's
``statistics.json`` sketch and the window's): both are binned on the same edges, spanning both, so
the bars compare directly (each document's own ``buckets`` span only its own min to max). A
categorical feature shows the category shares the categorical drift check compares, with the values
outside the baseline's domain as "other". Feature and category names are drawn as plain text
(``parse_math=False``: a ``$`` in a name is not matplotlib's math syntax).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from model_container.monitor.checks import FeatureResult, baseline_shares, window_sample
from model_container.monitor.hourly import Hour
from model_container.monitor.stats import StreamingStatistics, weighted_sample
from model_container.plots import figure, img_tag, png_bytes

BINS = 20  # finer than statistics.json's 10 buckets: a plot may show more than the check keeps
LABEL_CHARS = 24  # category labels longer than this are cut
# At most this many distribution plots (about 0.1-0.2 s and 15 kB each): a wide schema keeps the
# page quick to write and to open; flagged features come first, the table lists every feature.
MAX_PLOTS = 60
BASELINE, WINDOW, FLAGGED = "#9aa5b1", "#1f6fb4", "#c0392b"
NAMED_LINES = 10  # features drawn in colour in the hourly plot (the flagged ones, or all if few)


def feature_images(
    window: StreamingStatistics,
    baseline: Mapping[str, dict[str, Any]],
    results: Sequence[FeatureResult],
    flagged: set[str],
) -> list[str]:
    """One ``<img>`` per feature with data in both (flagged features first, then schema order),
    at most ``MAX_PLOTS``."""
    images: list[str] = []
    for index, result in sorted(enumerate(results), key=lambda item: item[1].name not in flagged):
        if len(images) == MAX_PLOTS:
            break
        feature = baseline.get(result.name)
        if feature is None or not window.present[index] + window.non_numeric[index]:
            continue
        if index in window.categories:
            png = _categorical(window, index, feature, result, result.name in flagged)
        else:
            png = _numeric(window, index, feature, result, result.name in flagged)
        if png is not None:
            images.append(img_tag(png, f"distribution of {result.name}, baseline and window"))
    return images


def drift_image(results: Sequence[FeatureResult], flagged: set[str]) -> str | None:
    """Each feature's drift distance as a bar, its limit as a tick; None if nothing was compared.
    Of more than ``MAX_PLOTS`` features, those nearest their limit (in schema order)."""
    compared = [r for r in results if r.drift is not None]
    if not compared:
        return None
    title = "Drift per feature (bars; red: a violation) and its limit (|)"
    if len(compared) > MAX_PLOTS:
        nearest = sorted(compared, key=lambda r: r.drift / max(r.drift_limit or 0, 1e-12))
        kept = {id(r) for r in nearest[-MAX_PLOTS:]}
        title += f": the {MAX_PLOTS} of {len(compared)} nearest their limit"
        compared = [r for r in compared if id(r) in kept]
    fig = figure(7, 0.8 + 0.28 * len(compared))
    ax = fig.subplots()
    rows = np.arange(len(compared))
    colours = [FLAGGED if r.name in flagged else WINDOW for r in compared]
    ax.barh(rows, [r.drift for r in compared], color=colours)
    ax.scatter([r.drift_limit for r in compared], rows, marker="|", s=200, color="black")
    ax.set_yticks(rows, [_short(r.name) for r in compared], parse_math=False)
    ax.invert_yaxis()  # schema order, top to bottom
    ax.set(xlabel="distance to the baseline (KS; categories: largest share difference)")
    ax.set_title(title)
    return img_tag(png_bytes(fig), "drift of every feature against its limit")


def hourly_image(hours: Sequence[Hour], flagged: set[str]) -> str | None:
    """Each feature's drift hour by hour (features with violations in colour, the others grey;
    a cross where an hour alone exceeds its limit) over the rows per hour; None below two hours."""
    if len(hours) < 2:
        return None
    fig = figure(9, 4.6)
    drift_ax, rows_ax = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    times = [hour.start for hour in hours]
    names = [r.name for r in hours[0].results]
    named = [n for n in names if n in flagged] or (names if len(names) <= NAMED_LINES else [])
    for index, name in enumerate(names):
        drifts = [hour.results[index].drift for hour in hours]
        points = [(t, d) for t, d in zip(times, drifts, strict=True) if d is not None]
        if not points:
            continue
        x, y = zip(*points, strict=True)
        if name in named[:NAMED_LINES]:
            drift_ax.plot(x, y, marker="o", ms=3, lw=1.6, label=_short(name))
        else:
            drift_ax.plot(x, y, color=BASELINE, lw=0.8)
        over = [
            (hour.start, result.drift)
            for hour in hours
            if (result := hour.results[index]).drift is not None
            and result.drift_limit is not None
            and result.drift > result.drift_limit
        ]
        if over:
            drift_ax.scatter(*zip(*over, strict=True), marker="x", color=FLAGGED, zorder=3)
    drift_ax.set(ylabel="drift (KS; categories:\nlargest share difference)")
    drift_ax.set_title("Drift hour by hour (x: above that hour's limit)")
    if named:
        for text in drift_ax.legend(fontsize="small", loc="upper left").get_texts():
            text.set_parse_math(False)
    rows_ax.bar(times, [hour.rows for hour in hours], width=0.8 / 24, color=WINDOW)
    rows_ax.set(ylabel="rows")
    rows_ax.tick_params(axis="x", labelrotation=30)
    return img_tag(png_bytes(fig), "drift of every feature hour by hour, and rows per hour")


def _numeric(
    window: StreamingStatistics,
    index: int,
    feature: dict[str, Any],
    result: FeatureResult,
    flagged: bool,
) -> bytes | None:
    reference = _finite(weighted_sample(feature))
    current = _finite(window_sample(window, index))
    if reference is None or current is None:
        return None
    low = min(reference[0][0], current[0][0])
    high = max(reference[0][-1], current[0][-1])
    if low == high:  # one value in both: a bin around it
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, BINS + 1)
    fig = figure(3.6, 2.6)
    ax = fig.subplots()
    for (items, weights), colour, label, fill in (
        (reference, BASELINE, "baseline", True),
        (current, WINDOW, "window", False),
    ):
        counts, _ = np.histogram(items, bins=edges, weights=weights)
        ax.stairs(counts / weights.sum(), edges, fill=fill, color=colour, label=label, lw=1.8)
    ax.set(ylabel="share of values")
    _title(ax, result, flagged)
    ax.legend(fontsize="small")
    return png_bytes(fig)


def _categorical(
    window: StreamingStatistics,
    index: int,
    feature: dict[str, Any],
    result: FeatureResult,
    flagged: bool,
) -> bytes | None:
    domain, counts = window.categories[index]
    reference = baseline_shares(feature, domain)
    current = np.append(counts, window.non_numeric[index]).astype(np.float64)
    if reference is None or not current.sum():
        return None
    current /= current.sum()
    positions = np.arange(len(domain) + 1)
    fig = figure(max(3.6, 0.5 * len(positions)), 2.8)
    ax = fig.subplots()
    ax.bar(positions - 0.2, reference, width=0.4, color=BASELINE, label="baseline")
    ax.bar(positions + 0.2, current, width=0.4, color=WINDOW, label="window")
    labels = [_short(value) for value in domain] + ["other"]
    ax.set_xticks(positions, labels, rotation=30, ha="right", parse_math=False)
    ax.set(ylabel="share of values")
    _title(ax, result, flagged)
    ax.legend(fontsize="small")
    return png_bytes(fig)


def _finite(
    sample: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The sample's finite items (an infinite value has no bin), or None if none are left."""
    if sample is None:
        return None
    keep = np.isfinite(sample[0])
    return (sample[0][keep], sample[1][keep]) if keep.any() else None


def _title(ax: Any, result: FeatureResult, flagged: bool) -> None:
    drift = "" if result.drift is None else f": drift {result.drift:.3f}"
    limit = "" if result.drift_limit is None else f" (limit {result.drift_limit:.3f})"
    ax.set_title(
        _short(result.name) + drift + limit,
        fontsize="medium",
        color=FLAGGED if flagged else "black",
        parse_math=False,
    )


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"
