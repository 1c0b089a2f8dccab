"""`make local-monitor-quality`: the image's model-quality job over captured predictions and their
ground truth, against the model-quality constraints registered with the newest locally APPROVED
model (its DriftCheckBaselines.ModelQuality, from the Evaluate step), as the monitoring pipeline's
MonitorModelQuality step runs it.

Defaults: the shipped labelled sample (``model-build/data/quality``: capture and the true labels).
Exit status is the job's: 0 no violations, 2 violations, 1 error.
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

SAMPLE = Path("model-build/data/quality")  # relative to the project root (where make runs)


def constraints_dir(work: Path, group: str | None, target: Path) -> Path:
    """Copy the approved model's model-quality constraints.json into ``target``."""
    record = latest_approved(work, group)
    uri = (
        record.get("DriftCheckBaselines", {})
        .get("ModelQuality", {})
        .get("Constraints", {})
        .get("S3Uri")
    )
    if not uri:
        raise UsageError(
            f"{record['ModelPackageArn']} has no DriftCheckBaselines.ModelQuality.Constraints: "
            "train and approve a model again (make local && make approve)"
        )
    source = s3_path(work, uri)
    if not source.is_file():
        raise UsageError(f"constraints {uri} are missing (local file {source})")
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target / "constraints.json")
    # The Bias step's post-training report, the job's bias drift baseline (model_container.bias),
    # found in the package as the job finds it.
    from model_container.registry import bias_baseline_uri  # noqa: PLC0415 - the image's code

    bias = bias_baseline_uri(record)
    if bias and s3_path(work, bias).is_file():
        shutil.copy2(s3_path(work, bias), target / "post_training_bias.json")
    return target


def _folder(path: Path, what: str) -> Path:
    path = path.resolve()
    if not path.is_dir():
        raise UsageError(f"no {what} folder {path}: pass an existing folder")
    return path


def quality_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="monitor-quality-local", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--model-package-group", help="default: the newest approved of any group")
    parser.add_argument("--capture-dir", type=Path, default=SAMPLE / "capture")
    parser.add_argument("--ground-truth-dir", type=Path, default=SAMPLE / "ground-truth" / "normal")
    args = parser.parse_args(argv)
    work = args.work_dir.resolve()
    capture = _folder(args.capture_dir, "capture")
    truth = _folder(args.ground_truth_dir, "ground-truth")
    run = work / "model-quality" / f"{capture.parent.name}-{truth.name}"
    baseline = constraints_dir(work, args.model_package_group, run / "constraints")
    output = run / "report"
    command = [
        sys.executable,
        "-m",
        "model_container.monitor_quality",
        "--capture-dir",
        str(capture),
        "--ground-truth-dir",
        str(truth),
        "--baseline-dir",
        str(baseline),
        "--output-dir",
        str(output),
    ]
    status = subprocess.run(command, check=False).returncode
    verdict = "violations" if status == 2 else "ok" if status == 0 else "error"
    print(
        f"model quality exit {status} ({verdict}); files: {output}/statistics.json, "
        "constraint_violations.json, report.html"
    )
    return status


def main() -> int:
    return run_cli(quality_main)
