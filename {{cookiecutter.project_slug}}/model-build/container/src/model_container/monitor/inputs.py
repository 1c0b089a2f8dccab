"""What a monitoring run reads: the baselines (a folder or the newest Approved package) and the
rows (captured requests in a folder or S3, or a batch's CSV input)."""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model_container import extension_constraints, registry
from model_container.entrypoint import StepError
from model_container.monitor import parallel, s3
from model_container.monitor.options import CSV
from model_container.monitor.reader import (
    CSV_SUFFIXES,
    Chunk,
    ReadSummary,
    capture_files,
    csv_files,
    read_capture_lines,
    read_csv_lines,
)
from model_container.monitor.window import Window
from model_container.paths import processing, relocated

if TYPE_CHECKING:
    from model_container.artifact import Model
from model_container.serve.codec import Codes, codes_of

EXPLAINABILITY_FILE = "explainability.json"  # the baselines step's, Clarify's analysis shape


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


@dataclass(frozen=True)
class Baselines:
    """What a run compares with; ``explainability`` and ``model`` only for --feature-attribution."""

    statistics: dict[str, Any]
    constraints: dict[str, Any]
    source: str  # the folder or the package's ARN
    explainability: dict[str, Any] | None = None
    model: Model | None = None
    # extension_constraints.json's valid ranges; None: baselines written before that file
    valid_ranges: extension_constraints.Ranges | None = None


def _ranges(folder: Path) -> extension_constraints.Ranges | None:
    """The valid ranges of ``folder``'s extension_constraints.json, None when it has none."""
    path = folder / extension_constraints.FILE_NAME
    if not path.is_file():
        return None
    try:
        return extension_constraints.valid_ranges(_load(path))
    except ValueError as error:
        raise StepError(f"baseline file {path} is not valid ({error})") from None


def _load_model(archive: Path) -> Model:
    """The model, for --feature-attribution only: a drift check alone never imports the model's
    libraries (XGBoost: about a second and 150 MB, on every scheduled run)."""
    from model_container.artifact import load_archive  # noqa: PLC0415

    return load_archive(archive)


def load_baselines(args: argparse.Namespace) -> Baselines:
    """The baselines of a folder or of the newest Approved package (with --feature-attribution also
    the package's explainability baseline and model: both from the same package)."""
    attribution = args.feature_attribution
    if args.model_archive and not attribution:
        raise StepError("--model-archive is read only with --feature-attribution")
    if not args.model_package_group:
        folder = args.baseline_dir or processing("baselines")
        statistics = _load(folder / "statistics.json")
        constraints = _load(folder / "constraints.json")
        ranges = _ranges(folder)
        if not attribution:
            return Baselines(statistics, constraints, str(folder), valid_ranges=ranges)
        archive = args.model_archive or processing("model", "model.tar.gz")
        return Baselines(
            statistics,
            constraints,
            str(folder),
            _load(folder / EXPLAINABILITY_FILE),
            _load_model(archive),
            valid_ranges=ranges,
        )
    if args.model_archive:
        raise StepError(
            "--model-archive and --model-package-group both name the model: pass one of them"
        )
    sagemaker = registry.client("sagemaker", args.region)
    package = registry.newest_approved(sagemaker, args.model_package_group)
    s3_client = registry.client("s3", args.region)
    with tempfile.TemporaryDirectory(prefix="baselines-") as scratch:
        folder = Path(scratch)
        registry.download_baselines(s3_client, package, folder)
        found = Baselines(
            _load(folder / "statistics.json"),
            _load(folder / "constraints.json"),
            package["ModelPackageArn"],
            valid_ranges=_ranges(folder),
        )
        if not attribution:
            return found
        explainability = registry.download(
            s3_client, registry.explainability_uri(package), folder / EXPLAINABILITY_FILE
        )
        archive = registry.download(
            s3_client, registry.model_data_url(package), folder / "model.tar.gz"
        )
        return Baselines(
            found.statistics,
            found.constraints,
            found.source,
            _load(explainability),
            _load_model(archive),
            valid_ranges=found.valid_ranges,
        )


def baseline_domains(constraints: dict[str, Any]) -> dict[str, list[str]]:
    """Per categorical feature of the baseline, its categories (``string_constraints.domains``)."""
    categories = {}
    for feature in constraints.get("features") or []:
        domains = (
            (feature.get("string_constraints") or {}).get("domains")
            if isinstance(feature, dict)
            else None
        )
        if isinstance(domains, list) and domains and all(isinstance(d, str) for d in domains):
            categories[feature["name"]] = domains
    return categories


def baseline_codes(constraints: dict[str, Any]) -> Codes:
    """Per categorical feature of the baseline, its codes."""
    return codes_of(baseline_domains(constraints))


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


def capture_folder(args: argparse.Namespace) -> Path:
    folder = relocated(args.capture_dir) if args.capture_dir else processing("input", "capture")
    if not folder.is_dir():
        raise StepError(f"capture folder {folder} does not exist")
    return folder


def open_source(
    args: argparse.Namespace,
    features: list[str],
    codes: Codes,
    summary: ReadSummary,
    window: Window,
) -> Source:
    rows = args.chunk_rows
    read: parallel.Read
    if args.input_format == CSV:
        read = functools.partial(read_csv_lines, features=features, chunk_rows=rows, codes=codes)
    else:
        read = functools.partial(
            read_capture_lines,
            features=features,
            start=window.start,
            end=window.end,
            chunk_rows=rows,
            codes=codes,
        )
    if args.capture_url:
        files, name, endpoint = _s3_files(args, window)
        remote = True
    else:
        folder = capture_folder(args)
        paths = (
            csv_files(folder)
            if args.input_format == CSV
            else capture_files(folder, window.start, window.end)
        )
        files = [parallel.LocalFile(path, path.stat().st_size) for path in paths]
        name = str(folder)
        endpoint = folder.resolve().name if args.input_format == CSV else _endpoint(folder)
        remote = False
    chunks = parallel.read_files(files, read, summary, args.read_processes)
    return Source(chunks, name, endpoint, remote=remote)


def _s3_files(args: argparse.Namespace, window: Window) -> tuple[list[parallel.S3Object], str, str]:
    """The window's objects (or a batch's CSV objects) under --capture-url, its name, the endpoint."""
    url = args.capture_url
    if args.input_format != CSV:
        assert window.start is not None and window.end is not None  # _window made sure
        objects, endpoint = s3.capture_objects(url, args.region, window.start, window.end)
        return objects, url, endpoint
    bucket, prefix = registry.split_s3_url(url, "capture URL")
    client = registry.client("s3", args.region)
    sizes: dict[str, int] = {}
    with registry.aws_errors(f"list the CSV files under {url}"):
        keys = list(s3.keys_with_suffix(client, bucket, prefix, CSV_SUFFIXES, sizes=sizes))
    endpoint = prefix.rstrip("/").rsplit("/", 1)[-1] or bucket
    files = [parallel.S3Object(bucket, key, sizes.get(key, 0), args.region) for key in keys]
    return files, url, endpoint
