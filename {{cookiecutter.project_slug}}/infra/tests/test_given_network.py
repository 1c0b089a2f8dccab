"""A VPC the network team owns (project.toml [network]): the jobs join it, nothing of the network is
created, bad ids are refused in one line. Each stage's endpoint VPC ([network.staging],
[network.prod]): the same rules, the deploy build's variables and the model role's permissions (the
target-account bootstrap's: test_deployment_roles.py). The created VPC's own tests: test_network.py."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Synthesized
from test_network import NETWORK_TYPES

from project_infra import roles
from project_infra.bootstrap import BootstrapError, endpoint_network
from project_infra.settings import GivenNetwork, SettingsError, find_project_file, load
from project_infra.synth import app_for

PROJECT_FILE = find_project_file(Path(__file__).resolve().parent)
GIVEN = GivenNetwork(
    "vpc-0a1b2c3d4e5f60718",
    ("subnet-0a1b2c3d4e5f60719", "subnet-0a1b2c3d4e5f6071a"),
    ("sg-0a1b2c3d4e5f6071b",),
)


# A stage endpoint's VPC, in another VPC than the jobs' (GIVEN).
ENDPOINT = GivenNetwork(
    "vpc-0b1b2c3d4e5f60718",
    ("subnet-0b1b2c3d4e5f60719", "subnet-0b1b2c3d4e5f6071a", "subnet-0b1b2c3d4e5f6071b"),
    ("sg-0b1b2c3d4e5f6071c", "sg-0b1b2c3d4e5f6071d"),
)


def _with_table(tmp_path: Path, table: str, block: str, text: str | None = None) -> Path:
    """project.toml with ``[table]`` (up to the next table) replaced by ``block``."""
    text = PROJECT_FILE.read_text(encoding="utf-8") if text is None else text
    start = text.index(f"[{table}]")
    end = text.find("\n[", start + 1)
    path = tmp_path / "project.toml"
    path.write_text(text[:start] + block + (text[end:] if end != -1 else "\n"), encoding="utf-8")
    return path


def _with_network(tmp_path: Path, block: str) -> Path:
    return _with_table(tmp_path, "network", block)


def _block(table: str, network: GivenNetwork) -> str:
    return (
        f'[{table}]\nvpc_id = "{network.vpc_id}"\nsubnet_ids = {json.dumps(network.subnet_ids)}\n'
        f"security_group_ids = {json.dumps(network.security_group_ids)}\n"
    )


def test_a_blank_block_gives_no_network(tmp_path: Path) -> None:
    """As shipped; written here, so the test holds once you fill the block in."""
    blank = '[network]\nvpc_id = ""\nsubnet_ids = []\nsecurity_group_ids = []\n'
    assert load(_with_network(tmp_path, blank)).network is None


def test_a_file_without_the_block_gives_no_network(tmp_path: Path) -> None:
    """Projects generated before [network] (or its stage tables) existed keep loading."""
    path = _with_network(tmp_path, "")
    assert load(path).network is None
    for table in ("network.staging", "network.prod"):
        path = _with_table(tmp_path, table, "", path.read_text(encoding="utf-8"))
    assert "[network" not in path.read_text(encoding="utf-8")
    settings = load(path)
    assert settings.network is None and settings.endpoint_networks == {}


def test_a_given_network_loads(tmp_path: Path) -> None:
    settings = load(_with_network(tmp_path, _block("network", GIVEN)))
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


@pytest.fixture(scope="session")
def synthesized(codepipeline_synthesized: Synthesized) -> Synthesized:
    """The CodePipeline and CodeBuild resources: this project's stack with [ci] system
    codepipeline (conftest.codepipeline_synthesized)."""
    return codepipeline_synthesized


@pytest.fixture(scope="module")
def given(synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """This project's stack with GIVEN in project.toml (cdk-nag checks it as it synthesizes)."""
    settings = dataclasses.replace(synthesized.settings, network=GIVEN, endpoint_networks={})
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
    (role,) = [
        k
        for k, r in given["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and "SageMakerPipelineRole" in k
    ]
    statements = [
        s
        for policy in _resources(given, "AWS::IAM::Policy")
        if {"Ref": role} in policy["Properties"]["Roles"]
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


# -- each stage endpoint's VPC: project.toml [network.staging] and [network.prod] -------------------


def test_blank_stage_tables_give_no_endpoint_network(tmp_path: Path) -> None:
    """As shipped; written here, so the test holds once you fill the tables in."""
    path = _with_network(tmp_path, "[network]\n")
    for stage in ("staging", "prod"):
        blank = f'[network.{stage}]\nvpc_id = ""\nsubnet_ids = []\nsecurity_group_ids = []\n'
        path = _with_table(tmp_path, f"network.{stage}", blank, path.read_text(encoding="utf-8"))
    assert load(path).endpoint_networks == {}


def test_a_stage_network_loads_for_that_stage_only(tmp_path: Path) -> None:
    settings = load(_with_table(tmp_path, "network.prod", _block("network.prod", ENDPOINT)))
    assert settings.endpoint_networks == {"prod": ENDPOINT}
    # The jobs' [network] is apart: the shipped one stays as it is.
    assert settings.network == load(PROJECT_FILE).network


@pytest.mark.parametrize(
    ("block", "message"),
    [
        # subnets without the VPC and the groups: the VPC id first
        (f"subnet_ids = {SUBNETS}", r"vpc_id='': allowed: a VPC id like vpc-0123abcd .*"),
        # the VPC and subnets, no group
        (
            f'vpc_id = "vpc-0a1b2c3d"\nsubnet_ids = {SUBNETS}',
            r"security_group_ids=\[\]: allowed: 1 to 5 different ids like sg-0123abcd",
        ),
        # one subnet: SageMaker hosting needs two Availability Zones even for one instance
        (
            'vpc_id = "vpc-0a1b2c3d"\nsubnet_ids = ["subnet-0a1b2c3d"]\n'
            'security_group_ids = ["sg-0a1b2c3d"]',
            r"subnet_ids=\['subnet-0a1b2c3d'\]: allowed: 2 to 16 different ids like subnet-",
        ),
        ('vpc_id = "vpc-xyz"', r"vpc_id='vpc-xyz': allowed: a VPC id like vpc-0123abcd"),
        ('vpc_id = ""\nsubnets = []', r"unknown key 'subnets'; allowed: vpc_id, subnet_ids, "),
    ],
)
def test_a_bad_stage_network_is_refused_in_one_line_naming_its_table(
    tmp_path: Path, block: str, message: str
) -> None:
    path = _with_table(tmp_path, "network.staging", "[network.staging]\n" + block + "\n")
    with pytest.raises(SettingsError, match=r"\[network\.staging\]: " + message) as error:
        load(path)
    assert "\n" not in str(error.value)


def test_an_unknown_stage_table_is_refused_in_one_line(tmp_path: Path) -> None:
    path = _with_table(tmp_path, "network.prod", _block("network.dev", ENDPOINT))
    with pytest.raises(
        SettingsError,
        match=r"\[network\]: unknown key 'dev'; allowed: vpc_id, subnet_ids, security_group_ids, "
        r"staging, prod$",
    ) as error:
        load(path)
    assert "\n" not in str(error.value)


def test_a_stage_key_that_is_not_a_table_is_refused_in_one_line(tmp_path: Path) -> None:
    path = _with_table(tmp_path, "network.staging", "")
    text = path.read_text(encoding="utf-8").replace("[network]\n", '[network]\nstaging = "x"\n', 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match=r"\[network\.staging\]: must be a table") as error:
        load(path)
    assert "\n" not in str(error.value)


@pytest.fixture(scope="module")
def endpoints(synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """This project's stack with ENDPOINT for staging only and no jobs' VPC given."""
    settings = dataclasses.replace(
        synthesized.settings, network=None, endpoint_networks={"staging": ENDPOINT}
    )
    outdir = tmp_path_factory.mktemp("cdk.out.endpoints")
    (stack,) = app_for(settings, synthesized.repo_root, outdir).synth().stacks
    return json.loads((outdir / stack.template_file).read_text(encoding="utf-8"))


def _deploy_variables(template: dict[str, Any]) -> dict[str, Any]:
    (build,) = [
        p
        for p in _resources(template, "AWS::CodeBuild::Project")
        if p["Properties"]["Source"]["BuildSpec"] == "model-deploy/buildspec.yml"
    ]
    return {
        v["Name"]: v["Value"] for v in build["Properties"]["Environment"]["EnvironmentVariables"]
    }


def test_the_deploy_build_passes_each_stage_network_and_no_other(
    synthesized: Synthesized, endpoints: dict[str, Any], given: dict[str, Any]
) -> None:
    """A stage's table wins; a stage without one runs in the jobs' VPC where the stages deploy
    beside it (large, one account: Settings.endpoints_in_job_vpc), else in none."""
    in_job_vpc = synthesized.settings.endpoints_in_job_vpc
    variables = _deploy_variables(endpoints)
    assert variables["STAGING_SUBNET_IDS"] == ",".join(ENDPOINT.subnet_ids)
    assert variables["STAGING_SECURITY_GROUP_IDS"] == ",".join(ENDPOINT.security_group_ids)
    assert " " not in variables["STAGING_SUBNET_IDS"] + variables["STAGING_SECURITY_GROUP_IDS"]
    prod = {"PROD_SUBNET_IDS", "PROD_SECURITY_GROUP_IDS"} & set(variables)
    assert prod == ({"PROD_SUBNET_IDS", "PROD_SECURITY_GROUP_IDS"} if in_job_vpc else set())
    if in_job_vpc:  # the VPC the stack creates for the jobs (test_network.py checks the ids)
        assert "Fn::Join" in variables["PROD_SUBNET_IDS"]
    # No stage table, the jobs' VPC given: the jobs' ids (in_job_vpc) or none.
    given_variables = _deploy_variables(given)
    networked = {
        n: v for n, v in given_variables.items() if n.endswith(("SUBNET_IDS", "GROUP_IDS"))
    }
    expected = {
        f"{stage}_{key}": value
        for stage in ("STAGING", "PROD")
        for key, value in (
            ("SUBNET_IDS", ",".join(GIVEN.subnet_ids)),
            ("SECURITY_GROUP_IDS", ",".join(GIVEN.security_group_ids)),
        )
    }
    assert networked == (expected if in_job_vpc else {})
    # Never the old shared names.
    assert not {"SUBNET_IDS", "SECURITY_GROUP_IDS"} & set(variables)


def _model_role_statements(template: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The statements of this stack's model execution role (None: multi layout, no such role)."""
    found = [
        k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and "ModelExecutionRole" in k
    ]
    if not found:
        return None
    (role,) = found
    return [
        s
        for policy in _resources(template, "AWS::IAM::Policy")
        if {"Ref": role} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_the_model_role_may_attach_endpoints_to_the_given_network_only(
    synthesized: Synthesized, endpoints: dict[str, Any]
) -> None:
    """Single layout: the stack's model execution role gets host-vpc.html's network interface
    permissions, scoped to the staging network. Multi: the stage accounts' role does (bootstrap),
    and no policy of this stack names the stage network."""
    statements = _model_role_statements(endpoints)
    if synthesized.settings.account_layout == "multi":
        assert statements is None
        policies = json.dumps(_resources(endpoints, "AWS::IAM::Policy"))
        assert ENDPOINT.vpc_id not in policies and ENDPOINT.subnet_ids[0] not in policies
        return
    assert statements is not None
    network = [s for s in statements if any(a.startswith("ec2:") for a in _actions(s))]
    staging = [
        s
        for s in network
        if ENDPOINT.vpc_id in json.dumps(s)
        or ENDPOINT.subnet_ids[0] in json.dumps(s)
        or s["Resource"] == "*"
    ]
    if not synthesized.settings.endpoints_in_job_vpc:  # else prod's, in the jobs' VPC, too
        assert network == staging
    (create,) = [
        s
        for s in network
        if _actions(s) == ["ec2:CreateNetworkInterface"] and ENDPOINT.subnet_ids[0] in json.dumps(s)
    ]
    resources = json.dumps(create["Resource"])
    for subnet in ENDPOINT.subnet_ids:
        assert f":subnet/{subnet}" in resources, subnet
    for group in ENDPOINT.security_group_ids:
        assert f":security-group/{group}" in resources, group
    assert ":network-interface/*" in resources
    assert len(create["Resource"]) == 1 + len(ENDPOINT.subnet_ids) + len(
        ENDPOINT.security_group_ids
    )
    (interfaces,) = [s for s in staging if "ec2:DeleteNetworkInterface" in _actions(s)]
    assert f":vpc/{ENDPOINT.vpc_id}" in json.dumps(interfaces["Condition"])
    (describe, *_) = [s for s in network if "ec2:DescribeSubnets" in _actions(s)]
    assert describe["Resource"] == "*"
    assert {a for s in network for a in _actions(s)} == {
        *roles.NETWORK_DESCRIBE_ACTIONS,
        "ec2:CreateNetworkInterface",
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface",
        "ec2:DeleteNetworkInterfacePermission",
    }


def test_the_model_role_gets_no_network_permission_without_a_stage_network(
    synthesized: Synthesized, given: dict[str, Any]
) -> None:
    """No stage table: no permission, unless the endpoints run in the jobs' (here given) VPC."""
    statements = _model_role_statements(given)
    if statements is None:
        return  # multi layout: the role is the bootstrap's
    assert statements
    network = [s for s in statements if any(a.startswith("ec2:") for a in _actions(s))]
    if not synthesized.settings.endpoints_in_job_vpc:
        assert network == []
        return
    (create,) = [s for s in network if _actions(s) == ["ec2:CreateNetworkInterface"]]
    assert all(f":subnet/{subnet}" in json.dumps(create) for subnet in GIVEN.subnet_ids)


def test_the_bootstrap_gets_the_network_of_its_accounts_stage(synthesized: Synthesized) -> None:
    """make deploy-bootstrap: each account's Endpoint* parameters are its stage's table, blank for a
    stage without one (so that an update takes the permissions away)."""
    settings = dataclasses.replace(
        synthesized.settings,
        staging_account="111111111111",
        prod_account="222222222222",
        endpoint_networks={"prod": ENDPOINT},
    )
    assert endpoint_network(settings, "222222222222") == {
        "EndpointVpcId": ENDPOINT.vpc_id,
        "EndpointSubnetIds": ",".join(ENDPOINT.subnet_ids),
        "EndpointSecurityGroupIds": ",".join(ENDPOINT.security_group_ids),
    }
    assert endpoint_network(settings, "111111111111") == dict.fromkeys(
        ("EndpointVpcId", "EndpointSubnetIds", "EndpointSecurityGroupIds"), ""
    )
    shared = dataclasses.replace(settings, prod_account="111111111111")
    with pytest.raises(BootstrapError, match=r"\[network\.staging\] and \[network\.prod\] differ"):
        endpoint_network(shared, "111111111111")
    same = dataclasses.replace(shared, endpoint_networks={"staging": ENDPOINT, "prod": ENDPOINT})
    assert endpoint_network(same, "111111111111")["EndpointVpcId"] == ENDPOINT.vpc_id
