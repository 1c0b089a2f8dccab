"""`make local-monitor`: the image's drift monitor over captured requests, against the drift baselines
registered with the newest locally APPROVED model (its DriftCheckBaselines), as a monitoring job would.

Exit status is the monitor's: 0 no violations, 2 violations, 1 error.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from model_build.errors import UsageError, run_cli
from model_build.local.serving import DEFAULT_WORK, latest_approved
from model_build.local.storage import s3_path


def baseline_dir(work: Path, group: str | None, target: Path) -> Path:
    """Copy the approved model's statistics.json and constraints.json into ``target``."""
    record = latest_approved(work, group)
    quality = record.get("DriftCheckBaselines", {}).get("ModelDataQuality", {})
    target.mkdir(parents=True, exist_ok=True)
    for key, name in (("Statistics", "statistics.json"), ("Constraints", "constraints.json")):
        uri = quality.get(key, {}).get("S3Uri")
        if not uri:
            raise UsageError(
                f"{record['ModelPackageArn']} has no DriftCheckBaselines.ModelDataQuality.{key}"
            )
        source = s3_path(work, uri)
        if not source.is_file():
            raise UsageError(f"baseline {uri} is missing (local file {source})")
        shutil.copy2(source, target / name)
    return target


def monitor_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="monitor-local", description=__doc__.split("\n")[0])
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--model-package-group", help="default: the newest approved of any group")
    parser.add_argument(
        "--capture-dir",
        type=Path,
        help="default: <work>/capture (what `make local-serve` captured)",
    )
    parser.add_argument("--name", default="", help="name of this run's output folder")
    args = parser.parse_args(argv)
    work = args.work_dir.resolve()
    capture = (args.capture_dir or work / "capture").resolve()
    if not capture.is_dir():
        raise UsageError(
            f"no capture folder {capture}: serve with `make local-serve` and send requests first, "
            "or pass CAPTURE=<folder of data-capture files>"
        )
    # Runs land in distinct folders: "local-serve" for what the local server captured, else named
    # after the capture folder ("outliers-capture" for model-build/data/outliers/capture).
    name = args.name or (
        "local-serve" if args.capture_dir is None else f"{capture.parent.name}-{capture.name}"
    )
    baselines = baseline_dir(
        work, args.model_package_group, work / "monitoring" / name / "baselines"
    )
    output = work / "monitoring" / name / "report"
    command = [
        sys.executable,
        "-m",
        "model_container.monitor",
        "--capture-dir",
        str(capture),
        "--baseline-dir",
        str(baselines),
        "--output-dir",
        str(output),
    ]
    status = subprocess.run(command, check=False).returncode
    print(
        f"monitor exit {status} ({'violations' if status == 2 else 'ok' if status == 0 else 'error'}); "
        f"report: {output / 'report.html'}"
    )
    return status


def main() -> int:
    return run_cli(monitor_main)
