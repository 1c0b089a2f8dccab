"""The monitor's command line: its flags, their one-line errors, and the window they pick."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from model_container import registry
from model_container.entrypoint import StepArgumentParser, StepError
from model_container.monitor import parallel
from model_container.monitor.attribution import DEFAULT_THRESHOLD
from model_container.monitor.checks import DEFAULT_COMPLETENESS_TOLERANCE
from model_container.monitor.window import (
    Window,
    hours_argument,
    status_argument,
    time_argument,
)

VIOLATIONS = 2  # default exit status when violations are found
CAPTURE, CSV = "capture", "csv"


def build_parser() -> StepArgumentParser:
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
    parser.add_argument("--start", type=time_argument, help="window start, ISO 8601 (inclusive)")
    parser.add_argument(
        "--end", type=time_argument, help="window end, ISO 8601 (exclusive); '' = now"
    )
    parser.add_argument(
        "--hours", type=hours_argument, help="window length: [end - HOURS, end), end default now"
    )
    parser.add_argument(
        "--violation-status",
        type=status_argument,
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
        help="allowed drop of completeness below the constraint (our option; default 0: the documented direct comparison)",
    )
    parser.add_argument(
        "--feature-attribution",
        action="store_true",
        help="also check feature attribution drift (Clarify's nDCG of the global SHAP ranking): "
        "needs the model and explainability.json, from the package or --model-archive and "
        "<baseline-dir>/explainability.json",
    )
    parser.add_argument(
        "--attribution-threshold",
        type=_ndcg_threshold,
        default=DEFAULT_THRESHOLD,
        help=f"nDCG below this is a violation (default {DEFAULT_THRESHOLD:g}, Clarify's)",
    )
    parser.add_argument(
        "--model-archive",
        type=Path,
        default=None,
        help="the model.tar.gz to explain the rows with, when the baselines come from a folder "
        "(default: processing/model/model.tar.gz)",
    )
    parallel.add_processes_argument(parser)
    parser.add_argument("--chunk-rows", type=_positive, default=65_536, help=argparse.SUPPRESS)
    return parser


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise StepError(f"completeness tolerance {text!r} must be a number from 0 to 1")
    return value


def _ndcg_threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value <= 1.0:
        raise StepError(f"attribution threshold {text!r} must be a number above 0 and at most 1")
    return value


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise StepError(f"chunk rows {text!r} must be a positive whole number")
    return int(text)


def parse_window(args: argparse.Namespace) -> Window:
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
