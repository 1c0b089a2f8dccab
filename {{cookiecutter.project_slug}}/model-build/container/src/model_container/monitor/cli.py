"""``python3 -m model_container.monitor``: one monitoring run over a window of captured requests.

Reads SageMaker data capture from ``<capture-dir>`` or straight from S3 (``--capture-url``, only the
window's hour folders), or a batch transform's CSV input (``--input-format csv``); the baseline
``{statistics,constraints}.json`` from ``<baseline-dir>`` (the ``baselines`` step's output) or from
the newest Approved package of ``--model-package-group``. Writes ``<output-dir>/{statistics.json,
constraint_violations.json,metrics.json,summary.json,report.html}``. Exit status: 0 no violations,
``--violation-status`` (default 2) violations (a pipeline or a schedule acts on it), 1 bad input or
another error (one line on stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from model_container import registry
from model_container.monitor import metrics, s3
from model_container.monitor.checks import DEFAULT_COMPLETENESS_TOLERANCE, compare
from model_container.monitor.reader import (
    CSV_SUFFIXES,
    Chunk,
    ReadSummary,
    capture_files,
    csv_files,
    folder_files,
    parse_time,
    read_capture_lines,
    read_csv_lines,
)
from model_container.monitor.report import html_report
from model_container.monitor.stats import StreamingStatistics
from model_container.paths import PROCESSING_FAILURE_FILE, opt_ml, processing, relocated
from model_container.serve.codec import Codes, codes_of
from model_container.steps import StepArgumentParser, StepError, run_step

VIOLATIONS = 2  # default exit status when violations are found
CAPTURE, CSV = "capture", "csv"
_NAMESPACE = re.compile(r"[A-Za-z0-9 ._/#:-]{1,255}")  # CloudWatch's rule for custom namespaces


def _parser() -> StepArgumentParser:
    parser = StepArgumentParser(
        prog="monitor", description="Data-drift monitor over SageMaker data-capture files."
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--capture-dir", type=Path, default=None, help="default: processing/input/capture"
    )
    source.add_argument(
        "--capture-url",
        help="s3://bucket/prefix of data capture, read in place (needs a window: --hours or --start)",
    )
    parser.add_argument(
        "--input-format",
        choices=(CAPTURE, CSV),
        default=CAPTURE,
        help="capture: data-capture JSON lines; csv: feature rows without header or label "
        "(a batch transform's input, every *.csv/*.txt file)",
    )
    baseline = parser.add_mutually_exclusive_group()
    baseline.add_argument(
        "--baseline-dir", type=Path, default=None, help="default: processing/baselines"
    )
    baseline.add_argument(
        "--model-package-group",
        type=registry.entity_name("model package group"),
        help="baselines of the group's newest Approved model package",
    )
    parser.add_argument(
        "--output-dir", type=Path, default=None, help="default: processing/monitoring"
    )
    parser.add_argument("--start", type=_time, help="window start, ISO 8601 (inclusive)")
    parser.add_argument("--end", type=_time, help="window end, ISO 8601 (exclusive); '' = now")
    parser.add_argument(
        "--hours", type=_hours, help="window length: [end - HOURS, end), end default now"
    )
    parser.add_argument(
        "--violation-status",
        type=_status,
        default=VIOLATIONS,
        help=f"exit status when violations are found (default {VIOLATIONS}; 0 lets a pipeline go on)",
    )
    parser.add_argument("--endpoint", help="metric dimension; default: from the capture path")
    parser.add_argument(
        "--namespace",
        help="CloudWatch namespace; default <SAGEMAKER_PROJECT_NAME or 'mlops'>/DataDrift",
    )
    parser.add_argument(
        "--publish-metrics", action="store_true", help="PutMetricData to CloudWatch"
    )
    parser.add_argument(
        "--region",
        help="AWS region (S3, SageMaker, CloudWatch); default: AWS_REGION / AWS_DEFAULT_REGION",
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
    if not text.strip():  # what a pipeline parameter left empty passes: now
        return datetime.now(UTC)
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


def _hours(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise StepError(f"hours {text!r} must be a positive whole number")
    return int(text)


def _status(text: str) -> int:
    if not text.strip().isdigit() or int(text) > 255:
        raise StepError(f"violation status {text!r} must be a whole number from 0 to 255")
    return int(text)


@dataclass(frozen=True)
class Outcome:
    violations: int
    status: int  # the exit status when there are violations


@dataclass(frozen=True)
class Window:
    start: datetime | None
    end: datetime | None

    def text(self) -> str:
        def point(when: datetime | None) -> str:
            return when.isoformat() if when else "-"

        return f"[{point(self.start)}, {point(self.end)})"


def _window(args: argparse.Namespace) -> Window:
    """[start, end) from --start/--end or --hours; capture from S3 needs both ends, CSV neither."""
    start, end = args.start, args.end
    if args.hours is not None:
        if start is not None:
            raise StepError("--hours and --start both set the window's start: pass one of them")
        end = end or datetime.now(UTC)
        start = end - timedelta(hours=args.hours)
    if args.input_format == CSV and (start or end):
        raise StepError(
            "--input-format csv reads whole files: --start, --end and --hours do not apply"
        )
    if args.capture_url and args.input_format == CAPTURE and (start is None or end is None):
        raise StepError(
            "--capture-url needs a window: pass --hours (and --end, default now) or --start and --end"
        )
    if start and end and start >= end:
        raise StepError(f"window start {start.isoformat()} is not before its end {end.isoformat()}")
    return Window(start, end)


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


def _baselines(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(statistics, constraints, where they came from): a folder or the newest Approved package."""
    if not args.model_package_group:
        folder = args.baseline_dir or processing("baselines")
        return _load(folder / "statistics.json"), _load(folder / "constraints.json"), str(folder)
    sagemaker = registry.client("sagemaker", args.region)
    package = registry.newest_approved(sagemaker, args.model_package_group)
    with tempfile.TemporaryDirectory(prefix="baselines-") as folder:
        registry.download_baselines(registry.client("s3", args.region), package, Path(folder))
        statistics = _load(Path(folder) / "statistics.json")
        constraints = _load(Path(folder) / "constraints.json")
    return statistics, constraints, package["ModelPackageArn"]


def baseline_codes(constraints: dict[str, Any]) -> Codes:
    """Per categorical feature of the baseline (``string_constraints.domains``), its codes."""
    categories = {}
    for feature in constraints.get("features") or []:
        domains = (
            (feature.get("string_constraints") or {}).get("domains")
            if isinstance(feature, dict)
            else None
        )
        if isinstance(domains, list) and domains and all(isinstance(d, str) for d in domains):
            categories[feature["name"]] = domains
    return codes_of(categories)


def _endpoint(capture_dir: Path) -> str:
    """``<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/file``: the endpoint of the first capture file."""
    for path in sorted(capture_dir.rglob("*.jsonl")):
        parts = path.relative_to(capture_dir).parts
        return parts[-7] if len(parts) >= 7 else capture_dir.resolve().name
    return capture_dir.resolve().name


@dataclass
class Source:
    """What the run reads: the chunks, how to name it, the endpoint it belongs to."""

    chunks: Iterator[Chunk]
    name: str
    endpoint: str
    remote: bool


def _capture_dir(args: argparse.Namespace) -> Path:
    folder = relocated(args.capture_dir) if args.capture_dir else processing("input", "capture")
    if not folder.is_dir():
        raise StepError(f"capture folder {folder} does not exist")
    return folder


def _source(
    args: argparse.Namespace,
    features: list[str],
    codes: Codes,
    summary: ReadSummary,
    window: Window,
) -> Source:
    rows = args.chunk_rows
    if args.capture_url:
        return _s3_source(args, features, codes, summary, window)
    folder = _capture_dir(args)
    if args.input_format == CSV:
        files = folder_files(csv_files(folder))
        chunks = read_csv_lines(files, features, summary, chunk_rows=rows, codes=codes)
        return Source(chunks, str(folder), folder.resolve().name, remote=False)
    files = folder_files(capture_files(folder, window.start, window.end))
    chunks = read_capture_lines(
        files, features, summary, start=window.start, end=window.end, chunk_rows=rows, codes=codes
    )
    return Source(chunks, str(folder), _endpoint(folder), remote=False)


def _s3_source(
    args: argparse.Namespace,
    features: list[str],
    codes: Codes,
    summary: ReadSummary,
    window: Window,
) -> Source:
    url = args.capture_url
    bucket, prefix = registry.split_s3_url(url, "capture URL")
    client = registry.client("s3", args.region)
    if args.input_format == CSV:
        keys = s3.keys_with_suffix(client, bucket, prefix, CSV_SUFFIXES)
        chunks = read_csv_lines(
            s3.s3_files(client, bucket, keys),
            features,
            summary,
            chunk_rows=args.chunk_rows,
            codes=codes,
        )
        return Source(chunks, url, prefix.rstrip("/").rsplit("/", 1)[-1] or bucket, remote=True)
    assert window.start is not None and window.end is not None  # _window made sure
    with registry.aws_errors(f"list the capture folders under {url}"):
        roots = s3.capture_roots(client, bucket, prefix)
    if not roots:
        raise StepError(
            f"no data-capture folders under {url}: expected <endpoint>/<variant>/yyyy/mm/dd/hh/ "
            "at most two levels below it"
        )
    keys = s3.window_keys(client, bucket, roots, window.start, window.end)
    chunks = read_capture_lines(
        s3.s3_files(client, bucket, keys),
        features,
        summary,
        start=window.start,
        end=window.end,
        chunk_rows=args.chunk_rows,
        codes=codes,
    )
    return Source(chunks, url, s3.endpoint_of(roots[0]) or bucket, remote=True)


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def monitor(argv: Sequence[str] | None = None) -> Outcome:
    """Run the monitor; returns the violations found and the status to exit with (errors raise)."""
    args = _parser().parse_args(argv)
    output_dir = args.output_dir or processing("monitoring")
    window = _window(args)
    namespace = args.namespace or f"{os.environ.get('SAGEMAKER_PROJECT_NAME') or 'mlops'}/DataDrift"
    if not _NAMESPACE.fullmatch(namespace) or namespace.startswith("AWS/"):
        raise StepError(
            f"CloudWatch namespace {namespace!r} is not valid: 1-255 letters, digits and . - _ / # : "
            "or spaces, not starting with AWS/"
        )

    if args.capture_url:  # checked before any download of baselines
        registry.split_s3_url(args.capture_url, "capture URL")
    else:
        _capture_dir(args)
    baseline_statistics, baseline_constraints, baseline_source = _baselines(args)
    features = [
        f.get("name") for f in baseline_statistics.get("features") or [] if isinstance(f, dict)
    ]
    if not features or not all(isinstance(name, str) for name in features):
        raise StepError(f"the statistics.json of {baseline_source} names no features")

    summary = ReadSummary()
    statistics_window = StreamingStatistics(features)
    source = _source(args, features, baseline_codes(baseline_constraints), summary, window)
    reading = (
        registry.aws_errors(f"read {source.name}") if source.remote else contextlib.nullcontext()
    )
    with reading:
        for chunk in source.chunks:
            statistics_window.add(chunk)
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
            baseline_statistics,
            baseline_constraints,
            completeness_tolerance=args.completeness_tolerance,
        )
    except (ValueError, TypeError, KeyError) as error:
        raise StepError(
            f"baseline of {baseline_source} is not in Model Monitor's format ({error})"
        ) from None

    endpoint = args.endpoint or source.endpoint
    items = metrics.metric_data(endpoint, results, len(violations), datetime.now(UTC))
    statistics = statistics_window.document()
    statistics["monitor"] = {  # our addition: what was read (Model Monitor ignores unknown keys)
        "source": source.name,
        "input_format": args.input_format,
        "baseline": baseline_source,
        "window": {
            "start": window.start and window.start.isoformat(),
            "end": window.end and window.end.isoformat(),
        },
        "files": summary.files,
        "records": summary.records,
        "records_outside_window": summary.outside_window,
        "unreadable_records": summary.unreadable,
        "wrong_width_rows": summary.wrong_width_rows,
        "non_numeric_values": {
            name: int(n) for name, n in zip(features, statistics_window.non_numeric, strict=True)
        },
    }
    flagged = {v["feature_name"] for v in violations}
    _write(output_dir / "statistics.json", statistics)
    _write(output_dir / "constraint_violations.json", {"violations": violations})
    _write(output_dir / "metrics.json", metrics.as_json(namespace, items))
    _write(
        output_dir / "summary.json",
        {
            "violations": len(violations),
            "rows": statistics_window.rows,
            "features_with_violations": [name for name in features if name in flagged],
        },
    )
    (output_dir / "report.html").write_text(
        html_report(f"Data drift of {endpoint}", statistics_window, results, violations, summary),
        encoding="utf-8",
    )
    if args.publish_metrics:
        region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise StepError("--publish-metrics needs a region: pass --region or set AWS_REGION")
        with registry.aws_errors(f"publish metrics to CloudWatch namespace {namespace!r}"):
            metrics.publish(namespace, items, region)

    drift = ", ".join(f"{r.name} {r.drift:.3f}" for r in results if r.drift is not None)
    print(
        f"monitor: {statistics_window.rows} rows from {summary.records} records "
        f"({summary.unreadable} unreadable); drift (KS) {drift}; {len(violations)} violations"
    )
    for violation in violations:
        print(
            f"violation: {violation['feature_name']} {violation['constraint_check_type']}: {violation['description']}"
        )
    return Outcome(len(violations), args.violation_status)


def _report_violations(count: int) -> None:
    """The processing job's FailureReason (output/message) says why it exits non-zero."""
    message = f"{count} constraint violations; see constraint_violations.json"
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
