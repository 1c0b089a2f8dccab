"""The model-quality report: one self-contained HTML page (plots embedded, ``model_container.plots``).

The window's metrics against the baseline's model-quality constraints (violations in red), its ROC
curve and its confusion matrix: what the job's statistics.json and constraint_violations.json say,
drawn. Imports only matplotlib, not the model's libraries (the job starts fast).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from model_container.plots import figure, img_tag, png_bytes

VIOLATED, MET = "tab:red", "tab:blue"


def _constraint_plot(
    metrics: Mapping[str, Any], constraints: Mapping[str, Any], violated: set[str]
) -> bytes:
    names = [name for name in constraints if isinstance(metrics.get(name), dict)]
    values = [float(metrics[name]["value"]) for name in names]
    fig = figure(5.5, 0.45 * len(names) + 1.4)
    ax = fig.subplots()
    ax.barh(names, values, color=[VIOLATED if n in violated else MET for n in names])
    for row, name in enumerate(names):
        limit = float(constraints[name]["threshold"])
        ax.plot([limit, limit], [row - 0.4, row + 0.4], color="black", linewidth=2)
        ax.text(values[row], row, f" {values[row]:.3f}", va="center")
    ax.invert_yaxis()  # the table's order, top to bottom
    ax.set(xlim=(0, 1.1), xlabel="window value (black tick: the constraint's threshold)")
    ax.set_title("Metrics against the baseline's constraints")
    return png_bytes(fig)


def _roc_plot(metrics: Mapping[str, Any]) -> bytes:
    roc = metrics["receiver_operating_characteristic_curve"]
    fig = figure(4.5, 4.5)
    ax = fig.subplots()
    auc = metrics["auc"]["value"]
    ax.plot(
        roc["false_positive_rates"], roc["true_positive_rates"], label=f"window (AUC {auc:.3f})"
    )
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1.01))
    ax.set_title("ROC curve of the window")
    ax.legend(loc="lower right")
    return png_bytes(fig)


def _confusion_plot(metrics: Mapping[str, Any], threshold: float) -> bytes:
    matrix = metrics["confusion_matrix"]  # Model Monitor's: actual -> predicted -> count
    grid = [
        [int(matrix["0"]["0"]), int(matrix["0"]["1"])],
        [int(matrix["1"]["0"]), int(matrix["1"]["1"])],
    ]
    fig = figure(4.5, 4)
    ax = fig.subplots()
    ax.imshow(grid, cmap="Blues")
    darkest = max(max(line) for line in grid) or 1
    for row in range(2):
        for col in range(2):
            colour = "white" if grid[row][col] > darkest / 2 else "black"
            ax.text(col, row, str(grid[row][col]), ha="center", va="center", color=colour)
    ax.set_xticks([0, 1], ["0", "1"])
    ax.set_yticks([0, 1], ["0", "1"])
    ax.set(xlabel=f"predicted (score >= {threshold:g})", ylabel="ground truth")
    ax.set_title("Confusion matrix of the window")
    return png_bytes(fig)


def _rows(metrics: Mapping[str, Any], constraints: Mapping[str, Any], violated: set[str]) -> str:
    lines = []
    for name, constraint in constraints.items():
        value = metrics.get(name, {}).get("value") if isinstance(metrics.get(name), dict) else None
        shown = f"{value:.4f}" if isinstance(value, float) and math.isfinite(value) else "n/a"
        state = "violation" if name in violated else "met"
        lines.append(
            f'<tr class="{state}"><th>{html.escape(name)}</th><td>{shown}</td>'
            f"<td>{html.escape(str(constraint.get('comparison_operator')))} "
            f"{float(constraint['threshold']):.4f}</td><td>{state}</td></tr>"
        )
    return "\n".join(lines)


def html_report(
    statistics: Mapping[str, Any],
    constraints: Mapping[str, Any],
    violations: Sequence[Mapping[str, Any]],
    *,
    endpoint: str,
    window: str,
    threshold: float,
    bias_violations: int,
) -> str:
    """The page for one run; ``constraints``: the baseline's ``binary_classification_constraints``."""
    metrics = statistics["binary_classification_metrics"]
    violated = {str(v["metric_name"]) for v in violations}
    images = "\n".join(
        (
            img_tag(
                _constraint_plot(metrics, constraints, violated), "metrics against constraints"
            ),
            img_tag(_roc_plot(metrics), "ROC curve of the window"),
            img_tag(_confusion_plot(metrics, threshold), "confusion matrix of the window"),
        )
    )
    rows = statistics.get("dataset", {}).get("item_count", 0)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Model quality of {html.escape(endpoint)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:.5em 0}}
th,td{{border:1px solid #ccc;padding:.3em .8em;text-align:left}}tr.violation{{color:#b00}}
img{{margin:.5em;max-width:45%}}</style>
</head><body>
<h1>Model quality of {html.escape(endpoint)}</h1>
<p>{rows} captured predictions with ground truth in the window {html.escape(window)}; predicted
positive when the score is at least {threshold:g}. {len(violations)} model-quality constraint
violation(s); {bias_violations} bias drift violation(s) (bias_constraint_violations.json).</p>
<table><tr><th>metric</th><th>window</th><th>constraint</th><th></th></tr>
{_rows(metrics, constraints, violated)}
</table>
<div>
{images}
</div>
</body></html>
"""
