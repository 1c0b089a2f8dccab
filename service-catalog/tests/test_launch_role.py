"""The launch role covers the synthesized product template (and fails loudly when it would not)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from conftest import Published
from project_infra.synth_checks import Resolver
from service_catalog import launch_role
from service_catalog.permissions import (
    LEGACY_HANDLERS,
    PermissionsError,
    describe,
    handler_actions,
)
from service_catalog.studio_requirements import launch_role_problems, policy_size

IAM_INLINE_POLICY_QUOTA = 10_240  # characters, all inline policies of a role, whitespace excluded


def launch_policy(catalog: dict[str, Any]) -> dict[str, Any]:
    (policy,) = [
        r
        for r in catalog["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and "LaunchRole" in json.dumps(r["Properties"]["Roles"])
    ]
    return policy["Properties"]["PolicyDocument"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _size(product: dict[str, Any]) -> str:
    """The bake's size, from the MlopsSize tag the project stack puts on its resources."""
    (size,) = {
        tag["Value"]
        for resource in product["Resources"].values()
        for tag in _as_list(resource.get("Properties", {}).get("Tags", []))
        if isinstance(tag, dict) and tag.get("Key") == "MlopsSize"
    }
    return str(size)


# project_infra.network's resource types, and what the pipeline role needs for SageMaker to attach
# the jobs to the subnets (project_infra.roles.network_interface_access).
JOB_NETWORK_TYPES = {
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::RouteTable",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::EC2::VPCEndpoint",
    "AWS::EC2::FlowLog",
}
ENI_ACTIONS = {
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
}


def test_large_product_has_the_jobs_vpc_and_the_launch_role_builds_it(
    published: Published,
) -> None:
    """Large: the product holds the jobs' VPC as `make deploy-infra` does, and the launch role may
    call every EC2 action those types' handlers call, on ARNs of the EC2 types the product creates
    only (none on `*` unless IAM cannot scope it)."""
    product = published.product
    types = {r["Type"] for r in product["Resources"].values()}
    if _size(product) != "large":
        assert not types & JOB_NETWORK_TYPES
        return
    assert types >= JOB_NETWORK_TYPES
    product_actions = {
        action
        for r in product["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        for action in _as_list(s["Action"])
    }
    assert product_actions >= ENI_ACTIONS
    (flow_log,) = [r for r in product["Resources"].values() if r["Type"] == "AWS::EC2::FlowLog"]
    assert flow_log["Properties"]["LogDestinationType"] == "s3"
    assert "DeliverLogsPermissionArn" not in flow_log["Properties"]  # no role to pass

    statements = Resolver(published.catalog, published.region).resolve(
        launch_policy(published.catalog)["Statement"]
    )
    ec2_arn = re.compile(rf"arn:aws:ec2:{published.region}:\d{{12}}:([a-z-]+)/\*")
    granted_types = {
        match.group(1)
        for s in statements
        for arn in _as_list(s["Resource"])
        if (match := ec2_arn.fullmatch(arn))
    }
    assert granted_types == set(launch_role.EC2_TYPES)
    needed = {
        a
        for t in JOB_NETWORK_TYPES
        for a in handler_actions(t)
        if a.split(":")[0] in {"ec2", "vpce", "logs"}
    }
    for name in sorted(needed):
        resources = {
            r for s in statements if name in _as_list(s["Action"]) for r in _as_list(s["Resource"])
        }
        action = describe(name)
        assert action is not None and resources, name
        if action.resource_types:
            assert all(ec2_arn.fullmatch(r) for r in resources), (name, resources)
        else:
            assert resources == {"*"}, name
    assert {"s3:PutBucketPolicy", "s3:GetBucketPolicy"} <= {
        a for s in statements for a in _as_list(s["Action"])
    }
    # The launch role still passes the pipeline role (to SageMaker) and nothing to EC2 or logs.
    passed = {
        service
        for s in statements
        if "iam:PassRole" in _as_list(s["Action"])
        for service in _as_list(s["Condition"]["StringEquals"]["iam:PassedToService"])
    }
    assert "sagemaker.amazonaws.com" in passed
    assert not {"ec2.amazonaws.com", "vpc-flow-logs.amazonaws.com"} & passed


def test_ec2_types_outside_the_jobs_vpc_are_refused() -> None:
    """A gateway, NAT or instance the infra may gain is not covered by the VPC's scopes."""
    with pytest.raises(
        PermissionsError, match=r"ec2:CreateInternetGateway acts on .*internet-gateway"
    ):
        launch_role.derive(
            {"AWS::EC2::InternetGateway"}, asset_bucket="sm-x", passed_to_services=[]
        )


def test_launch_role_covers_the_product_template(published: Published) -> None:
    assert launch_role_problems(published.product, published.catalog, published.region) == []
    assert policy_size(published.catalog, published.region) < IAM_INLINE_POLICY_QUOTA


def test_every_product_resource_type_is_derived_from_cloudformation_handlers(
    published: Published,
) -> None:
    """Each type the product holds has AWS's handler permissions (or a legacy row), and each of
    those actions is granted by a statement of the synthesized catalog template."""
    statements = Resolver(published.catalog, published.region).resolve(
        launch_policy(published.catalog)["Statement"]
    )
    granted = {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    types = {r["Type"] for r in published.product["Resources"].values()}
    assert {"AWS::IAM::Role", "AWS::KMS::Key", "AWS::Scheduler::Schedule"} <= types
    for resource_type in types:
        assert handler_actions(resource_type)
    assert {
        "iam:CreateRole",
        "kms:CreateKey",
        "kms:PutKeyPolicy",
        "scheduler:CreateSchedule",
    } <= granted
    assert "iam:CreateUser" not in granted and not [a for a in granted if "*" in a]


def test_a_missing_grant_is_reported(published: Published) -> None:
    catalog = copy.deepcopy(published.catalog)
    document = launch_policy(catalog)
    document["Statement"] = [
        s for s in document["Statement"] if "iam:CreateRole" not in s["Action"]
    ]
    problems = launch_role_problems(published.product, catalog, published.region)
    assert "AWS::IAM::Role: the launch role may not iam:CreateRole" in problems


def test_a_widened_grant_is_reported(published: Published) -> None:
    catalog = copy.deepcopy(published.catalog)
    document = launch_policy(catalog)
    document["Statement"].append({"Effect": "Allow", "Action": "kms:PutKeyPolicy", "Resource": "*"})
    document["Statement"].append({"Effect": "Allow", "Action": "sns:*", "Resource": "*"})
    problems = launch_role_problems(published.product, catalog, published.region)
    assert "kms:PutKeyPolicy on * though IAM can scope it" in problems
    assert "wildcard action sns:*" in problems


def test_pass_role_follows_the_product_roles(published: Published) -> None:
    product = copy.deepcopy(published.product)
    role = next(r for r in product["Resources"].values() if r["Type"] == "AWS::IAM::Role")
    role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] = {
        "Service": "glue.amazonaws.com"
    }
    problems = launch_role_problems(product, published.catalog, published.region)
    assert "iam:PassRole lacks services ['glue.amazonaws.com']" in problems


def test_role_trusts_what_aws_s3_template_sample_trusts(published: Published) -> None:
    """Service Catalog (launch constraint), CloudFormation (the RoleARN it assumes) and, as in AWS's
    S3-template sample, the Studio execution role; unconditioned, and no one else."""
    (role,) = [
        r
        for key, r in published.catalog["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and key.startswith("LaunchRole")
    ]
    statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in statements] == [
        {"Service": "servicecatalog.amazonaws.com"},
        {"Service": "cloudformation.amazonaws.com"},
        {"AWS": {"Ref": "StudioExecutionRoleArn"}},
    ]
    assert all(s["Action"] == "sts:AssumeRole" and s["Effect"] == "Allow" for s in statements)
    assert not [s for s in statements if "Condition" in s]


def test_new_infra_resources_are_derived_or_refused() -> None:
    """What the project's infra may gain (S3 EventBridge notifications bring a custom resource and
    its function, alarms): derived; a type no scope decides: a one-line error naming it."""
    stack = cdk.Stack(cdk.App(), "Infra")
    s3.Bucket(stack, "Data", event_bridge_enabled=True)
    cloudwatch.Alarm(
        stack,
        "Drift",
        metric=cloudwatch.Metric(namespace="p/DataDrift", metric_name="ConstraintViolations"),
        threshold=1,
        evaluation_periods=1,
    )
    types = launch_role.resource_types(stack)
    assert "Custom::S3BucketNotifications" in types
    grants = launch_role.derive(
        types, asset_bucket="sm-x", passed_to_services=launch_role.passed_to_services(stack)
    )
    granted = {a for actions in grants.scoped.values() for a in actions}
    assert {
        "lambda:InvokeFunction",
        "lambda:CreateFunction",
        "cloudwatch:PutMetricAlarm",
    } <= granted

    dynamodb.Table(
        stack, "T", partition_key=dynamodb.Attribute(name="k", type=dynamodb.AttributeType.STRING)
    )
    with pytest.raises(PermissionsError, match=r"AWS::DynamoDB::Table: dynamodb:\w+ acts on "):
        launch_role.derive(
            launch_role.resource_types(stack), asset_bucket="sm-x", passed_to_services=[]
        )


def test_legacy_rows_only_where_the_schema_has_no_handlers() -> None:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # noqa: PLC0415

    for resource_type, actions in LEGACY_HANDLERS.items():
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
        assert not schema.get("handlers"), f"{resource_type}: use the schema's handlers"
        assert all(describe(a) is not None for a in actions)


def test_scopes_name_real_iam_resource_types() -> None:
    for (service, resource_type), scope in launch_role.scopes("sm-x").items():
        assert launch_role.arns(service, resource_type, scope), (service, resource_type)


def test_names_outside_the_scopes_are_reported(published: Published) -> None:
    product = copy.deepcopy(published.product)
    resources = product["Resources"]
    role = next(r for r in resources.values() if r["Type"] == "AWS::IAM::Role")
    role["Properties"]["RoleName"] = "my-project-role"
    ecr = next(r for r in resources.values() if r["Type"] == "AWS::ECR::Repository")
    ecr["Properties"]["RepositoryName"] = {
        "Fn::Join": ["", ["ml-", {"Ref": "SageMakerProjectName"}]]
    }
    schedule = next(r for r in resources.values() if r["Type"] == "AWS::Scheduler::Schedule")
    schedule["Properties"]["GroupName"] = "mlops"
    problems = " | ".join(launch_role_problems(product, published.catalog, published.region))
    assert "(AWS::IAM::Role) sets RoleName" in problems
    assert "(AWS::ECR::Repository): RepositoryName must start with sagemaker-" in problems
    assert "schedules in the default group only" in problems


def test_a_codecommit_product_gets_no_pass_connection() -> None:
    """CodePipeline's handlers call PassConnection for a CodeConnections source; a product without
    the connection parameter (CodeCommit) has none to pass, so it is dropped, with its reason (it
    also keeps the large CodeCommit launch role under IAM's inline policy quota)."""
    pipeline = ["AWS::CodePipeline::Pipeline"]
    with_connection = launch_role.derive(pipeline, asset_bucket="sm-x", passed_to_services=[])
    without = launch_role.derive(
        pipeline, asset_bucket="sm-x", passed_to_services=[], takes_connection=False
    )
    passes = {"codestar-connections:PassConnection", "codeconnections:PassConnection"}
    granted = {a for actions in with_connection.scoped.values() for a in actions}
    assert passes <= granted
    assert not passes & {a for actions in without.scoped.values() for a in actions}
    assert {without.dropped[a] for a in passes} == {
        "the product's pipelines take no connection (CodeCommit source)"
    }
