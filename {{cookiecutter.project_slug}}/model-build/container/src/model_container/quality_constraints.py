"""Model-quality constraints in SageMaker Model Monitor's format: made from the test-set metrics
(the Evaluate step) and checked by the model-quality job (``model_container.monitor_quality``).

The file (Model Monitor's model-quality constraints,
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-baseline.html)::

    {"version": 0.0,
     "binary_classification_constraints": {
         "auc": {"threshold": 0.75, "comparison_operator": "LessThanThreshold"}, ...},
     "monitor": {"probability_threshold": 0.5, "slack": 0.1}}

A metric violates its constraint when ``value <comparison_operator> threshold`` holds (for
``LessThanThreshold``: the window's AUC fell below 0.75). ``monitor`` is our addition (Model
Monitor ignores unknown keys): the score threshold the metrics use, the model's own, as Evaluate
used it, and the slack the thresholds were made with.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

# REPLACE: how far below its test-set value a metric may fall before the job reports a violation.
# The test split is small (192 rows for the sample data: AUC sd about 0.03), so a tighter slack
# would flag noise; the job's standard deviations in statistics.json show a window's own noise.
SLACK = 0.1
# REPLACE: the metrics constrained (names of binary_classification_metrics); all must not drop.
CONSTRAINED = ("auc", "accuracy", "precision", "recall", "f1")
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
}
KEY = "binary_classification_constraints"


def suggest(
    metrics: Mapping[str, Any], probability_threshold: float, slack: float = SLACK
) -> dict[str, Any]:
    """Constraints from a ``binary_classification_metrics`` section: each metric of CONSTRAINED
    may not fall below its value minus ``slack`` (floored at 0)."""
    return {
        "version": 0.0,
        KEY: {
            name: {
                "threshold": round(max(0.0, float(metrics[name]["value"]) - slack), 6),
                "comparison_operator": "LessThanThreshold",
            }
            for name in CONSTRAINED
        },
        "monitor": {"probability_threshold": probability_threshold, "slack": slack},
    }


def check(metrics: Mapping[str, Any], constraints: Mapping[str, Any]) -> list[dict[str, str]]:
    """The violations of ``metrics`` against ``constraints``; ValueError on a bad file.

    Each is ``metric_name``, ``constraint_check_type`` (the operator) and ``description``, as Model
    Monitor's model-quality job writes them (its documentation publishes no schema for this file;
    the data-quality one, model-monitor-interpreting-violations.html, has ``feature_name`` instead).
    """
    section = constraints.get(KEY)
    if not isinstance(section, dict) or not section:
        raise ValueError(f"no {KEY} section")
    violations = []
    for name, constraint in section.items():
        if not isinstance(constraint, dict):
            raise ValueError(f"constraint {name!r} is not an object")
        op = constraint.get("comparison_operator")
        if op not in OPERATORS:
            raise ValueError(
                f"comparison_operator {op!r} of {name!r} is not one of {', '.join(OPERATORS)}"
            )
        threshold = float(constraint["threshold"])
        metric = metrics.get(name)
        if not isinstance(metric, dict) or "value" not in metric:
            raise ValueError(f"metric {name!r} is not one the job computes")
        value = float(metric["value"])
        if OPERATORS[op](value, threshold):
            violations.append(
                {
                    "metric_name": name,
                    "constraint_check_type": op,
                    "description": f"Metric {name} with {value:.4f} was {op} '{threshold}'",
                }
            )
    return violations


def probability_threshold(constraints: Mapping[str, Any]) -> float | None:
    value = (constraints.get("monitor") or {}).get("probability_threshold")
    return float(value) if isinstance(value, (int, float)) else None
