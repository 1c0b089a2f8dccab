"""Bias of the data and of the model's predictions, as SageMaker Clarify defines and reports it (numpy).

The model folder names a facet (``project_model.BIAS``): the sensitive group, facet *d*, is the rows
whose facet feature is at or above a threshold (a numeric feature) or one of some categories (a
categorical one); facet *a* is every other row with a value. Rows missing the facet's value are in
neither. Metrics compare the two groups' labels (pre-training) and predicted labels (post-training),
each with the definition of its Clarify page:

- https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-measure-data-bias.html (pre-training)
- https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-measure-post-training-bias.html

A metric whose denominator is zero (a group with no rows, no predicted positives, no false
positives...) is NaN here, and ``null`` in the JSON documents: Clarify's own container fails on an
empty facet, which would stop a pipeline over a small test split. KL is infinite when facet *d* has
none of a label facet *a* has (also ``null`` in JSON, which has no infinity).

Documents follow Clarify's analysis.json
(https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-processing-job-analysis-results.html) and
bias drift violations Clarify's constraint_violations.json
(https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-model-monitor-bias-drift-violations.html).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

DOCS = "https://docs.aws.amazon.com/sagemaker/latest/dg/"


@dataclass(frozen=True)
class Facet:
    """The sensitive group: ``feature > threshold`` (numeric) or ``feature in categories``.

    As Clarify's threshold facet: the values *above* the threshold (its interval (threshold, max]),
    so a report means what Clarify's would; age 60 and over in whole years is ``threshold=59``.
    """

    feature: str
    threshold: float | None = None
    categories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.threshold is None) == (not self.categories):
            raise ValueError(
                f"facet {self.feature!r}: give either a threshold (numeric feature) or categories"
            )
        if self.threshold is not None and not math.isfinite(self.threshold):
            raise ValueError(f"facet {self.feature!r}: threshold {self.threshold} is not finite")

    def value_or_threshold(self, column: np.ndarray | None = None) -> str:
        """The group as Clarify's analysis writes it: the categories joined by commas, or a
        threshold's interval (threshold, max of the facet's ``column``] in pandas' notation,
        "(59.0, 96.0]": smclarify's ``_interval_index`` and ``_do_report``
        (github.com/aws/amazon-sagemaker-clarify, src/smclarify/bias/report.py)."""
        if self.threshold is None:
            return ",".join(self.categories)
        values = np.asarray(column if column is not None else [], dtype=np.float64)
        values = values[~np.isnan(values)]
        top = max(float(values.max()), self.threshold) if values.size else self.threshold
        return f"({float(self.threshold)}, {float(top)}]"


@dataclass(frozen=True)
class BiasConfig:
    """What the Bias step measures (the model folder's ``BIAS``)."""

    facet: Facet
    positive_label: str  # the label value that is the favourable outcome (one of the schema's two)
    probability_threshold: float | None = None  # predicted outcome: score >= it; None: the model's
    drift_tolerance: float = 0.1  # bias drift: how much worse than the baseline a window may be

    def __post_init__(self) -> None:
        threshold = self.probability_threshold
        if threshold is not None and not 0.0 < threshold < 1.0:
            raise ValueError(f"probability_threshold {threshold} must be in (0, 1) or None")
        if not self.drift_tolerance >= 0.0:
            raise ValueError(f"drift_tolerance {self.drift_tolerance} must be 0 or more")


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    page: str  # the Clarify page that defines it, under DOCS


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else math.nan


@dataclass(frozen=True)
class Groups:
    """Counts of facet a (``*_a``) and facet d (``*_d``): rows, labels 1, predicted 1, confusion."""

    sensitive: np.ndarray
    labels: np.ndarray
    predicted: np.ndarray | None = None

    def count(self, d: bool, label: bool | None = None, predicted: bool | None = None) -> int:
        rows = self.sensitive == d
        if label is not None:
            rows &= self.labels == label
        if predicted is not None:
            if self.predicted is None:
                raise ValueError("post-training metrics need predicted labels")
            rows &= self.predicted == predicted
        return int(np.sum(rows))

    def label_distribution(self, d: bool) -> np.ndarray:
        """(P(label 0), P(label 1)) of one facet; NaN when it has no rows."""
        q = _ratio(self.count(d, label=True), self.count(d))
        return np.array([1.0 - q, q])


def groups(
    membership: np.ndarray, labels: np.ndarray, predicted: np.ndarray | None = None
) -> Groups:
    """``membership``: 1.0 for facet d, 0.0 for facet a, NaN for neither; labels and predictions as
    booleans (True: the positive outcome)."""
    membership = np.asarray(membership, dtype=np.float64)
    keep = ~np.isnan(membership)
    labels = np.asarray(labels, dtype=bool)
    if labels.shape != membership.shape:
        raise ValueError(f"labels {labels.shape} and facet {membership.shape} differ in shape")
    if predicted is not None:
        predicted = np.asarray(predicted, dtype=bool)
        if predicted.shape != membership.shape:
            raise ValueError(f"predictions {predicted.shape} and facet {membership.shape} differ")
        predicted = predicted[keep]
    return Groups(membership[keep] == 1.0, labels[keep], predicted)


# -- Pre-training: the labels of the two facets ------------------------------------------------------


def class_imbalance(g: Groups) -> float:
    """CI = (n_a - n_d) / (n_a + n_d)."""
    n_a, n_d = g.count(False), g.count(True)
    return _ratio(n_a - n_d, n_a + n_d)


def label_proportion_difference(g: Groups) -> float:
    """DPL = q_a - q_d, q = n(1) / n: the share of positive labels."""
    return _ratio(g.count(False, label=True), g.count(False)) - _ratio(
        g.count(True, label=True), g.count(True)
    )


def kl_divergence(g: Groups) -> float:
    """KL = sum_y P_a(y) log(P_a(y) / P_d(y)) over the label values (natural log)."""
    p_a, p_d = g.label_distribution(False), g.label_distribution(True)
    return _kl(p_a, p_d)


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    if np.isnan(p).any() or np.isnan(q).any():
        return math.nan
    terms = [pi * math.log(pi / qi) if qi else math.inf for pi, qi in zip(p, q, strict=True) if pi]
    return float(sum(terms))


def js_divergence(g: Groups) -> float:
    """JS = (KL(P_a, P) + KL(P_d, P)) / 2, P = (P_a + P_d) / 2."""
    p_a, p_d = g.label_distribution(False), g.label_distribution(True)
    mean = (p_a + p_d) / 2
    return 0.5 * (_kl(p_a, mean) + _kl(p_d, mean))


def lp_norm(g: Groups) -> float:
    """LP = (sum_y |P_a(y) - P_d(y)|^2)^(1/2): the Euclidean distance of the label distributions."""
    diff = g.label_distribution(False) - g.label_distribution(True)
    return float(np.sqrt(np.sum(diff**2)))


def total_variation_distance(g: Groups) -> float:
    """TVD = (1/2) sum_y |P_a(y) - P_d(y)| (half the L1 distance)."""
    diff = g.label_distribution(False) - g.label_distribution(True)
    return float(0.5 * np.sum(np.abs(diff)))


def kolmogorov_smirnov(g: Groups) -> float:
    """KS = max_y |P_a(y) - P_d(y)|."""
    diff = g.label_distribution(False) - g.label_distribution(True)
    return float(np.max(np.abs(diff)))


# -- Post-training: the model's predicted labels ------------------------------------------------------


def predicted_proportion_difference(g: Groups) -> float:
    """DPPL = q'_a - q'_d, q' = n'(1) / n: the share of predicted positives."""
    return _ratio(g.count(False, predicted=True), g.count(False)) - _ratio(
        g.count(True, predicted=True), g.count(True)
    )


def disparate_impact(g: Groups) -> float:
    """DI = q'_d / q'_a."""
    q_a = _ratio(g.count(False, predicted=True), g.count(False))
    q_d = _ratio(g.count(True, predicted=True), g.count(True))
    return _ratio(q_d, q_a)


def conditional_acceptance_difference(g: Groups) -> float:
    """DCA = c_a - c_d, c = n(1) / n'(1): observed over predicted positives."""
    return _ratio(g.count(False, label=True), g.count(False, predicted=True)) - _ratio(
        g.count(True, label=True), g.count(True, predicted=True)
    )


def conditional_rejection_difference(g: Groups) -> float:
    """DCR = r_d - r_a, r = n(0) / n'(0): observed over predicted negatives."""
    return _ratio(g.count(True, label=False), g.count(True, predicted=False)) - _ratio(
        g.count(False, label=False), g.count(False, predicted=False)
    )


def recall_difference(g: Groups) -> float:
    """RD = TP_a / (TP_a + FN_a) - TP_d / (TP_d + FN_d)."""
    return _ratio(g.count(False, True, True), g.count(False, label=True)) - _ratio(
        g.count(True, True, True), g.count(True, label=True)
    )


def acceptance_rate_difference(g: Groups) -> float:
    """DAR = TP_a / n'_a(1) - TP_d / n'_d(1): precision of each facet."""
    return _ratio(g.count(False, True, True), g.count(False, predicted=True)) - _ratio(
        g.count(True, True, True), g.count(True, predicted=True)
    )


def rejection_rate_difference(g: Groups) -> float:
    """DRR = TN_d / n'_d(0) - TN_a / n'_a(0)."""
    return _ratio(g.count(True, False, False), g.count(True, predicted=False)) - _ratio(
        g.count(False, False, False), g.count(False, predicted=False)
    )


def accuracy_difference(g: Groups) -> float:
    """AD = ACC_a - ACC_d, ACC = (TP + TN) / n."""

    def accuracy(d: bool) -> float:
        return _ratio(g.count(d, True, True) + g.count(d, False, False), g.count(d))

    return accuracy(False) - accuracy(True)


def treatment_equality(g: Groups) -> float:
    """TE = FN_d / FP_d - FN_a / FP_a."""
    return _ratio(g.count(True, True, False), g.count(True, False, True)) - _ratio(
        g.count(False, True, False), g.count(False, False, True)
    )


PRE_TRAINING: dict[Metric, Callable[[Groups], float]] = {
    Metric("CI", "Class Imbalance (CI)", "clarify-bias-metric-class-imbalance.html"): (
        class_imbalance
    ),
    Metric(
        "DPL",
        "Difference in Positive Proportions in Labels (DPL)",
        "clarify-data-bias-metric-true-label-imbalance.html",
    ): label_proportion_difference,
    Metric(
        "KL", "Kullback-Leibler Divergence (KL)", "clarify-data-bias-metric-kl-divergence.html"
    ): (kl_divergence),
    Metric(
        "JS",
        "Jensen-Shannon Divergence (JS)",
        "clarify-data-bias-metric-jensen-shannon-divergence.html",
    ): js_divergence,
    Metric("LP", "L-p Norm (LP)", "clarify-data-bias-metric-lp-norm.html"): lp_norm,
    Metric(
        "TVD",
        "Total Variation Distance (TVD)",
        "clarify-data-bias-metric-total-variation-distance.html",
    ): total_variation_distance,
    Metric(
        "KS",
        "Kolmogorov-Smirnov Distance (KS)",
        "clarify-data-bias-metric-kolmogorov-smirnov.html",
    ): kolmogorov_smirnov,
}

POST_TRAINING: dict[Metric, Callable[[Groups], float]] = {
    Metric(
        "DPPL",
        "Difference in Positive Proportions in Predicted Labels (DPPL)",
        "clarify-post-training-bias-metric-dppl.html",
    ): predicted_proportion_difference,
    Metric("DI", "Disparate Impact (DI)", "clarify-post-training-bias-metric-di.html"): (
        disparate_impact
    ),
    Metric(
        "DCA",
        "Difference in Conditional Acceptance (DCA)",
        "clarify-post-training-bias-metric-dca.html",
    ): conditional_acceptance_difference,
    Metric(
        "DCR",
        "Difference in Conditional Rejection (DCR)",
        "clarify-post-training-bias-metric-dcr.html",
    ): conditional_rejection_difference,
    Metric("RD", "Recall Difference (RD)", "clarify-post-training-bias-metric-rd.html"): (
        recall_difference
    ),
    Metric(
        "DAR",
        "Difference in Acceptance Rates (DAR)",
        "clarify-post-training-bias-metric-dar.html",
    ): acceptance_rate_difference,
    Metric(
        "DRR",
        "Difference in Rejection Rates (DRR)",
        "clarify-post-training-bias-metric-drr.html",
    ): rejection_rate_difference,
    Metric("AD", "Accuracy Difference (AD)", "clarify-post-training-bias-metric-ad.html"): (
        accuracy_difference
    ),
    Metric("TE", "Treatment Equality (TE)", "clarify-post-training-bias-metric-te.html"): (
        treatment_equality
    ),
}


def compute(metrics: Mapping[Metric, Callable[[Groups], float]], g: Groups) -> dict[str, float]:
    return {metric.name: fn(g) for metric, fn in metrics.items()}


# -- The facet of a feature column, and Clarify's documents --------------------------------------------


def in_facet(facet: Facet, column: np.ndarray, categories: Sequence[str] | None) -> np.ndarray:
    """1.0 for rows of facet d, 0.0 for facet a, NaN where the facet's value is missing.

    ``column`` holds the feature as the model gets it (a category as its position in
    ``categories``, which is None for a numeric feature).
    """
    column = np.asarray(column, dtype=np.float64)
    if facet.threshold is not None:
        if categories is not None:
            raise ValueError(
                f"facet {facet.feature!r} is categorical: give categories, not a threshold"
            )
        member = column > facet.threshold
    else:
        if categories is None:
            raise ValueError(
                f"facet {facet.feature!r} is numeric: give a threshold, not categories"
            )
        if unknown := [c for c in facet.categories if c not in categories]:
            raise ValueError(
                f"facet {facet.feature!r}: {unknown} not among its categories {list(categories)}"
            )
        codes = [float(categories.index(c)) for c in facet.categories]
        member = np.isin(column, codes)
    return np.where(np.isnan(column), np.nan, member.astype(np.float64))


def _json_value(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def section(
    metrics: Mapping[Metric, Callable[[Groups], float]],
    values: Mapping[str, float] | None,
    *,
    label: str,
    positive_label: str,
    facet: Facet | None,
    facet_column: np.ndarray | None = None,
) -> dict[str, Any]:
    """One of analysis.json's sections: the label, its positive value, metrics per facet.

    ``facet`` None (no facet configured) gives an empty ``facets`` object; ``facet_column`` is the
    facet feature's values the metrics were computed on (a threshold's interval ends at its max).
    """
    facets: dict[str, Any] = {}
    if facet is not None and values is not None:
        facets[facet.feature] = [
            {
                "value_or_threshold": facet.value_or_threshold(facet_column),
                "metrics": [
                    {
                        "name": metric.name,
                        "description": metric.description,
                        "value": _json_value(values[metric.name]),
                    }
                    for metric in metrics
                ],
            }
        ]
    return {"label": label, "label_value_or_threshold": positive_label, "facets": facets}


def metric_values(document: Mapping[str, Any], key: str) -> dict[str, float | None]:
    """``{name: value}`` of the first facet of a document's ``key`` section (empty: no facet)."""
    facets = document.get(key, {}).get("facets", {})
    for entries in facets.values():
        return {item["name"]: item["value"] for item in entries[0]["metrics"]}
    return {}


# -- Bias drift (Clarify's bias drift monitor: DPPL and DI of a window against the baseline) ---------

DRIFT_METRICS = {"DPPL": 0.0, "DI": 1.0}  # each metric's value of no bias: drift is moving away


def drift_violations(
    facet_values: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    baseline: Mapping[str, Any],
    tolerance: float,
    *,
    facet: Facet,
    favourable: float,
    threshold: float,
    categories: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Model Monitor's constraint_violations.json for one window of captured, labelled predictions.

    ``facet_values`` is the facet feature's column (a category as its code), ``labels`` the classes
    (0/1), ``scores`` P(class 1), ``baseline`` the Bias step's post_training_bias.json, and
    ``favourable`` and ``threshold`` as ``outcomes`` takes them. As Clarify's bias drift check records
    a violation when a metric is farther from no bias than the baseline's value, one is recorded here
    when it is farther by more than ``tolerance``. A metric the window cannot compute (no rows of a
    facet, no predicted positives in facet a) records none.
    """
    if not tolerance >= 0.0:
        raise ValueError(f"tolerance {tolerance} must be 0 or more")
    observed, predicted = outcomes(labels, scores, favourable, threshold)
    g = groups(in_facet(facet, facet_values, categories), observed, predicted)
    window = compute({m: f for m, f in POST_TRAINING.items() if m.name in DRIFT_METRICS}, g)
    reference = metric_values(baseline, "post_training_bias_metrics")
    group = _baseline_group(baseline) or facet.value_or_threshold(facet_values)
    violations = []
    for name, ideal in DRIFT_METRICS.items():
        value, base = window[name], reference.get(name)
        if base is None or not math.isfinite(value):
            continue
        if abs(value - ideal) > abs(base - ideal) + tolerance:
            violations.append(
                {
                    "facet": facet.feature,
                    "facet_value": group,
                    "metric_name": name,
                    "constraint_check_type": "bias_drift_check",
                    "description": (
                        f"Value {value:.6g} does not meet the constraint requirement: "
                        f"baseline {base:.6g}, at most {tolerance:g} farther from {ideal:g}"
                    ),
                }
            )
    return {"version": "1.0", "violations": violations}


def _baseline_group(document: Mapping[str, Any]) -> str | None:
    """The facet group's ``value_or_threshold`` in the baseline (a violation names the baseline's)."""
    for entries in document.get("post_training_bias_metrics", {}).get("facets", {}).values():
        value = entries[0].get("value_or_threshold") if entries else None
        return value if isinstance(value, str) else None
    return None


def favourable_class(positive_label: str, positive: str, negative: str) -> float:
    """The class (1.0 or 0.0) whose label value is the favourable outcome ``positive_label``."""
    if positive_label not in (positive, negative):
        raise ValueError(
            f"positive_label {positive_label!r} is not a label value; allowed: {positive!r}, {negative!r}"
        )
    return 1.0 if positive_label == positive else 0.0


def outcomes(
    labels: np.ndarray, scores: np.ndarray, favourable: float, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Observed and predicted favourable outcomes (booleans) of 0/1 ``labels`` and P(class 1)
    ``scores``: the predicted class is 1 when the score is at or above ``threshold``."""
    labels = np.asarray(labels, dtype=np.float64)
    predicted_class = (np.asarray(scores, dtype=np.float64) >= threshold).astype(np.float64)
    return labels == favourable, predicted_class == favourable
