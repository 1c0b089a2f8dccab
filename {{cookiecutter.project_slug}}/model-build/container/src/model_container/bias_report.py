"""The bias report: a bar plot per section (PNG, matplotlib without a display) and one self-contained
HTML page that embeds them."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from pathlib import Path

from matplotlib.figure import Figure  # the object API needs no pyplot and no display backend

from model_container.bias_metrics import DOCS, POST_TRAINING, PRE_TRAINING, Metric
from model_container.plots import img_tag

PLOTS = {"pre_training_bias.png": PRE_TRAINING, "post_training_bias.png": POST_TRAINING}
TITLES = {
    "pre_training_bias.png": "Pre-training bias (training labels)",
    "post_training_bias.png": "Post-training bias (test predictions)",
}


def write_plots(directory: Path, pre: Mapping[str, float], post: Mapping[str, float]) -> None:
    """One horizontal bar per metric; a metric without a value (NaN) is marked n/a."""
    directory.mkdir(parents=True, exist_ok=True)
    for (file_name, metrics), values in zip(PLOTS.items(), (pre, post), strict=True):
        names = [metric.name for metric in metrics]
        numbers = [values[name] for name in names]
        shown = [value if math.isfinite(value) else 0.0 for value in numbers]
        fig = Figure(figsize=(5.5, 0.35 * len(names) + 1.2), layout="constrained")
        ax = fig.subplots()
        colours = ["tab:orange" if value < 0 else "tab:blue" for value in shown]
        ax.barh(names, shown, color=colours)
        ax.axvline(0.0, color="grey", linewidth=0.8)
        for row, value in enumerate(numbers):
            text = f"{value:.3f}" if math.isfinite(value) else "n/a"
            ax.text(
                shown[row], row, f" {text} ", va="center", ha="left" if shown[row] >= 0 else "right"
            )
        ax.invert_yaxis()  # the first metric on top, as in the table
        ax.margins(x=0.25)
        ax.set(title=TITLES[file_name], xlabel="value")
        fig.savefig(directory / file_name, dpi=100)


def _rows(metrics: Mapping[Metric, object], values: Mapping[str, float]) -> str:
    return "\n".join(
        f'<tr><th><a href="{DOCS}{metric.page}">{html.escape(metric.name)}</a></th>'
        f"<td>{html.escape(metric.description)}</td>"
        f"<td>{values[metric.name]:.4f}</td></tr>"
        if math.isfinite(values[metric.name])
        else f'<tr><th><a href="{DOCS}{metric.page}">{html.escape(metric.name)}</a></th>'
        f"<td>{html.escape(metric.description)}</td><td>n/a</td></tr>"
        for metric in metrics
    )


def write_html(
    path: Path,
    *,
    facet: str | None,
    outcome: str,
    counts: Mapping[str, tuple[int, int]] | None = None,
    pre: Mapping[str, float] | None = None,
    post: Mapping[str, float] | None = None,
) -> None:
    """The page: the facet and outcome, each group's rows, both metric tables with their plots
    (write_plots' PNG files beside ``path``, embedded: the page is the whole report).

    ``facet`` None: the page says no facet is configured. ``counts``: split -> (facet a rows,
    facet d rows).
    """
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0}"
        "th,td{border:1px solid #ccc;padding:.3em .8em;text-align:left}img{margin:.5em;max-width:45%}"
    )
    if facet is None or pre is None or post is None:
        body = (
            "<p>No facet configured: <code>project_model.BIAS</code> is None, so no bias metrics "
            "were computed. Set a facet in the model folder's <code>schema.py</code> to measure "
            "one.</p>"
        )
    else:
        groups = "\n".join(
            f"<tr><th>{html.escape(split)}</th><td>{a}</td><td>{d}</td></tr>"
            for split, (a, d) in (counts or {}).items()
        )
        body = f"""<p>Sensitive group (facet d): {html.escape(facet)}; facet a: every other row with
a value. Outcome counted: {html.escape(outcome)}. Definitions: SageMaker Clarify's
(<a href="{DOCS}clarify-measure-data-bias.html">pre-training</a>,
<a href="{DOCS}clarify-measure-post-training-bias.html">post-training</a>); n/a: undefined (a
group without rows, or a zero denominator).</p>
<table><tr><th>rows</th><th>facet a</th><th>facet d</th></tr>
{groups}
</table>
<h2>Pre-training bias: the training split's labels</h2>
<table>
{_rows(PRE_TRAINING, pre)}
</table>
<h2>Post-training bias: the model's predictions on the test split</h2>
<table>
{_rows(POST_TRAINING, post)}
</table>
<div>
{"".join(img_tag((path.parent / name).read_bytes(), TITLES[name]) for name in PLOTS)}
</div>"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Model bias</title>
<style>{style}</style>
</head><body>
<h1>Model bias</h1>
{body}
</body></html>
""",
        encoding="utf-8",
    )
