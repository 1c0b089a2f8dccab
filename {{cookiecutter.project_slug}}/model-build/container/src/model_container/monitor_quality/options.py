"""The model-quality job's command line and the window it picks.

The flags and window rules are the drift monitor's (``model_container.monitor.window``: same
names, same one-line errors), without its data-quality options; this module does not import the
drift checks (and the model's stack behind them): the job starts in a fraction of a second.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from model_container import registry
from model_container.entrypoint import StepArgumentParser, StepError
from model_container.monitor import parallel
from model_container.monitor.window import (
    Window,
    hours_argument,
    status_argument,
    time_argument,
)

VIOLATIONS = 2  # default exit status when violations are found


def build_parser() -> StepArgumentParser:
    parser = StepArgumentParser(
        prog="monitor_quality",
        description="Model-quality monitor: captured predictions merged with ground truth.",
    )
    capture = parser.add_mutually_exclusive_group()
    capture.add_argument("--capture-dir", type=Path, help="default: processing/input/capture")
    capture.add_argument(
        "--capture-url",
        help="s3://bucket/prefix of data capture (needs a window: --hours or --start)",
    )
    truth = parser.add_mutually_exclusive_group()
    truth.add_argument(
        "--ground-truth-dir", type=Path, help="default: processing/input/ground-truth"
    )
    truth.add_argument(
        "--ground-truth-url", help="s3://bucket/prefix above yyyy/mm/dd/hh/ (needs a window)"
    )
    constraints = parser.add_mutually_exclusive_group()
    constraints.add_argument(
        "--baseline-dir",
        type=Path,
        help="folder of constraints.json; default: processing/baselines",
    )
    constraints.add_argument(
        "--model-package-group",
        type=registry.entity_name("model package group"),
        help="model-quality constraints of the group's newest Approved model package",
    )
    parser.add_argument("--output-dir", type=Path, help="default: processing/model-quality")
    parser.add_argument("--start", type=time_argument, help="window start, ISO 8601 (inclusive)")
    parser.add_argument(
        "--end", type=time_argument, help="window end, ISO 8601 (exclusive); '' = now"
    )
    parser.add_argument("--hours", type=hours_argument, help="window length: [end - HOURS, end)")
    parser.add_argument(
        "--probability-threshold",
        type=_share,
        help="score at or above which a prediction is 1; default: the constraints' (the model's)",
    )
    parser.add_argument(
        "--without-ground-truth",
        choices=("error", "skip"),
        default="error",
        help="when no captured prediction has ground truth: error (exit 1, default) or skip "
        "(exit 0, nothing published: a schedule before any labels arrive)",
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
        help="CloudWatch namespace; default <SAGEMAKER_PROJECT_NAME or 'mlops'>/ModelQuality",
    )
    parser.add_argument(
        "--publish-metrics", action="store_true", help="PutMetricData to CloudWatch"
    )
    parser.add_argument(
        "--region", help="AWS region (S3, SageMaker, CloudWatch); default: AWS_REGION"
    )
    parallel.add_processes_argument(parser)
    return parser


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise StepError(f"probability threshold {text!r} must be a number from 0 to 1")
    return value


def parse_window(args: argparse.Namespace) -> Window:
    """[start, end) from --start/--end or --hours; reading S3 needs both ends."""
    start, end = args.start, args.end
    if args.hours is not None:
        if start is not None:
            raise StepError("--hours and --start both set the window's start: pass one of them")
        end = end or datetime.now(UTC)
        start = end - timedelta(hours=args.hours)
    if (args.capture_url or args.ground_truth_url) and (start is None or end is None):
        raise StepError(
            "--capture-url and --ground-truth-url need a window: pass --hours (and --end, default "
            "now) or --start and --end"
        )
    if start and end and start >= end:
        raise StepError(f"window start {start.isoformat()} is not before its end {end.isoformat()}")
    return Window(start, end)
