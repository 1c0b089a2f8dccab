"""Rendering with the organization's answers, and the product version derived from the result."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from service_catalog import answers
from service_catalog.answers import PublishError
from service_catalog.publish import TEMPLATE_ROOT
from service_catalog.render import clean_copy, render, seed_files, version_name, write_network

SLUG = "{{cookiecutter.project_slug}}"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean copy of the template that a test may edit."""
    return clean_copy(TEMPLATE_ROOT, tmp_path_factory.mktemp("template"))


def test_version_is_stable_and_follows_answers_and_template(template: Path, tmp_path: Path) -> None:
    first = version_name(render(template, {"mlops_size": "small"}, tmp_path / "a"))
    again = version_name(render(template, {"mlops_size": "small"}, tmp_path / "b"))
    other_answers = version_name(
        render(template, {"mlops_size": "medium", "single_account": True}, tmp_path / "c")
    )
    edited = tmp_path / "edited"
    shutil.copytree(template, edited)
    readme = edited / SLUG / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nA local note.\n", encoding="utf-8")
    other_template = version_name(render(edited, {"mlops_size": "small"}, tmp_path / "d"))
    assert first == again
    assert len({first, other_answers, other_template}) == 3


def test_clutter_is_neither_seed_nor_version(template: Path, tmp_path: Path) -> None:
    project = render(template, {}, tmp_path / "out")
    before = version_name(project)
    for clutter in (
        ".venv/bin/python",
        "infra/cdk.out/x.json",
        "x/__pycache__/m.pyc",
        "a.egg-info/P",
    ):
        (project / clutter).parent.mkdir(parents=True, exist_ok=True)
        (project / clutter).write_text("clutter", encoding="utf-8")
    assert version_name(project) == before
    assert not [p for p in seed_files(project) if "clutter" in (project / p).read_text("latin-1")]


def test_rejected_answers_name_the_value(template: Path, tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="the template refused the answers"):
        render(template, {"mlops_size": "huge"}, tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not JSON"),
        ("[]", "must be a JSON object"),
        ('{"color": "blue"}', "'color' is not a question; allowed: "),
        ('{"mlops_size": ["small"]}', "mlops_size=\\['small'\\]: answers are strings"),
        ('{"__account_layout": "multi"}', "'__account_layout' is not a question"),
    ],
)
def test_bad_answers_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "answers.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PublishError, match=message):
        answers.load(path, TEMPLATE_ROOT)


@pytest.mark.parametrize(
    ("ci_system", "provider"), [("github-actions", "github"), ("gitlab-ci", "gitlab")]
)
def test_only_codepipeline_projects_are_published(
    tmp_path: Path, ci_system: str, provider: str
) -> None:
    path = tmp_path / "answers.json"
    path.write_text(
        json.dumps({"git_provider": provider, "ci_system": ci_system}), encoding="utf-8"
    )
    with pytest.raises(PublishError) as refused:
        answers.load(path, TEMPLATE_ROOT)
    assert str(refused.value) == (
        f"{path}: ci_system={ci_system!r}: the Studio product runs the project's CI/CD in "
        f"CodePipeline; allowed: codepipeline (bake a {ci_system} project with cookiecutter and "
        "deploy its infra/ by hand)"
    )
    path.write_text(json.dumps({"ci_system": "codepipeline"}), encoding="utf-8")
    assert answers.load(path, TEMPLATE_ROOT).questions == {"ci_system": "codepipeline"}


def test_missing_answers_file(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="cannot read answers"):
        answers.load(tmp_path / "nope.json", TEMPLATE_ROOT)


def test_good_answers_pass_through(tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({"mlops_size": "large", "single_account": True}), encoding="utf-8")
    loaded = answers.load(path, TEMPLATE_ROOT)
    assert loaded.questions == {"mlops_size": "large", "single_account": True}
    assert loaded.network == {}


# -- the VPCs the organization's network team gives (answers "network") -----------------------

JOBS = {
    "vpc_id": "vpc-0a1b2c3d4e5f60718",
    "subnet_ids": ["subnet-0a1b2c3d4e5f60719", "subnet-0a1b2c3d4e5f6071a"],
    "security_group_ids": ["sg-0a1b2c3d4e5f6071b"],
}
PROD = {
    "vpc_id": "vpc-0b1b2c3d4e5f60718",
    "subnet_ids": ["subnet-0b1b2c3d4e5f60719", "subnet-0b1b2c3d4e5f6071a"],
    "security_group_ids": ["sg-0b1b2c3d4e5f6071c"],
}


def test_network_answers_become_project_toml_tables(tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({"mlops_size": "large", "network": {**JOBS, "prod": PROD}}))
    loaded = answers.load(path, TEMPLATE_ROOT)
    assert loaded.questions == {"mlops_size": "large"}
    assert loaded.network == {"network": JOBS, "network.prod": PROD}


@pytest.mark.parametrize(
    ("network", "message"),
    [
        ("vpc-1", r"answers.json: network: must be an object of vpc_id, subnet_ids, "),
        ({"dev": JOBS}, r"network: unknown key 'dev'; allowed: vpc_id, subnet_ids, "),
        ({"prod": "vpc-1"}, r"network.prod: must be an object of vpc_id, subnet_ids, "),
        ({"prod": {"subnets": []}}, r"network.prod: must be an object of vpc_id, subnet_ids, "),
    ],
)
def test_bad_network_answers_are_one_line(tmp_path: Path, network: object, message: str) -> None:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({"network": network}), encoding="utf-8")
    with pytest.raises(PublishError, match=message):
        answers.load(path, TEMPLATE_ROOT)


def test_the_ids_are_written_and_checked_by_the_projects_own_rules(
    template: Path, tmp_path: Path
) -> None:
    from project_infra.settings import GivenNetwork, load  # noqa: PLC0415 - the rendered project's

    project = render(template, {"mlops_size": "large", "single_account": True}, tmp_path / "ok")
    source = tmp_path / "answers.json"
    write_network(project / "project.toml", {"network": JOBS, "network.prod": PROD}, source)
    settings = load(project / "project.toml")
    assert settings.network == GivenNetwork(
        JOBS["vpc_id"], tuple(JOBS["subnet_ids"]), tuple(JOBS["security_group_ids"])
    )
    assert set(settings.endpoint_networks) == {"prod"}
    assert settings.endpoint_networks["prod"].vpc_id == PROD["vpc_id"]
    bad = render(template, {"mlops_size": "large", "single_account": True}, tmp_path / "bad")
    with pytest.raises(PublishError) as raised:
        write_network(
            bad / "project.toml", {"network.prod": {**PROD, "subnet_ids": ["subnet-1"]}}, source
        )
    assert str(raised.value) == (
        f"{source}: network [network.prod]: subnet_ids=['subnet-1']: allowed: 2 to 16 different "
        "ids like subnet-0123abcd ('subnet-1' is not one)"
    )
