"""`make local`'s stand-ins for the registry and S3 calls of ``model_container.registry``.

``run-local`` sets ``LOCAL_AWS_ROOT`` to its work folder, where the model registry is
``registry/<group>/<version>.json`` (DescribeModelPackage records) and S3 is ``s3/<bucket>/<key>``
(model-build/README.md, "How `make local` maps SageMaker to this machine"). Only what the registry
module calls is here; SageMaker jobs never set the variable, so the image uses boto3 there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from model_container.entrypoint import StepError

ROOT_VARIABLE = "LOCAL_AWS_ROOT"


class MissingObjectError(StepError):
    """GetObject of a key the local S3 folder does not hold (S3's NoSuchKey)."""


def client(service: str, root: Path) -> Any:
    if service == "sagemaker":
        return LocalSageMaker(root / "registry")
    if service == "s3":
        return LocalS3(root / "s3")
    raise StepError(f"{ROOT_VARIABLE} is set, but `make local` has no {service} stand-in")


class LocalSageMaker:
    """ListModelPackages (newest first, by approval status) and DescribeModelPackage."""

    def __init__(self, registry: Path) -> None:
        self.registry = registry

    def get_paginator(self, operation: str) -> _Pages:
        if operation != "list_model_packages":
            raise StepError(f"`make local` has no stand-in for SageMaker {operation}")
        return _Pages(self)

    def list_model_packages(self, **request: Any) -> dict[str, Any]:
        records = [
            json.loads(path.read_text(encoding="utf-8"))
            for path in (self.registry / request["ModelPackageGroupName"]).glob("*.json")
        ]
        status = request.get("ModelApprovalStatus")
        records = [r for r in records if status in (None, r["ModelApprovalStatus"])]
        records.sort(
            key=lambda r: (r["CreationTime"], r["ModelPackageVersion"]),
            reverse=request.get("SortOrder") == "Descending",
        )
        return {"ModelPackageSummaryList": records}

    def describe_model_package(self, ModelPackageName: str) -> dict[str, Any]:  # noqa: N803
        for path in self.registry.glob("*/*.json"):
            record = json.loads(path.read_text(encoding="utf-8"))
            if record["ModelPackageArn"] == ModelPackageName:
                return record
        raise StepError(f"no model package {ModelPackageName} in {self.registry}")


class _Pages:
    def __init__(self, sagemaker: LocalSageMaker) -> None:
        self.sagemaker = sagemaker

    def paginate(self, **request: Any) -> Iterator[dict[str, Any]]:
        yield self.sagemaker.list_model_packages(**request)


class LocalS3:
    """GetObject from the local S3 folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        path = self.root / Bucket / Key
        if not path.is_file():
            raise MissingObjectError(f"no object s3://{Bucket}/{Key} (local file {path})")
        return {"Body": _Body(path)}


class _Body:
    def __init__(self, path: Path) -> None:
        self.path = path

    def iter_chunks(self, size: int) -> Iterator[bytes]:
        with self.path.open("rb") as handle:
            while chunk := handle.read(size):
                yield chunk
