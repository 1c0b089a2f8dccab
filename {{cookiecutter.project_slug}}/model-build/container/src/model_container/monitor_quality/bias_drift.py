"""Bias drift of a model-quality window: Clarify's bias drift check over the merged capture.

The facet is the model folder's ``project_model.BIAS``; the baseline is the Bias step's
``post_training_bias.json`` (in ``--baseline-dir``, or the newest Approved package's
``DriftCheckBaselines.Bias.PostTrainingConstraints``; packages registered before it have only
``ModelMetrics.Bias.PostTrainingReport``). ``model_container.bias_metrics.drift_violations``
compares the window's DPPL and DI with it
(https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-model-monitor-bias-drift.html). The check is
planned before the merge, which reads each kept row's facet (``facet.py``); without a facet or a
baseline report it is skipped, with the reason.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import project_model
from model_container import registry
from model_container.bias_metrics import BiasConfig, drift_violations, favourable_class
from model_container.columns import category_codes
from model_container.monitor_quality.facet import FacetField
from model_container.paths import processing

BASELINE_FILE = "post_training_bias.json"
VIOLATIONS_FILE = "bias_constraint_violations.json"


def _baseline(args: argparse.Namespace) -> tuple[dict[str, Any] | None, str]:
    """(the baseline post-training report or None, where it is or why there is none)."""
    if not args.model_package_group:
        path = (args.baseline_dir or processing("baselines")) / BASELINE_FILE
        if not path.is_file():
            return None, f"no {path}"
        return json.loads(path.read_text(encoding="utf-8")), str(path)
    sagemaker = registry.client("sagemaker", args.region)
    package = registry.newest_approved(sagemaker, args.model_package_group)
    uri = registry.bias_baseline_uri(package)
    if not uri:
        return None, (
            f"{package['ModelPackageArn']} has no DriftCheckBaselines.Bias.PostTrainingConstraints"
        )
    with tempfile.TemporaryDirectory(prefix="bias-") as folder:
        path = registry.download(registry.client("s3", args.region), uri, Path(folder) / "b.json")
        return json.loads(path.read_text(encoding="utf-8")), str(uri)


@dataclass(frozen=True)
class Plan:
    """A bias drift check to run: the model folder's facet, the baseline, where the facet is read."""

    config: BiasConfig
    baseline: dict[str, Any]
    source: str
    field: FacetField


def plan(args: argparse.Namespace) -> tuple[Plan | None, str]:
    """(the check to run, where its baseline is) or (None, why it is skipped), before the merge:
    the merge reads the facet of each row it keeps."""
    config = getattr(project_model, "BIAS", None)
    if not isinstance(config, BiasConfig):
        return None, "no facet configured (project_model.BIAS is None)"
    schema = project_model.SCHEMA
    features = tuple(schema.feature_names)
    if config.facet.feature not in features:
        return None, f"facet {config.facet.feature!r} is not a feature of the schema"
    baseline, source = _baseline(args)
    if baseline is None:
        return None, f"no bias baseline: {source}"
    codes = {name: category_codes(values) for name, values in schema.categories().items()}
    field = FacetField(features, features.index(config.facet.feature), codes)
    return Plan(config, baseline, source, field), source


def check(
    check_plan: Plan, column: np.ndarray, labels: np.ndarray, scores: np.ndarray, threshold: float
) -> dict[str, Any]:
    """Model Monitor's constraint_violations.json of the merged rows (``column``: their facet)."""
    config, schema = check_plan.config, project_model.SCHEMA
    cut = threshold if config.probability_threshold is None else config.probability_threshold
    return drift_violations(
        column,
        labels,
        scores,
        check_plan.baseline,
        config.drift_tolerance,
        facet=config.facet,
        favourable=favourable_class(config.positive_label, schema.positive, schema.negative),
        threshold=cut,
        categories=schema.categories().get(config.facet.feature),
    )
