"""The evaluation report: PNG plots (matplotlib, no display needed) and one HTML page showing them
(the same PNGs embedded, so ``report.html`` alone is the whole report: ``model_container.plots``)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import project_model
from model_container.metrics import Curves
from model_container.plots import DPI, figure, img_tag

PLOTS = ("roc_curve.png", "precision_recall_curve.png", "confusion_matrix.png")


def write_plots(
    directory: Path, curves: Curves, auc: float, confusion: dict[str, int], threshold: float
) -> None:
    """Write the ROC curve, PR curve and confusion matrix as PNG files into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)

    fig = figure(4.5, 4.5)
    ax = fig.subplots()
    ax.plot(curves.false_positive_rates, curves.true_positive_rates, label=f"model (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    ax.set(
        xlabel="false positive rate",
        ylabel="true positive rate",
        title="ROC curve",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    ax.legend(loc="lower right")
    fig.savefig(directory / PLOTS[0], dpi=DPI)

    fig = figure(4.5, 4.5)
    ax = fig.subplots()
    ax.step(curves.recalls, curves.precisions, where="post")
    ax.set(
        xlabel="recall",
        ylabel="precision",
        title="Precision-recall curve",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    fig.savefig(directory / PLOTS[1], dpi=DPI)

    fig = figure(4.5, 4)
    ax = fig.subplots()
    grid = [[confusion["tn"], confusion["fp"]], [confusion["fn"], confusion["tp"]]]
    # The label's values as your data has them, with the model's 0 and 1 where they differ.
    schema = project_model.SCHEMA
    classes = [
        value if value == code else f"{value} ({code})"
        for value, code in ((schema.negative, "0"), (schema.positive, "1"))
    ]
    ax.imshow(grid, cmap="Blues")
    darkest = max(max(line) for line in grid)
    for row in range(2):
        for col in range(2):
            count = grid[row][col]
            colour = "white" if count > darkest / 2 else "black"  # readable on dark and light cells
            ax.text(col, row, str(count), ha="center", va="center", fontsize=14, color=colour)
    ax.set_xticks([0, 1], classes, parse_math=False)  # plain text, not matplotlib's $math$
    ax.set_yticks([0, 1], classes, parse_math=False)
    ax.set_xlabel(f"predicted {schema.label} (score >= {threshold:g})", parse_math=False)
    ax.set_ylabel(f"actual {schema.label}", parse_math=False)
    ax.set_title("Confusion matrix")
    fig.savefig(directory / PLOTS[2], dpi=DPI)


def write_html(
    path: Path,
    metrics: dict[str, Any],
    *,
    rows: int,
    threshold: float,
    model: dict[str, Any],
    champion: str = "",
) -> None:
    """One self-describing page: the headline metrics, the plots ``write_plots`` wrote beside
    ``path`` (embedded), and what was evaluated."""
    table = "\n".join(
        f"<tr><th>{html.escape(name)}</th><td>{value:.4f}</td></tr>"
        for name, value in metrics.items()
    )
    images = "\n".join(
        img_tag((path.parent / name).read_bytes(), name[:-4].replace("_", " ")) for name in PLOTS
    )
    features = html.escape(", ".join(model.get("features", [])))
    info = html.escape(
        ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in model.get("info", {}).items())
    )
    path.write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Model evaluation</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
th,td{{border:1px solid #ccc;padding:.3em .8em;text-align:left}}img{{margin:.5em;max-width:30%}}</style>
</head><body>
<h1>Model evaluation</h1>
<p>{rows} held-out test rows; decision threshold {threshold:g}; features: {features};
{info}.</p>
<p>Champion comparison: {html.escape(champion or "none")}</p>
<table>
{table}
</table>
<div>
{images}
</div>
</body></html>
""",
        encoding="utf-8",
    )
