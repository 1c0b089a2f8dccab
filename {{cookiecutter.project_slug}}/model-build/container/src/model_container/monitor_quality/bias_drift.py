"""Bias drift of a model-quality window: Clarify's bias drift check over the merged capture.

The facet is the model folder's ``project_model.BIAS``; the baseline is the Bias step's
``post_training_bias.json`` (in ``--baseline-dir``, or the newest Approved package's
``ModelMetrics.Bias.PostTrainingReport``). ``model_container.bias_metrics.drift_violations``
compares the window's DPPL and DI with it
(https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-model-monitor-bias-drift.html). Without a
facet or a baseline report the check is skipped, with the reason.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

import project_model
from model_container import registry
from model_container.bias_metrics import BiasConfig, drift_violations, favourable_class
from model_container.columns import category_codes
from model_container.monitor.reader import read_capture_lines
from model_container.monitor.rows import ReadSummary
from model_container.paths import processing

BASELINE_FILE = "post_training_bias.json"
VIOLATIONS_FILE = "bias_constraint_violations.json"


def facet_column(merged: Iterable[bytes], feature: str) -> np.ndarray:
    """The facet feature's values of the merged records' rows, in the order the merge kept them
    (one record at a time, so CSV and JSON payloads stay in order); a category as its code."""
    schema = project_model.SCHEMA
    features = schema.feature_names
    codes = {name: category_codes(values) for name, values in schema.categories().items()}
    index = features.index(feature)
    values: list[np.ndarray] = []
    for line in merged:
        if not line.strip():
            continue
        for chunk in read_capture_lines([("merged", [line])], features, ReadSummary(), codes=codes):
            values.append(chunk.values[:, index])
    return np.concatenate(values) if values else np.empty(0)


def _baseline(args: argparse.Namespace) -> tuple[dict[str, Any] | None, str]:
    """(the baseline post-training report or None, where it is or why there is none)."""
    if not args.model_package_group:
        path = (args.baseline_dir or processing("baselines")) / BASELINE_FILE
        if not path.is_file():
            return None, f"no {path}"
        return json.loads(path.read_text(encoding="utf-8")), str(path)
    sagemaker = registry.client("sagemaker", args.region)
    package = registry.newest_approved(sagemaker, args.model_package_group)
    bias = (package.get("ModelMetrics") or {}).get("Bias") or {}
    uri = (bias.get("PostTrainingReport") or {}).get("S3Uri")
    if not uri:
        return None, f"{package['ModelPackageArn']} has no ModelMetrics.Bias.PostTrainingReport"
    with tempfile.TemporaryDirectory(prefix="bias-") as folder:
        path = registry.download(registry.client("s3", args.region), uri, Path(folder) / "b.json")
        return json.loads(path.read_text(encoding="utf-8")), str(uri)


def check(
    merged_path: Path,
    labels: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    args: argparse.Namespace,
) -> tuple[dict[str, Any] | None, str]:
    """(constraint_violations.json document or None when skipped, what was compared or why not)."""
    config = getattr(project_model, "BIAS", None)
    if not isinstance(config, BiasConfig):
        return None, "no facet configured (project_model.BIAS is None)"
    schema = project_model.SCHEMA
    if config.facet.feature not in schema.feature_names:
        return None, f"facet {config.facet.feature!r} is not a feature of the schema"
    baseline, source = _baseline(args)
    if baseline is None:
        return None, f"no bias baseline: {source}"
    with merged_path.open("rb") as merged:
        column = facet_column(merged, config.facet.feature)
    if len(column) != len(labels):
        return None, (
            f"{len(column)} rows read from the merged capture for {len(labels)} labels "
            "(rows of a wrong width are dropped): bias drift not checked"
        )
    cut = threshold if config.probability_threshold is None else config.probability_threshold
    document = drift_violations(
        column,
        labels,
        scores,
        baseline,
        config.drift_tolerance,
        facet=config.facet,
        favourable=favourable_class(config.positive_label, schema.positive, schema.negative),
        threshold=cut,
        categories=schema.categories().get(config.facet.feature),
    )
    return document, source
