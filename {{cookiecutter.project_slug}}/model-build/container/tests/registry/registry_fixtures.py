"""Shared helpers of the registry tests: names, feature tables, packages registered as the pipeline does."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model_container.data_quality import constraints, statistics
from model_container.extension_constraints import FILE_NAME

REGION = "eu-west-1"
BUCKET = "artifacts-bucket"
GROUP = "demo-p-abc123"
ROLE = "arn:aws:iam::123456789012:role/pipeline-role"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo:1"
FEATURES = ["Age", "Shape", "Margin", "Density"]
VALID_RANGE = {
    "Age": (1.0, 120.0),
    "Shape": (1.0, 4.0),
    "Margin": (1.0, 5.0),
    "Density": (1.0, 4.0),
}
PROJECT_TAGS = [
    {"Key": "project-name", "Value": "demo"},
    {"Key": "project-id", "Value": "p-abc123"},
]


def feature_table(seed: int, age_shift: float = 0.0, rows: int = 400) -> np.ndarray:
    """Rows of plausible features (Age 30-80, codes in range); ``age_shift`` moves every age."""
    rng = np.random.default_rng(seed)
    return np.column_stack(
        [
            rng.integers(30, 80, rows) + age_shift,
            rng.integers(1, 5, rows),
            rng.integers(1, 6, rows),
            rng.integers(1, 5, rows),
        ]
    ).astype(np.float64)


@dataclass
class Registry:
    """A model package group in moto, with helpers to register packages as the pipeline does."""

    sagemaker: Any
    s3: Any
    packages: list[str] = field(default_factory=list)

    def register(
        self,
        status: str,
        table: np.ndarray,
        *,
        baselines: bool = True,
        ranges: Mapping[str, tuple[float, float]] | None = VALID_RANGE,
    ) -> str:
        """A package whose DriftCheckBaselines point at the statistics/constraints of ``table``,
        with ``ranges`` in an extension_constraints.json beside them (as the baselines step writes
        it; None: none, as packages registered before it)."""
        number = len(self.packages) + 1
        request: dict[str, Any] = {
            "ModelPackageGroupName": GROUP,
            "ModelApprovalStatus": status,
            "InferenceSpecification": {
                "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            "Tags": PROJECT_TAGS,
        }
        if baselines:
            uris = {}
            for key, document in (
                ("Statistics", statistics(FEATURES, table)),
                ("Constraints", constraints(FEATURES, table)),
            ):
                object_key = f"baselines/{number}/{key.lower()}.json"
                self.s3.put_object(Bucket=BUCKET, Key=object_key, Body=json.dumps(document))
                uris[key] = {
                    "ContentType": "application/json",
                    "S3Uri": f"s3://{BUCKET}/{object_key}",
                }
            request["DriftCheckBaselines"] = {"ModelDataQuality": uris}
            if ranges is not None:
                self.s3.put_object(
                    Bucket=BUCKET,
                    Key=f"baselines/{number}/{FILE_NAME}",
                    Body=json.dumps(
                        {
                            "version": 0.0,
                            "features": [
                                {"name": name, "range_constraints": {"min": low, "max": high}}
                                for name, (low, high) in ranges.items()
                            ],
                        }
                    ),
                )
        arn = self.sagemaker.create_model_package(**request)["ModelPackageArn"]
        self.packages.append(arn)
        return arn
