"""``python3 -m model_container.monitor``: one monitoring run over a window of captured requests.

Reads SageMaker data capture from ``<capture-dir>`` or straight from S3 (``--capture-url``, only the
window's hour folders), or a batch transform's CSV input (``--input-format csv``); the baseline
``{statistics,constraints}.json`` and our ``extension_constraints.json`` (the range check's limits)
from ``<baseline-dir>`` (the ``baselines`` step's output) or from the newest Approved package of
``--model-package-group``. Writes ``<output-dir>/{statistics.json,
constraint_violations.json,extension_violations.json,metrics.json,summary.json,report.html}``:
``constraint_violations.json`` holds only the documented check types (a Model Monitor reader's file);
our own checks (range, non-negative) go to ``extension_violations.json`` (same shape). With
``--feature-attribution`` the run also explains a sample of the rows with the approved model and
writes ``attribution_analysis.json`` (Clarify's analysis shape) and ``attribution_violations.json``
(Clarify's feature attribution drift violations). All of them count as violations. Exit status:
0 no violations, ``--violation-status`` (default 2) violations (a pipeline or a schedule acts on
it), 1 bad input or another error (one line on stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from model_container import registry
from model_container.entrypoint import StepError, run_step
from model_container.extension_constraints import FILE_NAME as EXTENSION_FILE
from model_container.extension_constraints import Ranges, schema_ranges
from model_container.monitor import cloudwatch
from model_container.monitor.attribution import AttributionDrift, RowSample, attribution_drift
from model_container.monitor.checks import compare, is_standard
from model_container.monitor.hourly import HourlyStatistics
from model_container.monitor.inputs import (
    Baselines,
    Source,
    baseline_codes,
    baseline_domains,
    capture_folder,
    load_baselines,
    open_source,
)
from model_container.monitor.options import CSV, VIOLATIONS, build_parser, parse_window
from model_container.monitor.reader import (
    ReadSummary,
)
from model_container.monitor.report import html_report
from model_container.monitor.stats import StreamingStatistics
from model_container.paths import PROCESSING_FAILURE_FILE, opt_ml, processing

__all__ = ["VIOLATIONS", "Outcome", "baseline_codes", "main", "monitor"]
_NAMESPACE = re.compile(r"[A-Za-z0-9 ._/#:-]{1,255}")  # CloudWatch's rule for custom namespaces


@dataclass(frozen=True)
class Outcome:
    violations: int
    status: int  # the exit status when there are violations


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def _namespace(args: argparse.Namespace) -> str:
    namespace = args.namespace or f"{os.environ.get('SAGEMAKER_PROJECT_NAME') or 'mlops'}/DataDrift"
    if not _NAMESPACE.fullmatch(namespace) or namespace.startswith("AWS/"):
        raise StepError(
            f"CloudWatch namespace {namespace!r} is not valid: 1-255 letters, digits and . - _ / # : "
            "or spaces, not starting with AWS/"
        )
    return namespace


def _features(baselines: Baselines) -> list[str]:
    """The features the baseline's statistics.json names (and, with a model, the model takes)."""
    features = [
        f.get("name") for f in baselines.statistics.get("features") or [] if isinstance(f, dict)
    ]
    if not features or not all(isinstance(name, str) for name in features):
        raise StepError(f"the statistics.json of {baselines.source} names no features")
    if baselines.model is not None and baselines.model.features != features:
        raise StepError(
            f"the model of {baselines.source} takes {baselines.model.features}; "
            f"its statistics.json names {features}"
        )
    return features


def _valid_ranges(baselines: Baselines) -> Ranges:
    """The range check's limits: the baselines' extension_constraints.json. Baselines written before
    that file get the model folder's schema (imported only then), as every run did before: a model
    registered earlier keeps its range check until the next one replaces it."""
    if baselines.valid_ranges is not None:
        return baselines.valid_ranges
    print(
        f"monitor: the baselines of {baselines.source} have no {EXTENSION_FILE}; "
        "the range check reads the valid ranges from the model folder's schema"
    )
    return schema_ranges()


def _attribution(
    baselines: Baselines, sample: RowSample | None, threshold: float
) -> AttributionDrift | None:
    """The feature attribution drift check of the sampled rows, when the run has a model."""
    if sample is None or baselines.model is None or baselines.explainability is None:
        return None
    try:
        return attribution_drift(baselines.model, sample.rows, baselines.explainability, threshold)
    except ValueError as error:
        raise StepError(
            f"explainability baseline of {baselines.source} does not match the model ({error})"
        ) from None


def _read(
    source: Source, statistics: StreamingStatistics, sample: RowSample | None
) -> HourlyStatistics:
    """Stream the window's chunks into the statistics and, for the attribution check, the sample;
    returns the same rows' statistics hour by hour (the report's drift over time)."""
    hourly = HourlyStatistics.like(statistics)
    reading = (
        registry.aws_errors(f"read {source.name}") if source.remote else contextlib.nullcontext()
    )
    with reading:
        for chunk in source.chunks:
            statistics.add(chunk)
            hourly.add(chunk)
            if sample is not None:
                sample.add(chunk.values)
    return hourly


def monitor(argv: Sequence[str] | None = None) -> Outcome:
    """Run the monitor; returns the violations found and the status to exit with (errors raise)."""
    args = build_parser().parse_args(argv)
    output_dir = args.output_dir or processing("monitoring")
    window = parse_window(args)
    namespace = _namespace(args)

    if args.capture_url:  # checked before any download of baselines
        registry.split_s3_url(args.capture_url, "capture URL")
    else:
        capture_folder(args)
    baselines = load_baselines(args)
    features = _features(baselines)
    sample = RowSample(len(features)) if baselines.model is not None else None

    summary = ReadSummary()
    statistics_window = StreamingStatistics(
        features, categories=baseline_domains(baselines.constraints)
    )
    source = open_source(args, features, baseline_codes(baselines.constraints), summary, window)
    hourly = _read(source, statistics_window, sample)
    if not statistics_window.rows:
        where = "" if args.input_format == CSV else f" for the window {window.text()}"
        raise StepError(
            f"no {'rows' if args.input_format == CSV else 'captured rows'} in {source.name}{where} "
            f"({summary.files} files, {summary.outside_window} records outside the window, "
            f"{summary.unreadable} unreadable)"
        )
    try:
        violations, results = compare(
            statistics_window,
            baselines.statistics,
            baselines.constraints,
            completeness_tolerance=args.completeness_tolerance,
            summary=summary,
            valid_ranges=_valid_ranges(baselines),
        )
    except (ValueError, TypeError, KeyError) as error:
        raise StepError(
            f"baseline of {baselines.source} is not in Model Monitor's format ({error})"
        ) from None

    attribution = _attribution(baselines, sample, args.attribution_threshold)
    attribution_violations = attribution.violations if attribution else []
    total = len(violations) + len(attribution_violations)

    endpoint = args.endpoint or source.endpoint
    items = cloudwatch.metric_data(
        endpoint,
        results,
        total,
        datetime.now(UTC),
        attribution_ndcg=min(attribution.scores.values()) if attribution else None,
    )
    statistics = statistics_window.document()
    statistics["monitor"] = {  # our addition: what was read (Model Monitor ignores unknown keys)
        "source": source.name,
        "input_format": args.input_format,
        "baseline": baselines.source,
        "window": {
            "start": window.start and window.start.isoformat(),
            "end": window.end and window.end.isoformat(),
        },
        "files": summary.files,
        "read_processes": summary.processes,
        "records": summary.records,
        "records_outside_window": summary.outside_window,
        "unreadable_records": summary.unreadable,
        "wrong_width_rows": summary.wrong_width_rows,
        "extra_keys": summary.extra_names,
        "non_numeric_values": {
            name: int(n) for name, n in zip(features, statistics_window.non_numeric, strict=True)
        },
    }
    flagged = {v["feature_name"] for v in violations}
    _write(output_dir / "statistics.json", statistics)
    standard = [v for v in violations if is_standard(v)]
    _write(output_dir / "constraint_violations.json", {"violations": standard})
    _write(
        output_dir / "extension_violations.json",
        {"violations": [v for v in violations if not is_standard(v)]},
    )
    if attribution is not None:  # Clarify's files of a feature attribution drift job
        _write(output_dir / "attribution_analysis.json", attribution.analysis)
        _write(output_dir / "attribution_violations.json", attribution.violations_document())
    _write(output_dir / "metrics.json", cloudwatch.as_json(namespace, items))
    _write(
        output_dir / "summary.json",
        {
            "violations": total,  # every file's: what the batch pipeline's gate reads
            "constraint_violations": len(standard),
            "extension_violations": len(violations) - len(standard),
            "rows": statistics_window.rows,
            "features_with_violations": [name for name in features if name in flagged],
            **(_attribution_summary(attribution) if attribution else {}),
        },
    )
    (output_dir / "report.html").write_text(
        html_report(
            f"Data drift of {endpoint}",
            statistics_window,
            results,
            violations,
            summary,
            baseline=baselines.statistics,
            hours=hourly.compared(baselines.statistics, baselines.constraints),
        ),
        encoding="utf-8",
    )
    if args.publish_metrics:
        region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise StepError("--publish-metrics needs a region: pass --region or set AWS_REGION")
        with registry.aws_errors(f"publish metrics to CloudWatch namespace {namespace!r}"):
            cloudwatch.publish(namespace, items, region)

    drift = ", ".join(f"{r.name} {r.drift:.3f}" for r in results if r.drift is not None)
    print(
        f"monitor: {statistics_window.rows} rows from {summary.records} records "
        f"({summary.unreadable} unreadable); drift (KS) {drift}; {total} violations"
    )
    _print_violations(violations, attribution)
    return Outcome(total, args.violation_status)


def _attribution_summary(attribution: AttributionDrift) -> dict[str, Any]:
    """summary.json's keys of the attribution check (only when it ran)."""
    return {
        "attribution_violations": len(attribution.violations),
        "feature_attribution": {
            "ndcg": attribution.scores,
            "threshold": attribution.threshold,
            "rows_explained": attribution.rows,
        },
    }


def _print_violations(
    violations: list[dict[str, Any]], attribution: AttributionDrift | None
) -> None:
    if attribution is not None:
        scores = ", ".join(f"{label} {score:.4f}" for label, score in attribution.scores.items())
        print(
            f"feature attribution: nDCG {scores} on {attribution.rows} rows "
            f"(threshold {attribution.threshold:g})"
        )
    for violation in violations:
        print(
            f"violation: {violation['feature_name']} {violation['constraint_check_type']}: {violation['description']}"
        )
    for found in attribution.violations if attribution else []:
        print(
            f"violation: {found['label']} {found['constraint_check_type']}: {found['description']}"
        )


def _report_violations(count: int) -> None:
    """The processing job's FailureReason (output/message) says why it exits non-zero."""
    message = f"{count} constraint violations; see summary.json and the *violations.json files"
    print(message, file=sys.stderr)
    path = opt_ml(*PROCESSING_FAILURE_FILE)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(message + "\n", encoding="utf-8")
    except OSError:  # local runs without a writable /opt/ml: stderr says it already
        pass


def main(argv: Sequence[str] | None = None) -> int:
    found: list[Outcome] = []
    status = run_step(lambda a: found.append(monitor(a)), argv, PROCESSING_FAILURE_FILE)
    if status or not found[0].violations or not found[0].status:
        return status
    _report_violations(found[0].violations)
    return found[0].status
