"""Read ``project.toml`` into typed settings (the resource names: ``project_names``)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from project_names import STAGES, Names

SIZES = ("small", "medium", "large")
MONITORED_SIZES = ("medium", "large")  # data capture -> drift monitor -> retraining
MLFLOW_SIZES = ("medium", "large")  # [tracking] mlflow_app's default
# REPLACE: sizes whose pipeline jobs run in the project's own VPC (network.py); add "medium" to opt in.
JOB_VPC_SIZES = ("large",)
LAYOUTS = ("single", "multi")
# SageMaker's VpcConfig takes 1-16 subnets and 1-5 security groups (botocore's sagemaker model);
# two subnets at least, so the jobs can run in two Availability Zones.
GIVEN_NETWORK = {
    "subnet_ids": (re.compile(r"subnet-[0-9a-f]{8,17}"), 2, 16),
    "security_group_ids": (re.compile(r"sg-[0-9a-f]{8,17}"), 1, 5),
}
VPC_ID = re.compile(r"vpc-[0-9a-f]{8,17}")
# [ci] system: who runs the build and deploy steps, and the git provider each needs.
CI_SYSTEMS = {"codepipeline": None, "github-actions": "github", "gitlab-ci": "gitlab"}
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html (the ARN an
# account's provider has; one provider per issuer URL in an account).
OIDC_PROVIDER_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/[A-Za-z0-9./_-]+")
# CreateSecret's Name: 1-512 of these characters (botocore secretsmanager NameType).
SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
GITLAB_URL = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)*")
# The files only one CI system's projects have: the [ci] system a project was generated with.
CI_FILES = {
    "codepipeline": "model-build/buildspec.yml",
    "github-actions": ".github/workflows",
    "gitlab-ci": ".gitlab-ci.yml",
}


class SettingsError(ValueError):
    """A value in project.toml that the stacks cannot use."""


@dataclass(frozen=True)
class CiSettings:
    """[ci]: CodePipeline (the stack's own pipelines), or GitHub Actions / GitLab CI running the same
    steps with OIDC roles the stack creates (external_ci.py)."""

    system: str = "codepipeline"
    oidc_provider_arn: str = ""  # blank: the stack creates the provider of the CI's issuer
    dispatch_token_secret: str = ""  # the approval trigger's token (events.py)
    gitlab_url: str = "https://gitlab.com"

    @property
    def external(self) -> bool:
        return self.system != "codepipeline"


@dataclass(frozen=True)
class GivenNetwork:
    """A VPC the network team owns: the jobs' (project.toml [network]), joined instead of one the
    project creates, or a stage endpoint's ([network.<stage>], in the stage's account)."""

    vpc_id: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class Settings:
    name: str
    slug: str
    description: str
    owner: str
    size: str
    region: str
    git_provider: str
    codeconnection_arn: str
    account_layout: str
    staging_account: str
    prod_account: str
    processing_instance_type: str
    training_instance_type: str
    endpoint_instance_type: str
    notification_email: str
    network: GivenNetwork | None = None  # None: the project creates the jobs' VPC where it has one
    # Stage -> the VPC its endpoint runs in ([network.<stage>]); a stage without one runs in the
    # jobs' VPC (endpoints_in_job_vpc) or in none.
    endpoint_networks: dict[str, GivenNetwork] = field(default_factory=dict)
    # [tracking] mlflow_app: the infra creates a SageMaker MLflow App (mlflow_app.py) and the
    # pipeline publishes every execution's run to it. Absent: on for MLFLOW_SIZES.
    mlflow_app: bool = False
    ci: CiSettings = field(default_factory=CiSettings)

    def names(self, project_id: str = "local") -> Names:
        return Names(self.slug, project_id)

    @property
    def monitored(self) -> bool:
        """Whether the prod endpoint's traffic is watched for drift (monitoring pipeline + alarm)."""
        return self.size in MONITORED_SIZES

    @property
    def job_vpc(self) -> bool:
        """Whether the pipelines' jobs run in a VPC: the project's own (JOB_VPC_SIZES) or the one
        project.toml [network] gives (any size)."""
        return self.size in JOB_VPC_SIZES or self.network is not None

    @property
    def creates_job_vpc(self) -> bool:
        """Whether the stack creates the jobs' VPC (network.py): a JOB_VPC_SIZES size, no [network]."""
        return self.size in JOB_VPC_SIZES and self.network is None

    @property
    def endpoints_in_job_vpc(self) -> bool:
        """Whether a stage endpoint that project.toml gives no VPC runs in the jobs' VPC: a
        JOB_VPC_SIZES size whose stages deploy into the tooling account, where that VPC is."""
        return self.size in JOB_VPC_SIZES and self.account_layout == "single"

    @property
    def tags(self) -> dict[str, str]:
        return {"Project": self.slug, "Owner": self.owner, "MlopsSize": self.size}


def load(path: Path) -> Settings:
    """Parse ``project.toml``; one clear error naming the file and key when something is off."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"{path}: cannot read project settings: {error}") from error

    def value(section: str, key: str) -> str:
        table = data.get(section)
        if not isinstance(table, dict):
            raise SettingsError(f"{path}: missing section [{section}]")
        item = table.get(key)
        if not isinstance(item, str):
            raise SettingsError(f"{path} [{section}]: {key}={item!r}: must be a string")
        return item

    settings = Settings(
        name=value("project", "name"),
        slug=value("project", "slug"),
        description=value("project", "description"),
        owner=value("project", "owner"),
        size=value("project", "size"),
        region=value("project", "region"),
        git_provider=value("source", "provider"),
        codeconnection_arn=value("source", "codeconnection_arn"),
        account_layout=value("accounts", "layout"),
        staging_account=value("accounts", "staging"),
        prod_account=value("accounts", "prod"),
        processing_instance_type=value("instances", "processing"),
        training_instance_type=value("instances", "training"),
        endpoint_instance_type=value("instances", "endpoint"),
        notification_email=value("notifications", "email"),
        network=given_network(path, data.get("network", {}), subtables=STAGES),
        endpoint_networks=endpoint_networks(path, data.get("network", {})),
        mlflow_app=mlflow_app(path, data),
        ci=ci_settings(path, data),
    )
    if settings.size not in SIZES:
        raise SettingsError(
            f"{path} [project]: size={settings.size!r}: allowed: {' | '.join(SIZES)}"
        )
    if settings.account_layout not in LAYOUTS:
        raise SettingsError(
            f"{path} [accounts]: layout={settings.account_layout!r}: allowed: {' | '.join(LAYOUTS)}"
        )
    if settings.account_layout == "multi" and not (
        settings.staging_account and settings.prod_account
    ):
        raise SettingsError(f"{path} [accounts]: layout='multi' needs both staging and prod ids")
    _check_generated_layout(path, settings.account_layout)
    needs = CI_SYSTEMS[settings.ci.system]
    if needs is not None and settings.git_provider != needs:
        raise SettingsError(
            f"{path} [ci]: system={settings.ci.system!r} needs [source] provider={needs!r} "
            f"(got {settings.git_provider!r}); allowed with it: codepipeline"
        )
    _check_generated_ci(path, settings.ci.system)
    return settings


def ci_settings(path: Path, data: dict[str, Any]) -> CiSettings:
    """[ci]: absent = codepipeline (projects generated before the table existed)."""
    table = data.get("ci", {})
    where = f"{path} [ci]"
    if not isinstance(table, dict):
        raise SettingsError(f"{where}: must be a table")
    system = table.get("system", "codepipeline")
    if system not in CI_SYSTEMS:
        raise SettingsError(f"{where}: system={system!r}: allowed: {' | '.join(CI_SYSTEMS)}")
    allowed = ["system"]
    if system != "codepipeline":
        allowed += ["oidc_provider_arn", "dispatch_token_secret"]
    if system == "gitlab-ci":
        allowed.append("gitlab_url")
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise SettingsError(
            f"{where}: unknown key {unknown[0]!r} for system={system!r}; allowed: "
            + ", ".join(allowed)
        )
    values = {key: table[key] for key in allowed[1:] if key in table}
    for key, item in values.items():
        if not isinstance(item, str):
            raise SettingsError(f"{where}: {key}={item!r}: must be a string")
    provider = values.get("oidc_provider_arn", "")
    if provider and not OIDC_PROVIDER_ARN.fullmatch(provider):
        raise SettingsError(
            f"{where}: oidc_provider_arn={provider!r}: allowed: blank (the stack creates it) or "
            "arn:aws:iam::<account>:oidc-provider/<issuer host and path>"
        )
    if system != "codepipeline":
        secret = values.get("dispatch_token_secret", "")
        if not SECRET_NAME.fullmatch(secret):
            raise SettingsError(
                f"{where}: dispatch_token_secret={secret!r}: allowed: a Secrets Manager secret "
                "name (1-512 of letters, digits and / _ + = . @ -)"
            )
    gitlab_url = values.get("gitlab_url", CiSettings.gitlab_url)
    if not GITLAB_URL.fullmatch(gitlab_url):
        raise SettingsError(
            f"{where}: gitlab_url={gitlab_url!r}: allowed: https://<host>[/<path>] without a "
            "trailing slash, e.g. https://gitlab.com"
        )
    return CiSettings(system=system, **values)


def _check_generated_ci(path: Path, system: str) -> None:
    """Only the CI files of the system a project was generated with exist (the template's
    manifest): an edited [ci] system would run steps from files that are not there."""
    root = path.parent
    if not (root / "infra").is_dir():
        return
    generated = [name for name, marker in CI_FILES.items() if (root / marker).exists()]
    if len(generated) == 1 and generated[0] != system:
        raise SettingsError(
            f"{path} [ci]: system={system!r}: this project was generated with "
            f"{generated[0]!r} ({CI_FILES[generated[0]]} exists); allowed: {generated[0]!r} "
            "(generate a new project for another CI system)"
        )


def mlflow_app(path: Path, data: dict[str, Any]) -> bool:
    """[tracking] mlflow_app: true or false; absent: the size's default (MLFLOW_SIZES)."""
    table = data.get("tracking", {})
    if not isinstance(table, dict):
        raise SettingsError(f"{path} [tracking]: must be a table")
    unknown = sorted(set(table) - {"mlflow_app"})
    if unknown:
        raise SettingsError(f"{path} [tracking]: unknown key {unknown[0]!r}; allowed: mlflow_app")
    value = table.get("mlflow_app", data.get("project", {}).get("size") in MLFLOW_SIZES)
    if not isinstance(value, bool):
        raise SettingsError(f"{path} [tracking]: mlflow_app={value!r}: allowed: true | false")
    return value


def given_network(
    path: Path, table: Any, section: str = "network", *, subtables: tuple[str, ...] = ()
) -> GivenNetwork | None:
    """[<section>]: all blank (or absent) = None; else the VPC id, its subnets and security groups.
    ``subtables``: the keys that are tables of their own ([network.staging]), read by their caller."""
    where = f"{path} [{section}]"
    if not isinstance(table, dict):
        raise SettingsError(f"{where}: must be a table")
    allowed = ("vpc_id", *GIVEN_NETWORK, *subtables)
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise SettingsError(f"{where}: unknown key {unknown[0]!r}; allowed: " + ", ".join(allowed))
    vpc_id = table.get("vpc_id", "")
    if not isinstance(vpc_id, str):
        raise SettingsError(f"{where}: vpc_id={vpc_id!r}: must be a string")
    lists: dict[str, tuple[str, ...]] = {}
    for key in GIVEN_NETWORK:
        items = table.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise SettingsError(f"{where}: {key}={items!r}: must be a list of strings")
        lists[key] = tuple(items)
    if not vpc_id and not any(lists.values()):
        return None
    if not VPC_ID.fullmatch(vpc_id):
        raise SettingsError(
            f"{where}: vpc_id={vpc_id!r}: allowed: a VPC id like vpc-0123abcd (the "
            "subnets' and security groups' VPC), or all three keys blank"
        )
    for key, (pattern, low, high) in GIVEN_NETWORK.items():
        items = lists[key]
        bad = [i for i in items if not pattern.fullmatch(i)]
        if bad or not low <= len(items) <= high or len(set(items)) != len(items):
            prefix = pattern.pattern.split("-")[0]
            raise SettingsError(
                f"{where}: {key}={list(items)!r}: allowed: {low} to {high} different ids "
                f"like {prefix}-0123abcd" + (f" ({bad[0]!r} is not one)" if bad else "")
            )
    return GivenNetwork(vpc_id, lists["subnet_ids"], lists["security_group_ids"])


def endpoint_networks(path: Path, table: Any) -> dict[str, GivenNetwork]:
    """[network.staging] and [network.prod]: each stage endpoint's VPC, in the stage's account, with
    the jobs' rules (a hosted model, too, needs two subnets in different Availability Zones:
    https://docs.aws.amazon.com/sagemaker/latest/dg/host-vpc.html). Only the stages that give one."""
    if not isinstance(table, dict):
        return {}  # given_network refuses it, naming [network]
    networks = {}
    for stage in STAGES:
        given = given_network(path, table.get(stage, {}), f"network.{stage}")
        if given is not None:
            networks[stage] = given
    return networks


def _check_generated_layout(path: Path, layout: str) -> None:
    """``layout`` decided at generation whether ``infra/bootstrap/`` exists; an edit cannot add or
    remove those files, so it fails here (checked where the project's files are, beside the file)."""
    infra = path.parent / "infra"
    if not infra.is_dir():
        return
    generated = "multi" if (infra / "bootstrap").is_dir() else "single"
    if layout != generated:
        raise SettingsError(
            f"{path} [accounts]: layout={layout!r}: this project was generated with layout "
            f"{generated!r} (infra/bootstrap/ {'exists' if generated == 'multi' else 'is absent'}); "
            f"allowed: {generated!r} (generate a new project for another layout)"
        )


def find_project_file(start: Path) -> Path:
    """The nearest ``project.toml`` at or above ``start``."""
    for folder in (start, *start.parents):
        candidate = folder / "project.toml"
        if candidate.is_file():
            return candidate
    raise SettingsError(f"no project.toml at or above {start}")
