"""Binary-classification metrics in numpy (the image has no scikit-learn; tests compare with it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Curves:
    thresholds: np.ndarray  # decreasing distinct scores
    false_positive_rates: np.ndarray  # with the (0, 0) start point
    true_positive_rates: np.ndarray
    precisions: np.ndarray  # with the (recall 0, precision 1) start point
    recalls: np.ndarray


def curves(labels: np.ndarray, scores: np.ndarray) -> Curves:
    """ROC and precision-recall curves over every distinct score, highest first."""
    labels, scores = _check(labels, scores)
    order = np.argsort(-scores, kind="mergesort")
    return _sorted_curves(labels[order], scores[order])


def _sorted_curves(sorted_labels: np.ndarray, sorted_scores: np.ndarray) -> Curves:
    """``curves`` of rows already sorted by decreasing score."""
    # The last row of each run of equal scores: the curves move once per distinct threshold.
    ends = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(sorted_scores) - 1]
    tps = np.cumsum(sorted_labels)[ends]
    fps = (ends + 1) - tps
    positives, negatives = tps[-1], fps[-1]
    precision = tps / (tps + fps)
    return Curves(
        thresholds=sorted_scores[ends],
        false_positive_rates=np.r_[0.0, fps / negatives],
        true_positive_rates=np.r_[0.0, tps / positives],
        precisions=np.r_[1.0, precision],
        recalls=np.r_[0.0, tps / positives],
    )


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (ties count one half, as in the Mann-Whitney statistic)."""
    roc = curves(labels, scores)
    return float(np.trapezoid(roc.true_positive_rates, roc.false_positive_rates))


def confusion(labels: np.ndarray, predicted: np.ndarray) -> dict[str, int]:
    """Counts ``tn``, ``fp``, ``fn``, ``tp``."""
    labels = labels.astype(bool)
    predicted = predicted.astype(bool)
    return {
        "tn": int(np.sum(~labels & ~predicted)),
        "fp": int(np.sum(~labels & predicted)),
        "fn": int(np.sum(labels & ~predicted)),
        "tp": int(np.sum(labels & predicted)),
    }


def threshold_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and the four rates of ``score >= threshold`` (0 where undefined)."""
    counts = confusion(labels, scores >= threshold)
    tn, fp, fn, tp = counts["tn"], counts["fp"], counts["fn"], counts["tp"]
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    return {
        "accuracy": _ratio(tp + tn, tn + fp + fn + tp),
        "precision": precision,
        "recall": recall,
        "f1": _ratio(2 * precision * recall, precision + recall),
        "true_positive_rate": recall,
        "true_negative_rate": _ratio(tn, tn + fp),
        "false_positive_rate": _ratio(fp, fp + tn),
        "false_negative_rate": _ratio(fn, fn + tp),
    }


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else 0.0


def _check(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise ValueError(
            f"labels {labels.shape} and scores {scores.shape} must be 1-d of one length"
        )
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    if labels.min(initial=1.0) == labels.max(initial=0.0):
        raise ValueError("need both classes (0 and 1) to draw ROC and PR curves")
    return labels, scores


MAX_CURVE_POINTS = 1000  # keeps evaluation.json small for big test sets
STD_MIN_ROWS = 200  # like Model Monitor: standard deviations only from 200 rows on
STD_SAMPLES = 5
STD_FRACTION = 0.8


def metric_report(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """The ``evaluation.json`` document for one scored test set."""
    roc = curves(labels, scores)
    auc = float(np.trapezoid(roc.true_positive_rates, roc.false_positive_rates))  # = roc_auc
    values = {"auc": auc, **threshold_metrics(labels, scores, threshold)}
    spread = _standard_deviations(labels, scores, threshold)
    counts = confusion(labels, scores >= threshold)
    binary: dict[str, Any] = {
        # Model Monitor's layout: actual label -> predicted label -> count.
        "confusion_matrix": {
            "0": {"0": counts["tn"], "1": counts["fp"]},
            "1": {"0": counts["fn"], "1": counts["tp"]},
        },
        **{
            name: {"value": value, "standard_deviation": spread.get(name, "NaN")}
            for name, value in values.items()
        },
        "receiver_operating_characteristic_curve": {
            "false_positive_rates": _thin(roc.false_positive_rates),
            "true_positive_rates": _thin(roc.true_positive_rates),
        },
        "precision_recall_curve": {
            "precisions": _thin(roc.precisions),
            "recalls": _thin(roc.recalls),
        },
    }
    return {
        "version": 0.0,
        "dataset": {"item_count": len(labels)},
        "binary_classification_metrics": binary,
    }


def _standard_deviations(
    labels: np.ndarray, scores: np.ndarray, threshold: float
) -> dict[str, float]:
    """Spread over 5 random 80 % samples, as Model Monitor computes it; empty below 200 rows."""
    if len(labels) < STD_MIN_ROWS:
        return {}
    rng = np.random.default_rng(0)
    labels, scores = _check(labels, scores)
    order = np.argsort(-scores, kind="mergesort")  # sorted once: a sample keeps this order
    samples = []
    for _ in range(STD_SAMPLES):
        rows = rng.choice(len(labels), size=int(len(labels) * STD_FRACTION), replace=False)
        if labels[rows].min() == labels[rows].max():
            return {}
        chosen = np.zeros(len(labels), dtype=bool)
        chosen[rows] = True
        ranked = order[chosen[order]]  # the sample by decreasing score (ties do not move AUC)
        roc = _sorted_curves(labels[ranked], scores[ranked])
        samples.append(
            {
                "auc": float(np.trapezoid(roc.true_positive_rates, roc.false_positive_rates)),
                **threshold_metrics(labels[rows], scores[rows], threshold),
            }
        )
    return {name: float(np.std([sample[name] for sample in samples])) for name in samples[0]}


def _thin(values: np.ndarray) -> list[float]:
    if len(values) > MAX_CURVE_POINTS:
        values = values[
            np.unique(np.linspace(0, len(values) - 1, MAX_CURVE_POINTS).round().astype(int))
        ]
    return [round(float(value), 6) for value in values]
