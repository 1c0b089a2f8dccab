"""The drift report's plots: each feature's distribution, baseline against window, and the drift of
every feature against its limit (PNG, embedded by ``model_container.plots``).

A numeric feature's two distributions come from the KLL sketches the checks compare (the baseline's
``statistics.json`` sketch and the window's): both are binned on the same edges, spanning both, so
the bars compare directly (each document's own ``buckets`` span only its own min to max). A
categorical feature shows the category shares the categorical drift check compares, with the values
outside the baseline's domain as "other". Feature and category names are drawn as plain text
(``parse_math=False``: a ``$`` in a name is not matplotlib's math syntax).

The figures have no layout engine (``plots.fixed_figure``): their margins are sized from the text
they hold (tick and axis labels, titles, rotated category names), measured with ``plots.text_inches``,
which costs a fraction of matplotlib's constrained layout (that draws each figure twice).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from model_container.monitor.checks import FeatureResult, baseline_shares, window_sample
from model_container.monitor.hourly import Hour
from model_container.monitor.stats import StreamingStatistics, weighted_sample
from model_container.plots import TICK_SPACE, fixed_figure, img_tag, png_bytes, text_inches

BINS = 20  # finer than statistics.json's 10 buckets: a plot may show more than the check keeps
LABEL_CHARS = 24  # category labels longer than this are cut
# At most this many distribution plots (about 0.1-0.2 s and 15 kB each): a wide schema keeps the
# page quick to write and to open; flagged features come first, the table lists every feature.
MAX_PLOTS = 60
BASELINE, WINDOW, FLAGGED = "#9aa5b1", "#1f6fb4", "#c0392b"
NAMED_LINES = 10  # features drawn in colour in the hourly plot (the flagged ones, or all if few)
PAD = 0.1  # inches between the outermost text and the figure's edge
TITLE_SPACE = 0.09  # inches between an axes and its title (6 pt)
SHARES = "0.0000"  # at least as wide as a share axis' tick labels
SHARE_LABEL = "share of values"
ROTATION = 30  # degrees: category names and hours under their axis
PLOT_HEIGHT = 1.9  # inches of a distribution plot's axes
HOUR_TICKS = 12  # at most this many labelled hours


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
    labels = [_short(r.name) for r in compared]
    xlabel = "distance to the baseline (KS; categories: largest share difference)"
    title_width, title_height = text_inches(title, "large")
    left = PAD + max(text_inches(label)[0] for label in labels) + TICK_SPACE
    bottom = PAD + text_inches(xlabel)[1] + TICK_SPACE + text_inches("0.0")[1]
    top = title_height + TITLE_SPACE + PAD / 2
    width = max(7.0, left + title_width + PAD)
    fig = fixed_figure(
        width, 0.28 * len(compared) + bottom + top, left=left, bottom=bottom, right=PAD, top=top
    )
    ax = fig.subplots()
    rows = np.arange(len(compared))
    colours = [FLAGGED if r.name in flagged else WINDOW for r in compared]
    ax.barh(rows, [r.drift for r in compared], color=colours)
    ax.scatter([r.drift_limit for r in compared], rows, marker="|", s=200, color="black")
    ax.set_yticks(rows, labels, parse_math=False)
    ax.invert_yaxis()  # schema order, top to bottom
    ax.set(xlabel=xlabel)
    ax.set_title(title)
    return img_tag(png_bytes(fig), "drift of every feature against its limit")


def hourly_image(hours: Sequence[Hour], flagged: set[str]) -> str | None:
    """Each feature's drift hour by hour (features with violations in colour, the others grey;
    a cross where an hour alone exceeds its limit) over the rows per hour; None below two hours."""
    if len(hours) < 2:
        return None
    # Hours since the first as x (labelled "MM-DD HH:00"): plain numbers need no date locator.
    first = hours[0].start
    times = [(hour.start - first).total_seconds() / 3600 for hour in hours]
    step = math.ceil(len(hours) / HOUR_TICKS)
    ticks = [hour.start.strftime("%m-%d %H:00") for hour in hours[::step]]
    ylabel = ("drift (KS; categories:", "largest share difference)")
    title = "Drift hour by hour (x: above that hour's limit)"
    line = text_inches(ylabel[1])[1]
    widest_tick = max(text_inches("0.000")[0], text_inches(str(max(h.rows for h in hours)))[0])
    left = PAD + 2 * line + TICK_SPACE + widest_tick + TICK_SPACE / 2
    depth, reach = _rotated(ticks)
    bottom = PAD + depth + TICK_SPACE
    top = text_inches(title, "large")[1] + TITLE_SPACE + PAD / 2
    fig = fixed_figure(
        9, 3.6 + bottom + top, left=max(left, reach[0] + PAD), bottom=bottom, right=PAD, top=top
    )
    drift_ax, rows_ax = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
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
            (time, result.drift)
            for time, hour in zip(times, hours, strict=True)
            if (result := hour.results[index]).drift is not None
            and result.drift_limit is not None
            and result.drift > result.drift_limit
        ]
        if over:
            drift_ax.scatter(*zip(*over, strict=True), marker="x", color=FLAGGED, zorder=3)
    drift_ax.set(ylabel="\n".join(ylabel))
    drift_ax.set_title(title)
    if named:
        for text in drift_ax.legend(fontsize="small", loc="upper left").get_texts():
            text.set_parse_math(False)
    rows_ax.bar(times, [hour.rows for hour in hours], width=0.8, color=WINDOW)
    rows_ax.set(ylabel="rows")
    rows_ax.set_xticks(times[::step], ticks, rotation=ROTATION, ha="right")
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
    # Two lines under the axis: the tick labels and, for large or small values, the "1e7" below them.
    ax = _share_axes(result, 3.6, 2 * text_inches("0")[1] + TICK_SPACE)
    for (items, weights), colour, label, fill in (
        (reference, BASELINE, "baseline", True),
        (current, WINDOW, "window", False),
    ):
        counts, _ = np.histogram(items, bins=edges, weights=weights)
        ax.stairs(counts / weights.sum(), edges, fill=fill, color=colour, label=label, lw=1.8)
    _title(ax, result, flagged)
    ax.legend(fontsize="small")
    return png_bytes(ax.figure)


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
    labels = [_short(value) for value in domain] + ["other"]
    width = max(3.6, 0.5 * len(positions))
    depth, reach = _rotated(labels)
    # The first name reaches left of its tick, which is 0.6 of the x range's len + 0.6 from the
    # axes' left edge (the axes are at most width - 1 inch wide: an estimate on the safe side).
    room = 0.6 / (len(positions) + 0.6) * (width - 1.0)
    ax = _share_axes(result, width, depth + TICK_SPACE, reach=reach[0] - room)
    ax.bar(positions - 0.2, reference, width=0.4, color=BASELINE, label="baseline")
    ax.bar(positions + 0.2, current, width=0.4, color=WINDOW, label="window")
    ax.set_xlim(-0.6, len(domain) + 0.6)
    ax.set_xticks(positions, labels, rotation=ROTATION, ha="right", parse_math=False)
    _title(ax, result, flagged)
    ax.legend(fontsize="small")
    return png_bytes(ax.figure)


def _share_axes(result: FeatureResult, width: float, below: float, reach: float = 0.0) -> Any:
    """The axes of a distribution plot, in a figure at least ``width`` inches wide (its title
    fits), with ``below`` inches under the axes for the x labels and room for them to reach
    ``reach`` inches left of it."""
    title_width, title_height = text_inches(_title_text(result))
    line = text_inches(SHARE_LABEL)[1]
    left = max(PAD + line + TICK_SPACE / 2 + text_inches(SHARES)[0] + TICK_SPACE, reach + PAD)
    width = max(width, left + title_width + PAD)
    top = title_height + TITLE_SPACE + PAD / 2
    bottom = below + PAD
    fig = fixed_figure(
        width, PLOT_HEIGHT + bottom + top, left=left, bottom=bottom, right=PAD, top=top
    )
    ax = fig.subplots()
    ax.set(ylabel=SHARE_LABEL)
    return ax


def _rotated(labels: Sequence[str]) -> tuple[float, list[float]]:
    """Labels rotated by ROTATION under an axis and right-aligned to their ticks: how far the
    deepest reaches below the tick labels' top (inches), and how far each reaches left of its tick."""
    sin, cos = math.sin(math.radians(ROTATION)), math.cos(math.radians(ROTATION))
    sizes = [text_inches(label) for label in labels]
    return max(w * sin + h * cos for w, h in sizes), [w * cos + h * sin for w, h in sizes]


def _finite(
    sample: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The sample's finite items (an infinite value has no bin), or None if none are left."""
    if sample is None:
        return None
    keep = np.isfinite(sample[0])
    return (sample[0][keep], sample[1][keep]) if keep.any() else None


def _title_text(result: FeatureResult) -> str:
    drift = "" if result.drift is None else f": drift {result.drift:.3f}"
    limit = "" if result.drift_limit is None else f" (limit {result.drift_limit:.3f})"
    return _short(result.name) + drift + limit


def _title(ax: Any, result: FeatureResult, flagged: bool) -> None:
    ax.set_title(
        _title_text(result),
        fontsize="medium",
        color=FLAGGED if flagged else "black",
        parse_math=False,
    )


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"
