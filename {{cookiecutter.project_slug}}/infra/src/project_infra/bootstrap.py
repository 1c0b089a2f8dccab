"""``make deploy-bootstrap PROFILE=<profile>``: the roles of ``bootstrap/target-account.yml`` in the
staging or prod account that PROFILE's credentials belong to, with the parameters read from the
CI/CD stack the current (tooling account) credentials see, and that stage's endpoint VPC from
project.toml [network.<stage>]. medium and large only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from project_infra.settings import Settings, SettingsError, find_project_file, load
from project_infra.stack import stack_name
from project_names import STAGES

TEMPLATE = Path("infra") / "bootstrap" / "target-account.yml"
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]


class BootstrapError(RuntimeError):
    """One line: what is missing or what AWS refused."""


def tooling_values(session: boto3.Session, stack: str) -> dict[str, str]:
    """ToolingAccountId and the CI/CD stack's ArtifactBucketName and ArtifactKeyArn outputs."""
    account = session.client("sts").get_caller_identity()["Account"]
    try:
        described = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as error:
        raise BootstrapError(
            f"CI/CD stack {stack} not found with the current credentials (run `make deploy-infra` "
            f"in the tooling account first): {error.response['Error']['Message']}"
        ) from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    missing = [k for k in ("ArtifactBucketName", "ArtifactKeyArn") if k not in outputs]
    if missing:
        raise BootstrapError(f"CI/CD stack {stack} has no output {missing[0]}")
    return {
        "ToolingAccountId": account,
        "ArtifactBucketName": outputs["ArtifactBucketName"],
        "ArtifactKeyArn": outputs["ArtifactKeyArn"],
    }


def endpoint_network(settings: Settings, account: str) -> dict[str, str]:
    """EndpointVpcId, EndpointSubnetIds and EndpointSecurityGroupIds for the stage of ``account``
    (project.toml [network.<stage>]); blank when its endpoint has no VPC, so that an update also
    takes the network permissions away."""
    accounts = {"staging": settings.staging_account, "prod": settings.prod_account}
    stages = [stage for stage in STAGES if accounts[stage] == account]
    # One stack, one model role per account: staging and prod sharing an account share its network.
    networks = {settings.endpoint_networks.get(stage) for stage in stages}
    if len(networks) > 1:
        raise BootstrapError(
            f"account {account} holds both staging and prod, whose [network.staging] and "
            "[network.prod] differ; allowed: the same VPC for both, or none"
        )
    network = networks.pop() if networks else None
    if network is None:
        return {"EndpointVpcId": "", "EndpointSubnetIds": "", "EndpointSecurityGroupIds": ""}
    return {
        "EndpointVpcId": network.vpc_id,
        "EndpointSubnetIds": ",".join(network.subnet_ids),
        "EndpointSecurityGroupIds": ",".join(network.security_group_ids),
    }


def deploy(session: boto3.Session, name: str, body: str, parameters: dict[str, str]) -> None:
    """Create or update stack ``name`` and wait for it."""
    cloudformation = session.client("cloudformation")
    request = {
        "StackName": name,
        "TemplateBody": body,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Capabilities": CAPABILITIES,
    }
    try:
        cloudformation.describe_stacks(StackName=name)
        exists = True
    except ClientError:
        exists = False
    try:
        if exists:
            cloudformation.update_stack(**request)
            cloudformation.get_waiter("stack_update_complete").wait(StackName=name)
        else:
            cloudformation.create_stack(**request)
            cloudformation.get_waiter("stack_create_complete").wait(StackName=name)
    except ClientError as error:
        message = error.response["Error"]["Message"]
        if "No updates are to be performed" not in message:
            raise BootstrapError(f"stack {name}: {message}") from None
    except WaiterError as error:
        raise BootstrapError(f"stack {name}: {error}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make deploy-bootstrap", description=__doc__)
    parser.add_argument("--profile", required=True, help="AWS CLI profile of the target account")
    args = parser.parse_args(argv)
    try:
        settings = load(find_project_file(Path.cwd()))
        root = find_project_file(Path.cwd()).parent
        if settings.account_layout != "multi":
            raise BootstrapError(
                f"this project deploys into the tooling account (layout={settings.account_layout!r}); "
                "there is nothing to bootstrap"
            )
        body = (root / TEMPLATE).read_text(encoding="utf-8")
        parameters = tooling_values(
            boto3.Session(region_name=settings.region), stack_name(settings)
        )
        parameters["ProjectName"] = settings.slug.lower()
        target = boto3.Session(profile_name=args.profile, region_name=settings.region)
        account = target.client("sts").get_caller_identity()["Account"]
        expected = {settings.staging_account, settings.prod_account}
        if account not in expected:  # checked before anything is created
            raise BootstrapError(
                f"PROFILE={args.profile}: account {account} is neither staging nor prod "
                f"({', '.join(sorted(expected))} in project.toml [accounts])"
            )
        parameters.update(endpoint_network(settings, account))
        deploy(target, f"{settings.slug}-bootstrap", body, parameters)
    except (SettingsError, BootstrapError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2 if isinstance(error, SettingsError) else 1
    except (BotoCoreError, ClientError) as error:
        print(f"error: AWS: {error}", file=sys.stderr)
        return 1
    print(f"{settings.slug}-bootstrap: deployed in account {account}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
