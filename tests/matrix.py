"""The bake matrix.

`combinations()`: every size x every git provider (itertools.product), with the independent options
rotated over it (itertools.cycle) so each value is baked at least once. `ci_system` depends on the
provider (GitHub Actions needs github, GitLab CI/CD gitlab), so it rotates per provider: github bakes
alternate github-actions and codepipeline, gitlab bakes codepipeline and gitlab-ci, bitbucket and
codecommit bakes are codepipeline. Cheap checks run on all twelve: the file set, the synthesized
stack (cdk-nag, cfn-lint, checkov) and the Studio product (which publishes codepipeline only: its
test publishes each bake's answers with codepipeline).

`suite_bakes()`: the bakes whose whole generated suites run (minutes each), beside the default bake's.
The suites differ by size and account layout (pipelines, monitoring, stage roles) and by provider (the
source stage, whose code is the same for every size), so the values are rotated rather than
multiplied: with the default bake, each size, both account layouts where a size has two, each
provider and each rotated answer set at least once. No bake is added for ci_system: the bakes the
provider cycle picks carry it (medium-gitlab gitlab-ci, large-github github-actions, the other two
codepipeline), and the default bake's suites (codepipeline) run beside them."""

from __future__ import annotations

import itertools
from typing import Any

SIZES = ("small", "medium", "large")
GIT_PROVIDERS = ("github", "gitlab", "bitbucket", "codecommit")
STAGING, PROD = "111111111111", "222222222222"
CONNECTION_ARN = (
    "arn:aws:codeconnections:eu-west-1:123456789012:connection/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7"
)
# Per git provider, the ci_system of its small, medium and large bakes in turn (cycled). The phases
# are chosen so that suite_bakes()' medium-gitlab and large-github bakes run the external CI systems.
CI_ROTATION: dict[str, tuple[str, ...]] = {
    "github": ("github-actions", "codepipeline"),
    "gitlab": ("codepipeline", "gitlab-ci"),
    "bitbucket": ("codepipeline",),
    "codecommit": ("codepipeline",),
}
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
    ci_systems = {provider: itertools.cycle(CI_ROTATION[provider]) for provider in GIT_PROVIDERS}
    found = []
    for size, provider in itertools.product(SIZES, GIT_PROVIDERS):
        extra: dict[str, Any] = {
            "mlops_size": size,
            "git_provider": provider,
            "ci_system": next(ci_systems[provider]),
            **next(rotation),
        }
        if provider == "codecommit" or extra["ci_system"] != "codepipeline":
            extra.pop("codeconnection_arn", None)  # only CodePipeline reads the code through one
        multi = size != "small" and not extra["single_account"]
        if multi:
            extra.update(staging_account_id=STAGING, prod_account_id=PROD)
        accounts = "3acct" if multi else "1acct"
        name = f"{size}-{provider}-{extra['ci_system']}-{extra['aws_region']}-{accounts}"
        found.append((name, extra))
    return found


def suite_bakes() -> list[tuple[str, dict[str, Any]]]:
    """Four of the twelve. Beside them the default bake (small, github, one account, codepipeline)
    runs its suites in test_default_bake_suites_pass, so these take medium and large, each with both
    account layouts, and the providers in a cycle that starts after the default's: each provider runs
    at least once (the source stage's code is the same for every size, so small needs no second
    bake). Each keeps its combination's ci_system: medium-gitlab runs gitlab-ci, large-github
    github-actions (CI_ROTATION's phases), the others codepipeline."""
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
