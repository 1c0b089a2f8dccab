"""The bake matrix: every size x every git provider (dependent options, itertools.product), with the
independent options rotated over it (itertools.cycle) so each value is baked at least once."""

from __future__ import annotations

import itertools
from typing import Any

SIZES = ("small", "medium", "large")
GIT_PROVIDERS = ("github", "gitlab", "bitbucket", "codecommit")
STAGING, PROD = "111111111111", "222222222222"
CONNECTION_ARN = (
    "arn:aws:codeconnections:eu-west-1:123456789012:connection/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7"
)
ROTATION: tuple[dict[str, Any], ...] = (
    {"aws_region": "us-east-1", "single_account": False},
    {
        "aws_region": "eu-west-1",
        "single_account": True,
        "notification_email": "ml-alerts@example.com",
        "processing_instance_type": "ml.c5.xlarge",
        "training_instance_type": "ml.c5.2xlarge",
        "endpoint_instance_type": "ml.c5.large",
        "codeconnection_arn": CONNECTION_ARN,
    },
    {
        "aws_region": "ap-southeast-2",
        "single_account": False,
        "project_name": "Breast Imaging Triage",
        "owner": "Data Science @ Example",
        "codeconnection_arn": CONNECTION_ARN,
    },
)


def combinations() -> list[tuple[str, dict[str, Any]]]:
    """``(test id, extra_context)`` for every bake of the matrix."""
    rotation = itertools.cycle(ROTATION)
    found = []
    for size, provider in itertools.product(SIZES, GIT_PROVIDERS):
        extra: dict[str, Any] = {"mlops_size": size, "git_provider": provider, **next(rotation)}
        if provider == "codecommit":
            extra.pop("codeconnection_arn", None)
        multi = size != "small" and not extra["single_account"]
        if multi:
            extra.update(staging_account_id=STAGING, prod_account_id=PROD)
        accounts = "3acct" if multi else "1acct"
        found.append((f"{size}-{provider}-{extra['aws_region']}-{accounts}", extra))
    return found
