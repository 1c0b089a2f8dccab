"""The organization's answers: a JSON object handed to cookiecutter as ``extra_context``, and the
VPCs the organization's network team gives (``network``, written into the rendered project.toml)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Not a question: project.toml's [network] table as JSON (the jobs' VPC: vpc_id, subnet_ids,
# security_group_ids) with "staging" and "prod" objects of the same keys for the endpoints' VPCs.
NETWORK = "network"
NETWORK_KEYS = ("vpc_id", "subnet_ids", "security_group_ids")
NETWORK_STAGES = ("staging", "prod")
# The product's stack runs the project's CI/CD in CodePipeline: GitHub Actions and GitLab CI/CD
# projects (cookiecutter.json ci_system) are baked and deployed by hand (their infra/README.md).
CI_SYSTEM = "ci_system"
PUBLISHED_CI_SYSTEMS = ("codepipeline",)


class PublishError(ValueError):
    """Bad input to the publish command: one line naming the value and what is allowed."""


@dataclass(frozen=True)
class Answers:
    questions: dict[str, Any]  # cookiecutter's extra_context
    # project.toml table name ("network", "network.prod") -> its keys; {} = no VPC is given
    network: dict[str, dict[str, Any]] = field(default_factory=dict)


def allowed_keys(template_root: Path) -> set[str]:
    """Questions of ``cookiecutter.json`` a user may answer (private ``_``/``__`` keys are not)."""
    questions = json.loads((template_root / "cookiecutter.json").read_text(encoding="utf-8"))
    return {key for key in questions if not key.startswith("_")}


def load(path: Path, template_root: Path) -> Answers:
    """Read and check the answers file; unknown keys and non-scalar values are refused."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PublishError(f"{path}: cannot read answers: {error.strerror}") from error
    except json.JSONDecodeError as error:
        raise PublishError(f"{path}: not JSON: {error.msg} (line {error.lineno})") from error
    if not isinstance(data, dict):
        raise PublishError(f"{path}: answers must be a JSON object of question -> answer")
    allowed = allowed_keys(template_root)
    network = network_tables(path, data.pop(NETWORK, {}))
    for key, value in data.items():
        if key not in allowed:
            raise PublishError(
                f"{path}: {key!r} is not a question; allowed: {', '.join(sorted(allowed))} "
                f"(and {NETWORK!r}, the VPCs given)"
            )
        if not isinstance(value, str | bool):
            raise PublishError(f"{path}: {key}={value!r}: answers are strings (or true/false)")
    ci_system = data.get(CI_SYSTEM, PUBLISHED_CI_SYSTEMS[0])
    if ci_system not in PUBLISHED_CI_SYSTEMS:
        raise PublishError(
            f"{path}: {CI_SYSTEM}={ci_system!r}: the Studio product runs the project's CI/CD in "
            f"CodePipeline; allowed: {' | '.join(PUBLISHED_CI_SYSTEMS)} (bake a {ci_system} "
            "project with cookiecutter and deploy its infra/ by hand)"
        )
    return Answers(data, network)


def network_tables(path: Path, value: Any) -> dict[str, dict[str, Any]]:
    """``network`` as project.toml tables; the ids themselves are checked by the project's own
    settings loader once they are written (project_infra.settings, the same rules as a bake's)."""
    where = f"{path}: {NETWORK}"
    if not isinstance(value, dict):
        raise PublishError(f"{where}: must be an object of {', '.join(NETWORK_KEYS)} and stages")
    unknown = sorted(set(value) - {*NETWORK_KEYS, *NETWORK_STAGES})
    if unknown:
        allowed = ", ".join((*NETWORK_KEYS, *NETWORK_STAGES))
        raise PublishError(f"{where}: unknown key {unknown[0]!r}; allowed: {allowed}")
    tables = {NETWORK: {k: value[k] for k in NETWORK_KEYS if k in value}}
    for stage in NETWORK_STAGES:
        table = value.get(stage, {})
        if not isinstance(table, dict) or set(table) - set(NETWORK_KEYS):
            raise PublishError(
                f"{where}.{stage}: must be an object of {', '.join(NETWORK_KEYS)} only"
            )
        tables[f"{NETWORK}.{stage}"] = dict(table)
    return {name: table for name, table in tables.items() if table}
