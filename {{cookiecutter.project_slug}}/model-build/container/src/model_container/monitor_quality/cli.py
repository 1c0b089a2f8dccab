"""``python3 -m model_container.monitor_quality``: one model-quality run over a window of captured
predictions and their ground truth.

Reads capture from ``--capture-dir`` or ``--capture-url`` (the window's hour folders), ground truth
from ``--ground-truth-dir`` or ``--ground-truth-url`` (hour folders from the window's start to now),
the model-quality ``constraints.json`` from ``--baseline-dir`` or the newest Approved package of
``--model-package-group``. Writes ``<output-dir>/{statistics.json, constraint_violations.json,
metrics.json, summary.json, report.html, merged/part-NNNNN.jsonl}`` and, when the model folder names a
bias facet and the baseline has its post-training bias report, ``bias_constraint_violations.json``
(bias_drift.py). Exit status: 0 no violations,
``--violation-status`` (default 2) violations, 1 bad input or another error (one line on stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model_container import registry
from model_container.entrypoint import StepError, run_step
from model_container.metrics import metric_report
from model_container.monitor_quality.ground_truth import read_ground_truth
from model_container.monitor_quality.inputs import (
    capture_source,
    ground_truth_source,
    load_constraints,
)
from model_container.monitor_quality.merge import Merged, MergeSummary, merge_files
from model_container.monitor_quality.options import Window, build_parser, parse_window
from model_container.paths import PROCESSING_FAILURE_FILE, opt_ml, processing
from model_container.quality_constraints import KEY, check, probability_threshold

if TYPE_CHECKING:  # bias_drift imports the model folder: only when the check may run
    from model_container.monitor_quality.bias_drift import Plan

VIOLATION_METRIC = "ModelQualityViolations"
HEADLINE = ("auc", "accuracy", "precision", "recall", "f1")
_NAMESPACE = re.compile(r"[A-Za-z0-9 ._/#:-]{1,255}")  # CloudWatch's rule for custom namespaces


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def _metric_data(
    endpoint: str, metrics: dict[str, Any], violations: int, when: datetime
) -> list[dict[str, Any]]:
    dimensions = [{"Name": "Endpoint", "Value": endpoint}]
    items = [
        {
            "MetricName": VIOLATION_METRIC,
            "Dimensions": dimensions,
            "Timestamp": when,
            "Value": float(violations),
            "Unit": "Count",
        }
    ]
    for name in HEADLINE:
        items.append(
            {
                "MetricName": name,
                "Dimensions": dimensions,
                "Timestamp": when,
                "Value": float(metrics[name]["value"]),
                "Unit": "None",
            }
        )
    return items


def _details(summary: MergeSummary, source: str, threshold: float, window: Window) -> dict:
    """What was read and merged: our addition to statistics.json (readers ignore unknown keys)."""
    return {
        "constraints": source,
        "probability_threshold": threshold,
        "window": {
            "start": window.start and window.start.isoformat(),
            "end": window.end and window.end.isoformat(),
        },
        "captured_records": summary.capture.records,
        "read_processes": summary.capture.processes,
        "records_outside_window": summary.capture.outside_window,
        "unreadable_records": summary.capture.unreadable,
        "unreadable_examples": summary.capture.examples,
        "ground_truth_records": summary.ground_truth.records,
        "unreadable_ground_truth": summary.ground_truth.unreadable,
        "matched_records": summary.matched,
        "records_without_ground_truth": summary.unmatched,
        "records_with_unfitting_labels": summary.mismatched,
    }


def _namespace(args: argparse.Namespace) -> str:
    project = os.environ.get("SAGEMAKER_PROJECT_NAME") or "mlops"
    namespace = args.namespace or f"{project}/ModelQuality"
    if not _NAMESPACE.fullmatch(namespace) or namespace.startswith("AWS/"):
        raise StepError(
            f"CloudWatch namespace {namespace!r} is not valid: 1-255 letters, digits and . - _ / # : "
            "or spaces, not starting with AWS/"
        )
    return namespace


def _print(
    rows: int,
    counts: str,
    metrics: dict[str, Any],
    violations: list[dict[str, str]],
    constraints: dict[str, Any],
) -> None:
    shown = ", ".join(f"{name} {metrics[name]['value']:.3f}" for name in HEADLINE)
    print(f"monitor_quality: {rows} rows ({counts}); {shown}; {len(violations)} violations")
    limits = constraints[KEY]
    for violation in violations:
        name = violation["metric_name"]
        print(
            f"violation: {name} {violation['constraint_check_type']} "
            f"{limits[name]['threshold']}: {violation['description']}"
        )


def _bias_plan(args: argparse.Namespace) -> Plan | None:
    """The bias drift check to run over the merged rows (bias_drift.py), or None (said why)."""
    from model_container.monitor_quality import bias_drift  # noqa: PLC0415 (imports the model)

    found, source = bias_drift.plan(args)
    if found is None:
        print(f"bias drift: skipped ({source})")
    return found


def _bias_drift(output_dir: Path, plan: Plan | None, rows: Merged, threshold: float) -> int:
    """Violations of the bias drift check of the merged rows (written out); 0 when skipped."""
    if plan is None or rows.facet is None:
        return 0
    from model_container.monitor_quality import bias_drift  # noqa: PLC0415

    document = bias_drift.check(plan, rows.facet, rows.labels, rows.scores, threshold)
    _write(output_dir / bias_drift.VIOLATIONS_FILE, document)
    found = document.get("violations") or []
    print(f"bias drift against {plan.source}: {len(found)} violations")
    return len(found)


def _write_outputs(
    output_dir: Path,
    statistics: dict[str, Any],
    constraints: dict[str, Any],
    violations: list[dict[str, Any]],
    *,
    bias_violations: int,
    metrics_document: dict[str, Any],
    endpoint: str,
    window: Window,
    threshold: float,
) -> None:
    from model_container.monitor_quality.report import html_report  # noqa: PLC0415  (matplotlib)

    _write(output_dir / "statistics.json", statistics)
    _write(output_dir / "constraint_violations.json", {"violations": violations})
    _write(output_dir / "metrics.json", metrics_document)
    _write(
        output_dir / "summary.json",
        {
            "violations": len(violations),
            "rows": statistics["dataset"]["item_count"],
            "metrics_with_violations": [v["metric_name"] for v in violations],
            "bias_violations": bias_violations,
        },
    )
    (output_dir / "report.html").write_text(
        html_report(
            statistics,
            constraints,
            violations,
            endpoint=endpoint or "the endpoint",
            window=window.text(),
            threshold=threshold,
            bias_violations=bias_violations,
        ),
        encoding="utf-8",
    )


def monitor_quality(argv: Sequence[str] | None = None) -> tuple[int, int]:
    """Run one check; returns (violations, exit status for violations). Errors raise."""
    args = build_parser().parse_args(argv)
    output_dir = args.output_dir or processing("model-quality")
    window = parse_window(args)
    namespace = _namespace(args)
    constraints, source = load_constraints(args)
    threshold = args.probability_threshold
    if threshold is None:
        threshold = probability_threshold(constraints)
    if threshold is None:
        raise StepError(
            f"the constraints of {source} name no monitor.probability_threshold; "
            "pass --probability-threshold"
        )

    summary = MergeSummary()
    remote = bool(args.capture_url or args.ground_truth_url)
    reading = (
        registry.aws_errors("read capture and ground truth") if remote else contextlib.nullcontext()
    )
    plan = _bias_plan(args)
    merged_folder = output_dir / "merged"
    if merged_folder.is_dir():  # a rerun into the same folder: no part of the last run stays
        for old in merged_folder.glob("*.jsonl"):
            old.unlink()
    with reading:
        truth = read_ground_truth(ground_truth_source(args, window), summary.ground_truth)
        files, endpoint = capture_source(args, window)
        rows = merge_files(
            files,
            truth,
            summary,
            merged_folder,
            start=window.start,
            end=window.end,
            facet=plan.field if plan is not None else None,
            processes=args.read_processes,
        )
    labels, scores = rows.labels, rows.scores
    counts = (
        f"{summary.capture.records} captured records in the window {window.text()}, "
        f"{len(truth)} ground-truth ids, {summary.matched} matched, "
        f"{summary.capture.unreadable} unreadable, {summary.mismatched} with labels that do not fit"
    )
    if not len(labels):
        if args.without_ground_truth == "error":
            raise StepError(f"no captured prediction has ground truth: {counts}")
        _write(output_dir / "summary.json", {"violations": 0, "rows": 0, "skipped": counts})
        print(f"monitor_quality: skipped, no captured prediction has ground truth: {counts}")
        return 0, args.violation_status
    if labels.min() == labels.max():
        raise StepError(
            f"all {len(labels)} merged rows have label {labels[0]:g}; AUC needs both 0 and 1"
        )
    statistics = metric_report(labels, scores, threshold)
    metrics = statistics["binary_classification_metrics"]
    try:
        violations = check(metrics, constraints)
    except (ValueError, TypeError, KeyError) as error:
        raise StepError(
            f"constraints of {source} are not Model Monitor's model-quality format ({error})"
        ) from None

    endpoint = args.endpoint or endpoint
    # Bias drift (DPPL, DI) of the same merged rows; its violations count in the same metric.
    total = len(violations) + _bias_drift(output_dir, plan, rows, threshold)
    items = _metric_data(endpoint, metrics, total, datetime.now(UTC))
    statistics["monitor"] = _details(summary, source, threshold, window)
    _write_outputs(
        output_dir,
        statistics,
        constraints.get(KEY, {}),
        violations,
        bias_violations=total - len(violations),
        metrics_document={
            "Namespace": namespace,
            "MetricData": [{**item, "Timestamp": item["Timestamp"].isoformat()} for item in items],
        },
        endpoint=endpoint,
        window=window,
        threshold=threshold,
    )
    if args.publish_metrics:
        region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise StepError("--publish-metrics needs a region: pass --region or set AWS_REGION")
        with registry.aws_errors(f"publish metrics to CloudWatch namespace {namespace!r}"):
            registry.client("cloudwatch", region).put_metric_data(
                Namespace=namespace, MetricData=items
            )

    _print(len(labels), counts, metrics, violations, constraints)
    return total, args.violation_status


def main(argv: Sequence[str] | None = None) -> int:
    found: list[tuple[int, int]] = []
    status = run_step(lambda a: found.append(monitor_quality(a)), argv, PROCESSING_FAILURE_FILE)
    if status or not found[0][0] or not found[0][1]:
        return status
    message = f"{found[0][0]} model-quality constraint violations; see constraint_violations.json"
    print(message, file=sys.stderr)
    with contextlib.suppress(OSError):  # local runs without a writable /opt/ml: stderr says it
        path = opt_ml(*PROCESSING_FAILURE_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(message + "\n", encoding="utf-8")
    return found[0][1]
