"""``python3 -m model_container.monitor``: one monitoring run over a window of captured requests.

Reads ``<capture-dir>`` (SageMaker data capture), ``<baseline-dir>/{statistics,constraints}.json``
(the ``baselines`` step's output) and writes ``<output-dir>/{statistics.json,
constraint_violations.json,metrics.json,report.html}``. Exit status: 0 no violations, 2 violations
(a pipeline or a schedule acts on it), 1 bad input or another error (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from model_container.monitor import metrics
from model_container.monitor.checks import DEFAULT_COMPLETENESS_TOLERANCE, compare
from model_container.monitor.reader import ReadSummary, parse_time, read_capture
from model_container.monitor.report import html_report
from model_container.monitor.stats import StreamingStatistics
from model_container.paths import PROCESSING_FAILURE_FILE, opt_ml, processing
from model_container.steps import StepArgumentParser, StepError, run_step

VIOLATIONS = 2
_NAMESPACE = re.compile(r"[A-Za-z0-9 ._/#:-]{1,255}")  # CloudWatch's rule for custom namespaces


def _parser() -> StepArgumentParser:
    parser = StepArgumentParser(
        prog="monitor", description="Data-drift monitor over SageMaker data-capture files."
    )
    parser.add_argument(
        "--capture-dir", type=Path, default=None, help="default: processing/input/capture"
    )
    parser.add_argument(
        "--baseline-dir", type=Path, default=None, help="default: processing/baselines"
    )
    parser.add_argument(
        "--output-dir", type=Path, default=None, help="default: processing/monitoring"
    )
    parser.add_argument("--start", type=_time, help="window start, ISO 8601 (inclusive)")
    parser.add_argument("--end", type=_time, help="window end, ISO 8601 (exclusive)")
    parser.add_argument("--endpoint", help="metric dimension; default: from the capture path")
    parser.add_argument(
        "--namespace",
        help="CloudWatch namespace; default <SAGEMAKER_PROJECT_NAME or 'mlops'>/DataDrift",
    )
    parser.add_argument(
        "--publish-metrics", action="store_true", help="PutMetricData to CloudWatch"
    )
    parser.add_argument(
        "--region", help="CloudWatch region; default: AWS_REGION / AWS_DEFAULT_REGION"
    )
    parser.add_argument(
        "--completeness-tolerance",
        type=_share,
        default=DEFAULT_COMPLETENESS_TOLERANCE,
        help=f"allowed drop of completeness below the baseline (default {DEFAULT_COMPLETENESS_TOLERANCE})",
    )
    parser.add_argument("--chunk-rows", type=_positive, default=65_536, help=argparse.SUPPRESS)
    return parser


def _time(text: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError:
        raise StepError(f"time {text!r} is not ISO 8601; use e.g. 2026-01-31T13:00:00Z") from None


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise StepError(f"completeness tolerance {text!r} must be a number from 0 to 1")
    return value


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise StepError(f"chunk rows {text!r} must be a positive whole number")
    return int(text)


def _load(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StepError(
            f"baseline file {path} does not exist; run the baselines step first"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StepError(f"baseline file {path} is not readable JSON ({error})") from None
    if not isinstance(document, dict):
        raise StepError(f"baseline file {path} holds {type(document).__name__}; expected an object")
    return document


def _endpoint(capture_dir: Path) -> str:
    """``<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/file``: the endpoint of the first capture file."""
    for path in sorted(capture_dir.rglob("*.jsonl")):
        parts = path.relative_to(capture_dir).parts
        return parts[-7] if len(parts) >= 7 else capture_dir.resolve().name
    return capture_dir.resolve().name


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def monitor(argv: Sequence[str] | None = None) -> int:
    """Run the monitor; returns the number of violations (errors raise StepError)."""
    args = _parser().parse_args(argv)
    capture_dir = args.capture_dir or processing("input", "capture")
    baseline_dir = args.baseline_dir or processing("baselines")
    output_dir = args.output_dir or processing("monitoring")
    if args.start and args.end and args.start >= args.end:
        raise StepError(
            f"window start {args.start.isoformat()} is not before its end {args.end.isoformat()}"
        )
    if not capture_dir.is_dir():
        raise StepError(f"capture folder {capture_dir} does not exist")
    namespace = args.namespace or f"{os.environ.get('SAGEMAKER_PROJECT_NAME') or 'mlops'}/DataDrift"
    if not _NAMESPACE.fullmatch(namespace) or namespace.startswith("AWS/"):
        raise StepError(
            f"CloudWatch namespace {namespace!r} is not valid: 1-255 letters, digits and . - _ / # : "
            "or spaces, not starting with AWS/"
        )

    baseline_statistics = _load(baseline_dir / "statistics.json")
    baseline_constraints = _load(baseline_dir / "constraints.json")
    features = [
        f.get("name") for f in baseline_statistics.get("features") or [] if isinstance(f, dict)
    ]
    if not features or not all(isinstance(name, str) for name in features):
        raise StepError(f"{baseline_dir / 'statistics.json'} names no features")

    summary = ReadSummary()
    window = StreamingStatistics(features)
    for chunk in read_capture(
        capture_dir, features, summary, start=args.start, end=args.end, chunk_rows=args.chunk_rows
    ):
        window.add(chunk)
    if not window.rows:
        raise StepError(
            f"no captured rows in {capture_dir} for the window [{args.start or '-'}, {args.end or '-'}) "
            f"({summary.files} files, {summary.outside_window} records outside the window, "
            f"{summary.unreadable} unreadable)"
        )
    try:
        violations, results = compare(
            window,
            baseline_statistics,
            baseline_constraints,
            completeness_tolerance=args.completeness_tolerance,
        )
    except (ValueError, TypeError, KeyError) as error:
        raise StepError(
            f"baseline in {baseline_dir} is not in Model Monitor's format ({error})"
        ) from None

    endpoint = args.endpoint or _endpoint(capture_dir)
    items = metrics.metric_data(endpoint, results, len(violations), datetime.now(UTC))
    statistics = window.document()
    statistics["monitor"] = {  # our addition: what was read (Model Monitor ignores unknown keys)
        "window": {
            "start": args.start and args.start.isoformat(),
            "end": args.end and args.end.isoformat(),
        },
        "files": summary.files,
        "records": summary.records,
        "records_outside_window": summary.outside_window,
        "unreadable_records": summary.unreadable,
        "wrong_width_rows": summary.wrong_width_rows,
        "non_numeric_values": {
            name: int(n) for name, n in zip(features, window.non_numeric, strict=True)
        },
    }
    _write(output_dir / "statistics.json", statistics)
    _write(output_dir / "constraint_violations.json", {"violations": violations})
    _write(output_dir / "metrics.json", metrics.as_json(namespace, items))
    (output_dir / "report.html").write_text(
        html_report(f"Data drift of {endpoint}", window, results, violations, summary),
        encoding="utf-8",
    )
    if args.publish_metrics:
        region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise StepError("--publish-metrics needs a region: pass --region or set AWS_REGION")
        metrics.publish(namespace, items, region)

    drift = ", ".join(f"{r.name} {r.drift:.3f}" for r in results if r.drift is not None)
    print(
        f"monitor: {window.rows} rows from {summary.records} records ({summary.unreadable} unreadable); "
        f"drift (KS) {drift}; {len(violations)} violations"
    )
    for violation in violations:
        print(
            f"violation: {violation['feature_name']} {violation['constraint_check_type']}: {violation['description']}"
        )
    return len(violations)


def _report_violations(count: int) -> None:
    """The processing job's FailureReason (output/message) says why it exits 2."""
    message = f"{count} constraint violations; see constraint_violations.json"
    print(message, file=sys.stderr)
    path = opt_ml(*PROCESSING_FAILURE_FILE)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(message + "\n", encoding="utf-8")
    except OSError:  # local runs without a writable /opt/ml: stderr says it already
        pass


def main(argv: Sequence[str] | None = None) -> int:
    found: list[int] = []
    status = run_step(lambda a: found.append(monitor(a)), argv, PROCESSING_FAILURE_FILE)
    if status or not found[0]:
        return status
    _report_violations(found[0])
    return VIOLATIONS
