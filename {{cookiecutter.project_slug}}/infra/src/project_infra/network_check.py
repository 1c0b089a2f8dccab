"""``make check-network [PROFILE=<profile>]``: the VPCs project.toml gives, read back from the account
they live in, checked for what a job or an endpoint needs from them before anything is deployed into
them. ``make deploy-infra`` runs it first with the tooling account's credentials (the jobs'
[network] and, in the single-account layout, each [network.<stage>]); ``make deploy-bootstrap`` with
the stage account's (that stage's [network.<stage>]).

Without it, a VPC that lacks one of these fails the first pipeline run or the first deploy, an hour
in, with a timeout that names nothing. What is checked (read-only ``ec2:Describe*`` calls), per the
pages SageMaker gives for jobs and endpoints in a VPC
(https://docs.aws.amazon.com/sagemaker/latest/dg/process-vpc.html,
https://docs.aws.amazon.com/sagemaker/latest/dg/train-vpc.html,
https://docs.aws.amazon.com/sagemaker/latest/dg/host-vpc.html):

- the VPC, every subnet and every security group exist in this account and region, and the subnets
  and groups are the VPC's;
- the subnets span at least two Availability Zones, each with free addresses (two per instance);
- a security group lets the container out on HTTPS (S3 and the AWS APIs);
- every subnet reaches S3: an S3 gateway endpoint on its route table, or a default route to a NAT
  gateway, a NAT instance or a transit gateway;
- for the jobs: an interface endpoint with private DNS for each AWS API a job container calls
  (project_infra.network.JOB_ENDPOINTS), unless every subnet has such a default route.

Not checked: what an endpoint policy admits (the S3 gateway endpoint's must admit the artifact
bucket) and what lies behind a NAT or transit gateway route; infra/README.md says what they need.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from project_infra.network import JOB_ENDPOINTS, TRACKING_SERVICE
from project_infra.settings import GivenNetwork, Settings, SettingsError, find_project_file, load
from project_names import STAGES

HTTPS = 443
# Targets of a default route that lead out of the VPC from a private subnet (an internet gateway
# does not: an instance without a public address gets nothing through it).
EGRESS_TARGETS = ("NatGatewayId", "InstanceId", "TransitGatewayId", "NetworkInterfaceId")


@dataclass(frozen=True)
class Need:
    """A VPC project.toml gives, and the AWS APIs (VPC endpoint names) its containers call."""

    table: str  # "[network]", "[network.prod]"
    network: GivenNetwork
    # com.amazonaws.<region>.<name>, or a full service name with {region} (TRACKING_SERVICE)
    interface_endpoints: tuple[str, ...]


def needs(settings: Settings, account: str | None) -> list[Need]:
    """What to check with one account's credentials: ``account`` None is the tooling account (the
    jobs' [network]; the stages' too when they deploy there), else a stage account's id."""
    jobs = tuple(e.name for e in JOB_ENDPOINTS.values() if not e.gateway)
    if settings.mlflow_app:
        jobs += (TRACKING_SERVICE,)
    found = []
    if account is None and settings.network is not None:
        found.append(Need("[network]", settings.network, jobs))
    accounts = {"staging": settings.staging_account, "prod": settings.prod_account}
    for stage in STAGES:
        here = not accounts[stage] if account is None else accounts[stage] == account
        network = settings.endpoint_networks.get(stage)
        if here and network is not None:
            found.append(Need(f"[network.{stage}]", network, ()))
    return found


def problems(ec2: Any, region: str, need: Need) -> list[str]:
    """Each way the given VPC falls short of ``need``, one line each ([] = it is fit)."""
    given, where = need.network, need.table
    if not ec2.describe_vpcs(Filters=[_filter("vpc-id", [given.vpc_id])])["Vpcs"]:
        return [f"{where}: vpc_id {given.vpc_id}: no such VPC in this account and region {region}"]
    subnets = _all(ec2, "describe_subnets", "Subnets", "subnet-id", given.subnet_ids)
    groups = _all(
        ec2, "describe_security_groups", "SecurityGroups", "group-id", given.security_group_ids
    )
    vpc = given.vpc_id
    found = _missing(where, "subnet_ids", given.subnet_ids, subnets, id_key="SubnetId", vpc=vpc)
    found += _missing(
        where, "security_group_ids", given.security_group_ids, groups, id_key="GroupId", vpc=vpc
    )
    ours = [s for s in subnets if s["VpcId"] == given.vpc_id]
    zones = sorted({s["AvailabilityZone"] for s in ours})
    if len(zones) < 2:  # host-vpc.html: at least two AZs
        found.append(
            f"{where}: subnet_ids are all in {', '.join(zones) or 'no zone'}; allowed: subnets in "
            "at least two Availability Zones"
        )
    full = [s["SubnetId"] for s in ours if s["AvailableIpAddressCount"] < 2]
    if full:
        found.append(f"{where}: subnet {full[0]} has fewer than 2 free addresses (2 per instance)")
    if groups and not any(_allows_https_out(g) for g in groups):
        found.append(
            f"{where}: no security group of {', '.join(given.security_group_ids)} allows outbound "
            "HTTPS (tcp 443), which S3 and the AWS APIs need"
        )
    tables = _route_tables(ec2, given.vpc_id, [s["SubnetId"] for s in ours])
    endpoints = [  # a pending, failed or deleted endpoint routes nothing
        e
        for e in _all(ec2, "describe_vpc_endpoints", "VpcEndpoints", "vpc-id", [given.vpc_id])
        if str(e.get("State", "")).lower() == "available"
    ]
    s3_tables = {
        table
        for e in endpoints
        if e["ServiceName"] == f"com.amazonaws.{region}.s3" and e["VpcEndpointType"] == "Gateway"
        for table in e.get("RouteTableIds", [])
    }
    egress = {subnet: _has_egress(table) for subnet, table in tables.items()}
    for subnet, table in tables.items():
        if table is None:
            found.append(f"{where}: subnet {subnet} has no route table")
        elif table["RouteTableId"] not in s3_tables and not egress[subnet]:
            found.append(
                f"{where}: subnet {subnet} reaches no S3: its route table {table['RouteTableId']} "
                "has neither an S3 gateway endpoint nor a default route to a NAT"
            )
    if tables and all(egress.values()):
        return found
    private = {
        e["ServiceName"]
        for e in endpoints
        if e["VpcEndpointType"] == "Interface" and e.get("PrivateDnsEnabled")
    }
    for name in need.interface_endpoints:
        service = (
            name.format(region=region) if "{region}" in name else f"com.amazonaws.{region}.{name}"
        )
        if service not in private:
            found.append(
                f"{where}: no interface endpoint {service} with private DNS in "
                f"{given.vpc_id}, and not every subnet has a NAT route: the steps that call it "
                "would time out"
            )
    return found


def _filter(name: str, values: Iterable[str]) -> dict[str, Any]:
    return {"Name": name, "Values": list(values)}


def _all(
    ec2: Any, operation: str, key: str, name: str, values: Iterable[str]
) -> list[dict[str, Any]]:
    """Every item of a Describe call filtered by ``name`` in ``values``, across its pages."""
    pages = ec2.get_paginator(operation).paginate(Filters=[_filter(name, values)])
    return [item for page in pages for item in page[key]]


def _missing(
    where: str,
    key: str,
    ids: tuple[str, ...],
    found: list[dict[str, Any]],
    *,
    id_key: str,
    vpc: str,
) -> list[str]:
    """Lines for the ids of ``key`` that this account does not have, or that another VPC has."""
    by_id = {item[id_key]: item for item in found}
    lines = [
        f"{where}: {key}: {i} not found in this account and region" for i in ids if i not in by_id
    ]
    return lines + [
        f"{where}: {key}: {i} is in {by_id[i]['VpcId']}, not in vpc_id {vpc}"
        for i in ids
        if i in by_id and by_id[i]["VpcId"] != vpc
    ]


def _allows_https_out(group: dict[str, Any]) -> bool:
    for rule in group.get("IpPermissionsEgress", []):
        if rule.get("IpProtocol") == "-1":
            return True
        if rule.get("IpProtocol") == "tcp" and rule.get("FromPort", 0) <= HTTPS <= rule.get(
            "ToPort", -1
        ):
            return True
    return False


def _route_tables(ec2: Any, vpc: str, subnets: list[str]) -> dict[str, dict[str, Any] | None]:
    """Each subnet's route table: the one associated with it, else the VPC's main table."""
    tables = _all(ec2, "describe_route_tables", "RouteTables", "vpc-id", [vpc])
    explicit = {
        a["SubnetId"]: t for t in tables for a in t.get("Associations", []) if a.get("SubnetId")
    }
    main = next((t for t in tables if any(a.get("Main") for a in t.get("Associations", []))), None)
    return {subnet: explicit.get(subnet, main) for subnet in subnets}


def _has_egress(table: dict[str, Any] | None) -> bool:
    return table is not None and any(
        route.get("DestinationCidrBlock") == "0.0.0.0/0"
        and any(route.get(target) for target in EGRESS_TARGETS)
        and route.get("State", "active") == "active"
        for route in table.get("Routes", [])
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make check-network", description=__doc__)
    parser.add_argument(
        "--profile", help="AWS CLI profile of a staging or prod account (default: the tooling one)"
    )
    args = parser.parse_args(argv)
    try:
        settings = load(find_project_file(Path.cwd()))
        if not (needs(settings, None) if args.profile is None else settings.endpoint_networks):
            print("check-network: project.toml gives no VPC for this account; nothing to check")
            return 0
        session = boto3.Session(profile_name=args.profile, region_name=settings.region)
        account = None
        if args.profile is not None:
            account = session.client("sts").get_caller_identity()["Account"]
        checked = needs(settings, account)
        if not checked:
            print(f"check-network: project.toml gives account {account} no VPC; nothing to check")
            return 0
        ec2 = session.client("ec2")
        found = [line for need in checked for line in problems(ec2, settings.region, need)]
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(f"error: AWS: {error}", file=sys.stderr)
        return 1
    for line in found:
        print(f"error: {line}", file=sys.stderr)
    if found:
        print(
            "error: the VPC above is not ready for SageMaker (infra/README.md says what it needs); "
            "nothing was deployed",
            file=sys.stderr,
        )
        return 1
    for need in checked:
        print(f"check-network: {need.table} {need.network.vpc_id}: ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
