"""A short, self-contained HTML report of one monitoring run: what was read, the violations, a table
of the features, the drift of each against its limit, the drift hour by hour, and each feature's
distribution, baseline against window (``monitor.distributions``; the plots are embedded, so the one
file is the report)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from model_container.monitor.checks import FeatureResult
from model_container.monitor.distributions import drift_image, feature_images, hourly_image
from model_container.monitor.hourly import Hour
from model_container.monitor.reader import ReadSummary
from model_container.monitor.stats import StreamingStatistics

_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}"
    "td:first-child,th:first-child{text-align:left}.bad{background:#fdd}"
    "img{margin:.3em;vertical-align:top;max-width:100%}"
)


def _number(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def html_report(
    title: str,
    window: StreamingStatistics,
    results: Sequence[FeatureResult],
    violations: Sequence[dict[str, str]],
    summary: ReadSummary,
    *,
    baseline: dict[str, Any] | None = None,
    hours: Sequence[Hour] = (),
) -> str:
    """The page; ``baseline`` (the baseline's statistics.json) adds the distribution plots,
    ``hours`` (the window's hours compared one by one) the drift over time."""
    flagged = {v["feature_name"] for v in violations}
    rows = []
    for index, result in enumerate(results):
        mean = float(window.mean[index]) if window.present[index] else None
        rows.append(
            f"<tr{' class=bad' if result.name in flagged else ''}>"
            f"<td>{escape(result.name)}</td><td>{int(window.present[index])}</td>"
            f"<td>{_number(mean, 3)}</td><td>{_number(result.completeness)}</td>"
            f"<td>{_number(result.baseline_completeness)}</td><td>{_number(result.drift)}</td>"
            f"<td>{_number(result.drift_limit)}</td></tr>"
        )
    found = "".join(
        f"<li><b>{escape(v['feature_name'])}</b> {escape(v['constraint_check_type'])}: "
        f"{escape(v['description'])}</li>"
        for v in violations
    )
    unreadable = "".join(f"<li>{escape(example)}</li>" for example in summary.examples)
    drift = drift_image(results, flagged)
    by_name = {
        f["name"]: f
        for f in (baseline or {}).get("features") or []
        if isinstance(f, dict) and isinstance(f.get("name"), str)
    }
    images = feature_images(window, by_name, results, flagged) if by_name else []
    shown = "" if len(images) == len(results) else f" ({len(images)} of {len(results)} features)"
    over_time = hourly_image(hours, flagged)
    plots = (
        (f"<h2>Drift</h2>{drift}" if drift else "")
        + (f"<h2>Drift over the window's hours</h2>{over_time}" if over_time else "")
        + (
            "<h2>Distributions: baseline (grey) and window (blue)</h2>"
            f"<p>Shares of each feature's values; features with violations first{shown}.</p>"
            f"<div>{''.join(images)}</div>"
            if images
            else ""
        )
    )
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"<p>{summary.files} files, {summary.records} records, {summary.rows} rows in the window; "
        f"{summary.outside_window} records outside it, {summary.unreadable} unreadable, "
        f"{summary.wrong_width_rows} rows of the wrong width.</p>"
        f"<h2>{len(violations)} violations</h2><ul>{found or '<li>none</li>'}</ul>"
        "<h2>Features</h2><table><tr><th>feature</th><th>values</th><th>mean</th>"
        "<th>completeness</th><th>baseline completeness</th><th>drift (KS)</th><th>limit</th></tr>"
        + "".join(rows)
        + "</table>"
        + plots
        + (
            f"<h2>Unreadable records (first {len(summary.examples)})</h2><ul>{unreadable}</ul>"
            if unreadable
            else ""
        )
        + "</body></html>\n"
    )
