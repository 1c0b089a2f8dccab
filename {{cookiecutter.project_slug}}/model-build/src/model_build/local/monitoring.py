"""`make local-monitor`: the image's drift monitor over captured requests, against the drift baselines
registered with the newest locally APPROVED model (its DriftCheckBaselines), as a monitoring job would:
data quality (ModelDataQuality) and, when the package has an explainability baseline, feature
attribution drift (Explainability, with the package's model.tar.gz; ``--no-feature-attribution`` skips it).

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

MODEL = "model.tar.gz"
# The image's name for it (model_container.extension_constraints.FILE_NAME; this package runs the
# image's code in processes and does not import it).
EXTENSION_CONSTRAINTS = "extension_constraints.json"


def _copy(work: Path, uri: str, target: Path) -> None:
    source = s3_path(work, uri)
    if not source.is_file():
        raise UsageError(f"baseline {uri} is missing (local file {source})")
    shutil.copy2(source, target)


def baseline_dir(work: Path, group: str | None, target: Path, *, attribution: bool = False) -> bool:
    """Copy the approved model's statistics.json and constraints.json (and our
    extension_constraints.json beside them, when there) into ``target``; with
    ``attribution`` also its explainability.json and model.tar.gz, when it has an explainability
    baseline. True when the attribution files are there."""
    record = latest_approved(work, group)
    baselines = record.get("DriftCheckBaselines", {})
    quality = baselines.get("ModelDataQuality", {})
    target.mkdir(parents=True, exist_ok=True)
    for key, name in (("Statistics", "statistics.json"), ("Constraints", "constraints.json")):
        uri = quality.get(key, {}).get("S3Uri")
        if not uri:
            raise UsageError(
                f"{record['ModelPackageArn']} has no DriftCheckBaselines.ModelDataQuality.{key}"
            )
        _copy(work, uri, target / name)
    # Our valid ranges, beside constraints.json (the monitor then needs no model libraries);
    # packages registered before the Baselines step wrote them have none.
    ranges = quality["Constraints"]["S3Uri"].rsplit("/", 1)[0] + "/" + EXTENSION_CONSTRAINTS
    if s3_path(work, ranges).is_file():
        _copy(work, ranges, target / EXTENSION_CONSTRAINTS)
    if not attribution:
        return False
    explainability = baselines.get("Explainability", {}).get("Constraints", {}).get("S3Uri")
    if not explainability:  # registered before the Baselines step wrote attributions
        print(f"{record['ModelPackageArn']} has no explainability baseline: no attribution check")
        return False
    _copy(work, explainability, target / "explainability.json")
    _copy(work, record["InferenceSpecification"]["Containers"][0]["ModelDataUrl"], target / MODEL)
    return True


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
    parser.add_argument(
        "--no-feature-attribution",
        dest="feature_attribution",
        action="store_false",
        help="skip the feature attribution drift check (it explains the window with the model)",
    )
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
    baselines = work / "monitoring" / name / "baselines"
    attribution = baseline_dir(
        work, args.model_package_group, baselines, attribution=args.feature_attribution
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
    if attribution:
        command += ["--feature-attribution", "--model-archive", str(baselines / MODEL)]
    status = subprocess.run(command, check=False).returncode
    print(
        f"monitor exit {status} ({'violations' if status == 2 else 'ok' if status == 0 else 'error'}); "
        f"report: {output / 'report.html'}"
    )
    return status


def main() -> int:
    return run_cli(monitor_main)
