"""The local model registry: one DescribeModelPackage-shaped JSON file per package version.

Layout: ``<work>/registry/<model-package-group>/<version>.json``. Records carry the fields of
``DescribeModelPackageOutput`` (checked against botocore's shape in the tests), so code that reads the
real registry's response can read these too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from model_build.errors import UsageError

PENDING = "PendingManualApproval"
APPROVAL_STATUSES = ("Approved", "Rejected", PENDING)
# CreateModelPackage fields that DescribeModelPackage returns unchanged.
_ECHOED = (
    "ModelPackageGroupName",
    "ModelPackageDescription",
    "InferenceSpecification",
    "ModelMetrics",
    "DriftCheckBaselines",
    "CustomerMetadataProperties",
    "MetadataProperties",
    "Domain",
    "Task",
    "SamplePayloadUrl",
    "SkipModelValidation",
    "SourceUri",
    "ModelApprovalStatus",
)


def register(work: Path, request: dict[str, Any], *, region: str, account: str) -> dict[str, Any]:
    """Store a CreateModelPackage request as the package DescribeModelPackage would return."""
    group = request.get("ModelPackageGroupName")
    if not group:
        raise UsageError("register: only versioned packages (ModelPackageGroupName) are supported")
    status = request.get("ModelApprovalStatus", PENDING)
    if status not in APPROVAL_STATUSES:
        raise UsageError(
            f"ModelApprovalStatus {status!r} is not allowed; expected one of {', '.join(APPROVAL_STATUSES)}"
        )
    folder = work / "registry" / group
    folder.mkdir(parents=True, exist_ok=True)
    version = max((_version(path) for path in folder.glob("*.json")), default=0) + 1
    now = _now()
    record: dict[str, Any] = {key: request[key] for key in _ECHOED if key in request}
    record.update(
        {
            "ModelPackageName": group,
            "ModelPackageVersion": version,
            "ModelPackageArn": f"arn:aws:sagemaker:{region}:{account}:model-package/{group.lower()}/{version}",
            "CreationTime": now,
            "LastModifiedTime": now,
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
            "ModelApprovalStatus": status,
        }
    )
    _write(folder / f"{version}.json", record)
    return record


def packages(work: Path, group: str | None = None) -> list[tuple[Path, dict[str, Any]]]:
    """All records (optionally of one group), oldest first."""
    root = work / "registry"
    folders = [root / group] if group else sorted(p for p in root.glob("*") if p.is_dir())
    found = []
    for folder in folders:
        for path in folder.glob("*.json"):
            found.append((path, json.loads(path.read_text(encoding="utf-8"))))
    return sorted(found, key=lambda item: (item[1]["CreationTime"], item[1]["ModelPackageVersion"]))


def approve(work: Path, group: str | None = None, status: str = "Approved") -> dict[str, Any]:
    """Set the newest pending package's status (Approved by default) and return its record."""
    if status not in APPROVAL_STATUSES:
        raise UsageError(
            f"status {status!r} is not allowed; expected one of {', '.join(APPROVAL_STATUSES)}"
        )
    pending = [item for item in packages(work, group) if item[1]["ModelApprovalStatus"] == PENDING]
    if not pending:
        where = f"group {group!r} in " if group else ""
        raise UsageError(
            f"no package pending approval in {where}{work / 'registry'}; run `make local` first"
        )
    path, record = pending[-1]
    record["ModelApprovalStatus"] = status
    record["LastModifiedTime"] = _now()
    _write(path, record)
    return record


def set_metadata(work: Path, record: dict[str, Any], key: str, value: str) -> dict[str, Any]:
    """Add ``key`` = ``value`` to package ``record``'s CustomerMetadataProperties (as
    UpdateModelPackage's CustomerMetadataProperties does); the updated record."""
    path = (
        work
        / "registry"
        / record["ModelPackageGroupName"]
        / f"{record['ModelPackageVersion']}.json"
    )
    stored = json.loads(path.read_text(encoding="utf-8"))
    stored["CustomerMetadataProperties"] = {
        **stored.get("CustomerMetadataProperties", {}),
        key: value,
    }
    stored["LastModifiedTime"] = _now()
    _write(path, stored)
    return stored


def _version(path: Path) -> int:
    return int(path.stem) if path.stem.isdigit() else 0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _write(path: Path, record: dict[str, Any]) -> None:
    # Write then rename so a reader never sees half a record.
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)
