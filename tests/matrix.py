"""The bake matrix.

`combinations()`: every size x every git provider (itertools.product), with the independent options
rotated over it (itertools.cycle) so each value is baked at least once. Cheap checks run on all twelve:
the file set, the synthesized stack (cdk-nag, cfn-lint, checkov) and the Studio product.

`suite_bakes()`: the bakes whose whole generated suites run (minutes each), beside the default bake's.
The suites differ by size and account layout (pipelines, monitoring, stage roles) and by provider (the
source stage, whose code is the same for every size), so the values are rotated rather than
multiplied: with the default bake, each size, both account layouts where a size has two, each
provider and each rotated answer set at least once."""

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


def suite_bakes() -> list[tuple[str, dict[str, Any]]]:
    """Four of the twelve. Beside them the default bake (small, github, one account) runs its suites
    in test_default_bake_suites_pass, so these take medium and large, each with both account
    layouts, and the providers in a cycle that starts after the default's: each provider runs at
    least once (the source stage's code is the same for every size, so small needs no second bake)."""
    sizes = itertools.cycle(("medium", "large"))
    providers = itertools.cycle(GIT_PROVIDERS[1:] + GIT_PROVIDERS[:1])
    layouts = (True, True, False, False)  # one account, then staging and prod accounts
    chosen = []
    for one_account in layouts:
        size, provider = next(sizes), next(providers)
        ((name, extra),) = [
            (name, extra)
            for name, extra in combinations()
            if (extra["mlops_size"], extra["git_provider"]) == (size, provider)
        ]
        if extra["single_account"] is not one_account:
            extra = {**extra, "single_account": one_account}
            for key in ("staging_account_id", "prod_account_id"):
                extra.pop(key, None)
            if not one_account:
                extra.update(staging_account_id=STAGING, prod_account_id=PROD)
            name = name.rsplit("-", 1)[0] + ("-1acct" if one_account else "-3acct")
        chosen.append((name, extra))
    return chosen
