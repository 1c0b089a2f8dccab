"""`make check-network`: a VPC project.toml gives, read back with moto's EC2 and checked for what
SageMaker's jobs and endpoints need from it; each shortfall is one line naming the table and the id."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from test_given_network import PROJECT_FILE, _block, _with_table

from project_infra import network_check
from project_infra.network import TRACKING_SERVICE
from project_infra.network_check import Need, needs, problems
from project_infra.settings import GivenNetwork, load

REGION = load(PROJECT_FILE).region  # the region `make check-network` reads the VPCs in
JOB_APIS = ("sagemaker.api", "monitoring")


@dataclasses.dataclass
class Vpc:
    """A VPC built as infra/README.md says a given one must be (two AZs, S3 gateway endpoint, the
    jobs' interface endpoints with private DNS, a group with the default all-traffic egress)."""

    ec2: Any
    network: GivenNetwork
    route_table: str

    def need(self, interface: tuple[str, ...] = JOB_APIS, table: str = "[network]") -> Need:
        return Need(table, self.network, interface)


def build_vpc(
    ec2: Any,
    *,
    zones: tuple[str, ...] = ("a", "b"),
    s3: bool = True,
    apis: tuple[str, ...] = JOB_APIS,
) -> Vpc:
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.8.{i}.0/24", AvailabilityZone=REGION + zone)[
            "Subnet"
        ]["SubnetId"]
        for i, zone in enumerate(zones)
    ]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    for subnet in subnets:
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    group = ec2.create_security_group(GroupName="jobs", Description="jobs", VpcId=vpc)["GroupId"]
    if s3:
        ec2.create_vpc_endpoint(
            VpcId=vpc,
            ServiceName=f"com.amazonaws.{REGION}.s3",
            VpcEndpointType="Gateway",
            RouteTableIds=[table],
        )
    for name in apis:
        ec2.create_vpc_endpoint(
            VpcId=vpc,
            ServiceName=name.format(region=REGION)
            if "{" in name
            else f"com.amazonaws.{REGION}.{name}",
            VpcEndpointType="Interface",
            SubnetIds=subnets,
            SecurityGroupIds=[group],
            PrivateDnsEnabled=True,
        )
    return Vpc(ec2, GivenNetwork(vpc, tuple(subnets), (group,)), table)


@pytest.fixture
def ec2() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


def test_a_vpc_built_as_the_readme_says_is_ready(ec2: Any) -> None:
    vpc = build_vpc(ec2)
    assert problems(ec2, REGION, vpc.need()) == []
    assert problems(ec2, REGION, vpc.need((), "[network.prod]")) == []


def test_a_vpc_that_does_not_exist_is_one_line(ec2: Any) -> None:
    missing = GivenNetwork("vpc-0a1b2c3d4e5f60718", ("subnet-0a1b2c3d",), ("sg-0a1b2c3d",))
    assert problems(ec2, REGION, Need("[network.prod]", missing, ())) == [
        f"[network.prod]: vpc_id vpc-0a1b2c3d4e5f60718: no such VPC in this account and region {REGION}"
    ]


def test_unknown_ids_and_ids_of_another_vpc_are_named(ec2: Any) -> None:
    vpc, other = build_vpc(ec2), build_vpc(ec2)
    given = dataclasses.replace(
        vpc.network,
        subnet_ids=(*vpc.network.subnet_ids, other.network.subnet_ids[0], "subnet-0a1b2c3d"),
        security_group_ids=("sg-0a1b2c3d", *vpc.network.security_group_ids),
    )
    found = problems(ec2, REGION, Need("[network]", given, JOB_APIS))
    assert found == [
        "[network]: subnet_ids: subnet-0a1b2c3d not found in this account and region",
        f"[network]: subnet_ids: {other.network.subnet_ids[0]} is in {other.network.vpc_id}, "
        f"not in vpc_id {vpc.network.vpc_id}",
        "[network]: security_group_ids: sg-0a1b2c3d not found in this account and region",
    ]


def test_subnets_in_one_zone_are_refused(ec2: Any) -> None:
    vpc = build_vpc(ec2, zones=("a", "a"))
    assert problems(ec2, REGION, vpc.need()) == [
        f"[network]: subnet_ids are all in {REGION}a; allowed: subnets in at least two "
        "Availability Zones"
    ]


def test_a_subnet_without_s3_is_named(ec2: Any) -> None:
    vpc = build_vpc(ec2, s3=False)
    found = problems(ec2, REGION, vpc.need((), "[network.staging]"))
    assert found == [
        f"[network.staging]: subnet {subnet} reaches no S3: its route table {vpc.route_table} has "
        "neither an S3 gateway endpoint nor a default route to a NAT"
        for subnet in vpc.network.subnet_ids
    ]


def test_the_jobs_need_an_interface_endpoint_per_api_they_call(ec2: Any, tmp_path: Path) -> None:
    """The jobs call SageMaker and CloudWatch (JOB_ENDPOINTS); an endpoint's container calls none."""
    vpc = build_vpc(ec2, apis=("sagemaker.api",))
    assert problems(ec2, REGION, vpc.need()) == [
        f"[network]: no interface endpoint com.amazonaws.{REGION}.monitoring with private DNS in "
        f"{vpc.network.vpc_id}, and not every subnet has a NAT route: the steps that call it "
        "would time out"
    ]
    assert problems(ec2, REGION, vpc.need(())) == []
    settings = _settings_with(tmp_path, network=vpc.network)
    # With MLflow (medium, large): the app's API too (network.TRACKING_SERVICE).
    expected = JOB_APIS + ((TRACKING_SERVICE,) if settings.mlflow_app else ())
    assert {n.interface_endpoints for n in needs(settings, None) if n.table == "[network]"} == {
        expected
    }


def test_with_mlflow_the_jobs_need_the_apps_endpoint(ec2: Any) -> None:
    """The Track and LinkRun steps call the MLflow App (aws.sagemaker.<region>.experiments)."""
    vpc = build_vpc(ec2)
    tracked = vpc.need((*JOB_APIS, TRACKING_SERVICE))
    service = f"aws.sagemaker.{REGION}.experiments"
    assert problems(ec2, REGION, tracked) == [
        f"[network]: no interface endpoint {service} with private DNS in {vpc.network.vpc_id}, "
        "and not every subnet has a NAT route: the steps that call it would time out"
    ]
    ec2.create_vpc_endpoint(
        VpcId=vpc.network.vpc_id,
        ServiceName=service,
        VpcEndpointType="Interface",
        SubnetIds=list(vpc.network.subnet_ids),
        SecurityGroupIds=list(vpc.network.security_group_ids),
        PrivateDnsEnabled=True,
    )
    assert problems(ec2, REGION, tracked) == []


def test_an_interface_endpoint_without_private_dns_does_not_count(ec2: Any) -> None:
    """Without private DNS, boto3's default host name still resolves to the public endpoint."""
    vpc = build_vpc(ec2, apis=("sagemaker.api",))
    ec2.create_vpc_endpoint(
        VpcId=vpc.network.vpc_id,
        ServiceName=f"com.amazonaws.{REGION}.monitoring",
        VpcEndpointType="Interface",
        SubnetIds=list(vpc.network.subnet_ids),
        PrivateDnsEnabled=False,
    )
    (line,) = problems(ec2, REGION, vpc.need())
    assert f"no interface endpoint com.amazonaws.{REGION}.monitoring with private DNS" in line


def test_an_endpoint_that_is_not_available_does_not_count(ec2: Any) -> None:
    vpc = build_vpc(ec2, s3=False)
    gateway = ec2.create_vpc_endpoint(
        VpcId=vpc.network.vpc_id,
        ServiceName=f"com.amazonaws.{REGION}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[vpc.route_table],
    )["VpcEndpoint"]["VpcEndpointId"]
    assert problems(ec2, REGION, vpc.need()) == []
    ec2.delete_vpc_endpoints(VpcEndpointIds=[gateway])  # moto keeps it, in state "deleted"
    assert len(problems(ec2, REGION, vpc.need())) == len(vpc.network.subnet_ids)


def test_a_nat_route_stands_in_for_every_endpoint(ec2: Any) -> None:
    vpc = build_vpc(ec2, s3=False, apis=())
    public = ec2.create_subnet(
        VpcId=vpc.network.vpc_id, CidrBlock="10.8.100.0/24", AvailabilityZone=REGION + "a"
    )["Subnet"]["SubnetId"]
    address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=address)["NatGateway"]
    ec2.create_route(
        RouteTableId=vpc.route_table,
        DestinationCidrBlock="0.0.0.0/0",
        NatGatewayId=nat["NatGatewayId"],
    )
    assert problems(ec2, REGION, vpc.need()) == []


def test_a_group_that_lets_nothing_out_on_https_is_refused(ec2: Any) -> None:
    vpc = build_vpc(ec2)
    (group,) = vpc.network.security_group_ids
    ec2.revoke_security_group_egress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    ec2.authorize_security_group_egress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 80,
                "ToPort": 80,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    assert problems(ec2, REGION, vpc.need()) == [
        f"[network]: no security group of {group} allows outbound HTTPS (tcp 443), which S3 and "
        "the AWS APIs need"
    ]


def _settings_with(tmp_path: Path, **tables: GivenNetwork) -> Any:
    """The project's settings with the given [network] / [network.<stage>] tables filled in."""
    text = PROJECT_FILE.read_text(encoding="utf-8")
    for key, network in tables.items():
        table = "network" if key == "network" else f"network.{key}"
        text = _with_table(tmp_path, table, _block(table, network), text).read_text(
            encoding="utf-8"
        )
    path = tmp_path / "project.toml"
    path.write_text(text, encoding="utf-8")
    return load(path)


ONE = GivenNetwork("vpc-0a1b2c3d", ("subnet-0a1b2c3d", "subnet-1a1b2c3d"), ("sg-0a1b2c3d",))
TWO = GivenNetwork("vpc-0b1b2c3d", ("subnet-0b1b2c3d", "subnet-1b1b2c3d"), ("sg-0b1b2c3d",))


@pytest.mark.parametrize(
    ("accounts", "account", "tables"),
    [
        # The single-account layout: the tooling credentials check the jobs' VPC and both stages'.
        (("", ""), None, ["[network]", "[network.staging]", "[network.prod]"]),
        # Multi-account: the tooling account the jobs', each stage account its own.
        (("111111111111", "222222222222"), None, ["[network]"]),
        (("111111111111", "222222222222"), "222222222222", ["[network.prod]"]),
        (("111111111111", "222222222222"), "111111111111", ["[network.staging]"]),
        (("111111111111", "111111111111"), "111111111111", ["[network.staging]", "[network.prod]"]),
    ],
)
def test_each_account_checks_the_vpcs_it_holds(
    tmp_path: Path, accounts: tuple[str, str], account: str | None, tables: list[str]
) -> None:
    settings = _settings_with(tmp_path, network=ONE, staging=TWO, prod=TWO)
    settings = dataclasses.replace(settings, staging_account=accounts[0], prod_account=accounts[1])
    assert [n.table for n in needs(settings, account)] == tables


def test_the_command_checks_before_anything_is_deployed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make deploy-infra` runs it first: a VPC without S3 stops it (exit 1, one line per
    shortfall, then what to read); the same VPC with its gateway endpoint passes."""
    monkeypatch.chdir(tmp_path)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    # Every interface endpoint this project's jobs call (with MLflow, the app's too).
    tracked = (TRACKING_SERVICE,) if load(PROJECT_FILE).mlflow_app else ()
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = build_vpc(ec2, s3=False, apis=JOB_APIS + tracked)
        assert _settings_with(tmp_path, network=vpc.network).network == vpc.network
        assert network_check.main([]) == 1
        errors = capsys.readouterr().err.splitlines()
        assert (
            len(errors) == 3
            and "reaches no S3" in errors[0]
            and "nothing was deployed" in errors[2]
        )
        ec2.create_vpc_endpoint(
            VpcId=vpc.network.vpc_id,
            ServiceName=f"com.amazonaws.{REGION}.s3",
            VpcEndpointType="Gateway",
            RouteTableIds=[vpc.route_table],
        )
        assert network_check.main([]) == 0
        assert capsys.readouterr().out == f"check-network: [network] {vpc.network.vpc_id}: ready\n"


def test_without_a_given_vpc_it_calls_no_aws_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No table filled in (as shipped): `make deploy-infra` must not need EC2 permissions."""
    blank = '\nvpc_id = ""\nsubnet_ids = []\nsecurity_group_ids = []\n'
    text = PROJECT_FILE.read_text(encoding="utf-8")
    for table in ("network", "network.staging", "network.prod"):
        text = _with_table(tmp_path, table, f"[{table}]{blank}", text).read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # a call would fail here
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    for argv in ([], ["--profile", "default"]):
        assert network_check.main(argv) == 0
        assert "nothing to check" in capsys.readouterr().out
