"""The local stand-ins for S3 and /opt/ml (model-build/README.md, "How `make local` maps SageMaker to
this machine")."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path, PurePosixPath

from model_build.errors import UsageError

OPT_ML = PurePosixPath("/opt/ml")
# Steps run in threads. On S3 two writers of one prefix both succeed (the last object wins); here an
# upload replaces a folder, so one copy at a time keeps a reader or a second writer from meeting a
# half-removed folder.
_COPYING = threading.Lock()


def s3_path(root: Path, uri: str) -> Path:
    """``s3://<bucket>/<key>`` -> ``<root>/s3/<bucket>/<key>``."""
    if not isinstance(uri, str) or not uri.startswith("s3://") or len(uri) <= len("s3://"):
        raise UsageError(f"{uri!r} is not an S3 URI (expected s3://<bucket>/<key>)")
    parts = [part for part in uri[len("s3://") :].split("/") if part]
    if any(part in (".", "..") for part in parts):
        raise UsageError(f"{uri!r}: '.' and '..' are not allowed in S3 keys here")
    return root.joinpath("s3", *parts)


def container_path(opt_ml: Path, local_path: str) -> Path:
    """A container path under ``/opt/ml`` -> the same path under the job's local ``opt_ml`` folder."""
    pure = PurePosixPath(local_path)
    if not pure.is_relative_to(OPT_ML) or ".." in pure.parts:
        raise UsageError(f"LocalPath {local_path!r} must lie under /opt/ml")
    return opt_ml.joinpath(*pure.relative_to(OPT_ML).parts)


def download(root: Path, uri: str, destination: Path) -> None:
    """Copy the objects under an S3 prefix into ``destination`` (a single object keeps its name)."""
    source = s3_path(root, uri)
    destination.mkdir(parents=True, exist_ok=True)
    with _COPYING:
        if source.is_file():
            shutil.copy2(source, destination / source.name)
        elif source.is_dir() and any(source.iterdir()):
            shutil.copytree(source, destination, dirs_exist_ok=True)
        else:
            raise UsageError(f"no objects under {uri} (local folder {source})")


def upload(root: Path, source: Path, uri: str) -> None:
    """Copy a folder's contents to an S3 prefix, replacing what was there."""
    target = s3_path(root, uri)
    with _COPYING:
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, target) if source.is_dir() else shutil.copy2(source, target)
