"""What a model-quality run reads: the constraints (a folder or the newest Approved package), the
window's capture files and the ground-truth files (folders or S3), as (name, lines) pairs."""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from model_container import registry
from model_container.entrypoint import StepError
from model_container.monitor import parallel, s3
from model_container.monitor.reader import capture_files, folder_files
from model_container.monitor_quality.ground_truth import ground_truth_files
from model_container.monitor_quality.options import Window
from model_container.paths import processing, relocated

Files = Iterator[tuple[str, Iterable[bytes]]]
CONSTRAINTS_FILE = "constraints.json"


def _load(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StepError(
            f"constraints file {path} does not exist; the Evaluate step writes it"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StepError(f"constraints file {path} is not readable JSON ({error})") from None
    if not isinstance(document, dict):
        raise StepError(
            f"constraints file {path} holds {type(document).__name__}; expected an object"
        )
    return document


def load_constraints(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """(model-quality constraints, where they came from): a folder or the newest Approved package."""
    if not args.model_package_group:
        folder = args.baseline_dir or processing("baselines")
        return _load(folder / CONSTRAINTS_FILE), str(folder)
    sagemaker = registry.client("sagemaker", args.region)
    package = registry.newest_approved(sagemaker, args.model_package_group)
    uri = registry.quality_constraints_uri(package)
    with tempfile.TemporaryDirectory(prefix="quality-") as folder:
        path = registry.download(registry.client("s3", args.region), uri, Path(folder) / "c.json")
        return _load(path), package["ModelPackageArn"]


def _folder(path: Path | None, default: str, what: str) -> Path:
    folder = relocated(path) if path else processing("input", default)
    if not folder.is_dir():
        raise StepError(f"{what} folder {folder} does not exist")
    return folder


def capture_source(args: argparse.Namespace, window: Window) -> tuple[list[parallel.FileRef], str]:
    """The window's capture files (with their sizes) and the endpoint they belong to."""
    if not args.capture_url:
        folder = _folder(args.capture_dir, "capture", "capture")
        paths = capture_files(folder, window.start, window.end)
        endpoint = (
            paths[0].relative_to(folder).parts[-7]
            if paths and len(paths[0].relative_to(folder).parts) >= 7
            else folder.resolve().name
        )
        return [parallel.LocalFile(path, path.stat().st_size) for path in paths], endpoint
    assert window.start is not None and window.end is not None  # parse_window made sure
    objects, endpoint = s3.capture_objects(args.capture_url, args.region, window.start, window.end)
    return list(objects), endpoint


def ground_truth_source(args: argparse.Namespace, window: Window) -> Files:
    """Ground-truth files from the window's start on: labels are collected after the requests."""
    if not args.ground_truth_url:
        folder = _folder(args.ground_truth_dir, "ground-truth", "ground-truth")
        return folder_files(ground_truth_files(folder, window.start))
    bucket, prefix = registry.split_s3_url(args.ground_truth_url, "ground-truth URL")
    assert window.start is not None  # parse_window made sure
    client = registry.client("s3", args.region)
    root = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    keys = s3.window_keys(client, bucket, [root], window.start, datetime.now(UTC))
    return s3.s3_files(client, bucket, keys)
