"""A VPC the network team owns (project.toml [network]): the jobs join it, nothing of the network is
created, bad ids are refused in one line. The created VPC's own tests: test_network.py."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Synthesized
from test_network import NETWORK_TYPES

from project_infra.settings import GivenNetwork, SettingsError, find_project_file, load
from project_infra.synth import app_for

PROJECT_FILE = find_project_file(Path(__file__).resolve().parent)
GIVEN = GivenNetwork(
    "vpc-0a1b2c3d4e5f60718",
    ("subnet-0a1b2c3d4e5f60719", "subnet-0a1b2c3d4e5f6071a"),
    ("sg-0a1b2c3d4e5f6071b",),
)


def _with_network(tmp_path: Path, block: str) -> Path:
    text = PROJECT_FILE.read_text(encoding="utf-8")
    start = text.index("[network]")
    end = text.find("\n[", start + 1)
    path = tmp_path / "project.toml"
    path.write_text(text[:start] + block + (text[end:] if end != -1 else "\n"), encoding="utf-8")
    return path


def test_a_blank_block_gives_no_network(tmp_path: Path) -> None:
    """As shipped; written here, so the test holds once you fill the block in."""
    blank = '[network]\nvpc_id = ""\nsubnet_ids = []\nsecurity_group_ids = []\n'
    assert load(_with_network(tmp_path, blank)).network is None


def test_a_file_without_the_block_gives_no_network(tmp_path: Path) -> None:
    """Projects generated before [network] existed keep loading."""
    assert load(_with_network(tmp_path, "")).network is None


def test_a_given_network_loads(tmp_path: Path) -> None:
    block = (
        f'[network]\nvpc_id = "{GIVEN.vpc_id}"\nsubnet_ids = {json.dumps(GIVEN.subnet_ids)}\n'
        f"security_group_ids = {json.dumps(GIVEN.security_group_ids)}\n"
    )
    settings = load(_with_network(tmp_path, block))
    assert settings.network == GIVEN
    assert settings.job_vpc  # any size: a given VPC is used


SUBNETS = '["subnet-0a1b2c3d", "subnet-0a1b2c3e"]'


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            f'vpc_id = ""\nsubnet_ids = {SUBNETS}\nsecurity_group_ids = ["sg-0a1b2c3d"]',
            r"vpc_id='': allowed: a VPC id like vpc-0123abcd .*or all three keys blank",
        ),
        (
            'vpc_id = "vpc-0a1b2c3d"\nsubnet_ids = ["subnet-0a1b2c3d"]\n'
            'security_group_ids = ["sg-0a1b2c3d"]',
            r"subnet_ids=\['subnet-0a1b2c3d'\]: allowed: 2 to 16 different ids like subnet-",
        ),
        (
            f'vpc_id = "vpc-0a1b2c3d"\nsubnet_ids = {SUBNETS}\nsecurity_group_ids = ["sg-xyz"]',
            r"security_group_ids=\['sg-xyz'\]: allowed: 1 to 5 .* \('sg-xyz' is not one\)",
        ),
        (
            'vpc_id = "vpc-0a1b2c3d"\nsubnet_ids = ["subnet-0a1b2c3d", "subnet-0a1b2c3d"]\n'
            'security_group_ids = ["sg-0a1b2c3d"]',
            r"subnet_ids=.*: allowed: 2 to 16 different ids",
        ),
        (
            f'vpc_id = "vpc-0a1b2c3d"\nsubnet_ids = {SUBNETS}\n'
            'security_group_ids = ["sg-0a1b2c3d", "sg-0a1b2c3e", "sg-0a1b2c3f", "sg-0a1b2c40", '
            '"sg-0a1b2c41", "sg-0a1b2c42"]',
            r"security_group_ids=.*: allowed: 1 to 5 different ids",
        ),
        ('vpc_id = "vpc-0a1b2c3d"\nsubnets = []', r"unknown key 'subnets'; allowed: vpc_id, "),
        ('subnet_ids = "subnet-0a1b2c3d"', r"subnet_ids='subnet-0a1b2c3d': must be a list"),
    ],
)
def test_a_bad_network_is_refused_in_one_line(tmp_path: Path, block: str, message: str) -> None:
    with pytest.raises(SettingsError, match=r"\[network\]: " + message) as error:
        load(_with_network(tmp_path, "[network]\n" + block + "\n"))
    assert "\n" not in str(error.value)


@pytest.fixture(scope="module")
def given(synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """This project's stack with GIVEN in project.toml (cdk-nag checks it as it synthesizes)."""
    settings = dataclasses.replace(synthesized.settings, network=GIVEN)
    outdir = tmp_path_factory.mktemp("cdk.out.given")
    (stack,) = app_for(settings, synthesized.repo_root, outdir).synth().stacks
    return json.loads((outdir / stack.template_file).read_text(encoding="utf-8"))


def _resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def test_nothing_of_the_network_is_created(given: dict[str, Any]) -> None:
    for kind in (*NETWORK_TYPES, "AWS::EC2::RouteTable"):
        assert not _resources(given, kind), kind


def test_the_builds_pass_the_given_ids(given: dict[str, Any]) -> None:
    (build,) = [
        p
        for p in _resources(given, "AWS::CodeBuild::Project")
        if p["Properties"]["Source"]["BuildSpec"] == "model-build/buildspec.yml"
    ]
    variables = {
        v["Name"]: v["Value"] for v in build["Properties"]["Environment"]["EnvironmentVariables"]
    }
    assert variables["JOB_SUBNET_IDS"] == ",".join(GIVEN.subnet_ids)
    assert variables["JOB_SECURITY_GROUP_IDS"] == ",".join(GIVEN.security_group_ids)


def test_the_pipeline_role_may_attach_jobs_to_the_given_subnets_and_vpc_only(
    given: dict[str, Any],
) -> None:
    statements = [
        s
        for policy in _resources(given, "AWS::IAM::Policy")
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    (create,) = [s for s in statements if s["Action"] == "ec2:CreateNetworkInterface"]
    resources = json.dumps(create["Resource"])
    for subnet in GIVEN.subnet_ids:
        assert f":subnet/{subnet}" in resources, subnet
    for group in GIVEN.security_group_ids:
        assert f":security-group/{group}" in resources, group
    assert len(create["Resource"]) == 1 + len(GIVEN.subnet_ids) + len(GIVEN.security_group_ids)
    assert f":vpc/{GIVEN.vpc_id}" in json.dumps(statements)
