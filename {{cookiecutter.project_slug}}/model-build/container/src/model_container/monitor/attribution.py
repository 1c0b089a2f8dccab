"""Feature attribution drift, measured as SageMaker Clarify's model explainability monitor does.

The window's global attributions (mean |SHAP| per feature of the approved model on a sample of the
window's rows, ``explain.global_shap``) are ranked and compared with the baseline's by nDCG; a score
below the threshold is one ``feature_attribution_drift_check`` violation per label. Definitions:
https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-model-monitor-feature-attribution-drift.html
(nDCG, alarm below 0.90) and
https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-model-monitor-model-attribution-drift-violations.html
(the violations file: ``label``, ``metric_name`` "shap", ``constraint_check_type``, ``description``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from model_container.explain import MAX_ROWS, global_shap

if TYPE_CHECKING:
    from model_container.artifact import Model

CHECK_TYPE = "feature_attribution_drift_check"
METRIC_NAME = "shap"  # the only explainability method the violations page lists
DEFAULT_THRESHOLD = (
    0.90  # Clarify's: "if the NDCG value is below 0.90, we automatically raise an alert"
)
VIOLATIONS_VERSION = "1.0"


def ndcg(baseline: Mapping[str, float], live: Mapping[str, float]) -> float:
    """nDCG of the live ranking against the baseline's: DCG / iDCG with
    DCG = sum_i a(f'_i) / log2(i + 1) over the features f' ranked by live attribution and
    iDCG = sum_i a(f_i) / log2(i + 1) over the features f ranked by baseline attribution, where a is
    the baseline attribution (i from 1). Ties in the live ranking keep the baseline's order: equal
    live values are no change of ranking.
    """
    names = list(baseline)
    if not names or set(live) != set(names):
        raise ValueError(
            f"live attributions name {sorted(live)}; the baseline's name {sorted(names)}"
        )
    gains = np.array([baseline[name] for name in names], dtype=float)
    scores = np.array([live[name] for name in names], dtype=float)
    if not (np.isfinite(gains).all() and np.isfinite(scores).all()) or (gains < 0).any():
        raise ValueError(
            "attributions must be finite and the baseline's non-negative (mean |SHAP|)"
        )
    discount = 1.0 / np.log2(np.arange(2, len(names) + 2))
    ideal = float(np.sort(gains)[::-1] @ discount)
    if ideal == 0.0:  # the baseline ranks nothing (every attribution 0): no ranking to lose
        return 1.0
    order = np.lexsort((-gains, -scores))  # by live attribution, ties by baseline attribution
    return float(gains[order] @ discount / ideal)


class RowSample:
    """A uniform sample without replacement of at most ``limit`` rows of a stream of chunks, the
    same for the same stream: each row gets a random key, the rows with the smallest keys stay.
    Bounds both memory (a window may hold millions of rows) and the SHAP computation's time."""

    def __init__(self, width: int, limit: int = MAX_ROWS, seed: int = 0) -> None:
        self._limit = limit
        self._rng = np.random.default_rng(seed)
        self._rows = np.empty((0, width))
        self._keys = np.empty(0)
        self.seen = 0

    def add(self, values: np.ndarray) -> None:
        self.seen += len(values)
        rows = np.vstack([self._rows, values])
        keys = np.concatenate([self._keys, self._rng.random(len(values))])
        if len(keys) > self._limit:
            keep = np.sort(np.argpartition(keys, self._limit - 1)[: self._limit])
            rows, keys = rows[keep], keys[keep]
        self._rows, self._keys = rows, keys

    @property
    def rows(self) -> np.ndarray:
        return self._rows


def global_attributions(analysis: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Per label, the global SHAP values of a Clarify analysis document (``explanations.kernel_shap``)."""
    try:
        labels = analysis["explanations"]["kernel_shap"]
        found = {
            label: {str(k): float(v) for k, v in body["global_shap_values"].items()}
            for label, body in labels.items()
        }
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise ValueError(
            f"no explanations.kernel_shap.<label>.global_shap_values ({error!r})"
        ) from None
    if not found:
        raise ValueError("explanations.kernel_shap names no label")
    return found


@dataclass(frozen=True)
class AttributionDrift:
    analysis: dict[str, Any]  # the window's attributions, Clarify's analysis shape
    scores: dict[str, float]  # nDCG per label
    threshold: float
    violations: list[dict[str, str]]
    rows: int  # rows explained (the sample)

    def violations_document(self) -> dict[str, Any]:
        return {"version": VIOLATIONS_VERSION, "violations": self.violations}


def attribution_drift(
    model: Model, rows: np.ndarray, baseline: Mapping[str, Any], threshold: float
) -> AttributionDrift:
    """Explain ``rows`` with the model, compare the ranking with ``baseline`` (Clarify's analysis
    shape, as the baselines step writes it); ValueError names what does not match."""
    expected = global_attributions(baseline)
    import project_model  # noqa: PLC0415  (the model's libraries only when the check runs)

    contributions = np.asarray(project_model.explain(model.estimator, rows, model.features))
    analysis = global_shap(model.features, contributions)
    live = global_attributions(analysis)
    scores, violations = {}, []
    for label, attributions in expected.items():
        if label not in live:
            raise ValueError(f"baseline label {label!r}; the model explains {sorted(live)}")
        score = ndcg(attributions, live[label])
        scores[label] = score
        if score < threshold:
            top = sorted(live[label], key=lambda name: -live[label][name])[:3]
            violations.append(
                {
                    "label": label,
                    "metric_name": METRIC_NAME,
                    "constraint_check_type": CHECK_TYPE,
                    "description": (
                        f"nDCG {score:.4f} of the window's global SHAP ranking against the "
                        f"baseline's is below the threshold {threshold:g} (top now: {', '.join(top)})"
                    ),
                }
            )
    return AttributionDrift(analysis, scores, threshold, violations, len(rows))
