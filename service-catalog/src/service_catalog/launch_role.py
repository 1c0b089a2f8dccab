"""The role that creates a project's resources, derived from the product template.

SageMaker's default ``AmazonSageMakerServiceCatalogProductsLaunchRole`` cannot launch this product:
its managed policy (AmazonSageMakerAdmin-ServiceCatalogProductsServiceRolePolicy) may only *pass*
``AmazonSageMakerServiceCatalog*`` roles, never create one, and has no KMS, SNS, Scheduler or model
package group permissions; its CodeBuild, CodePipeline, EventBridge and S3 grants cover only
``sagemaker-*`` names. So the catalog stack creates this role (its LaunchRoleName parameter may
name an existing role instead).

Derivation: for every resource type in the product stack, the actions its CloudFormation handlers
call (:mod:`service_catalog.permissions`), each scoped to the IAM resource type it acts on with the
names the product gives those resources (:func:`scopes`). Actions IAM cannot scope get ``*``; actions on
resource types the product never creates are dropped (``OUT_OF_SCOPE``). A resource type or action
neither table decides fails the synth, so a new resource in the project's infra is never launched
by a role that was not checked for it."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Acknowledgment, Aws, CfnParameter, CfnResource, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct
from project_infra.nag import render

from service_catalog.permissions import (
    Action,
    PermissionsError,
    arn_format,
    describe,
    handler_actions,
)

# Service Catalog names the stacks it provisions SC-<account>-pp-<id>; SageMaker Projects' S3 route
# names them SP-<...>. CloudFormation names what a template leaves unnamed <stack name>-<logical
# id>-<suffix>, so both prefixes carry over to the project's roles, buckets, topics, rules and
# functions (S3 lowercases bucket names).
STACK_PREFIXES = ("SC-", "SP-")
GENERATED = tuple(f"{prefix}*" for prefix in STACK_PREFIXES)
GENERATED_LOWER = tuple(name.lower() for name in GENERATED)
BY_STACK_NAME = "names CloudFormation generates from the provisioned stack's name (SC-/SP-)"


@dataclass(frozen=True)
class Scope:
    """Where the launch role may use the actions that take one IAM resource type: ``fixed`` fills
    placeholders of IAM's ARN format by name, ``names`` the first one left, ``*`` the rest."""

    names: tuple[str, ...]
    reason: str
    fixed: Mapping[str, str] = field(default_factory=dict)
    access_levels: frozenset[str] | None = None  # None: any access level
    conditions: Mapping[str, Any] | None = None


def scopes(asset_bucket: str) -> dict[tuple[str, str], Scope]:
    """(service, IAM resource type) -> Scope, for the resources the product creates or reads."""
    any_name = "the name comes from the SageMaker project at launch"
    return {
        ("iam", "role"): Scope(GENERATED, f"the project's roles: {BY_STACK_NAME}"),
        ("s3", "bucket"): Scope(GENERATED_LOWER, f"the project's buckets: {BY_STACK_NAME}"),
        ("s3", "object"): Scope(
            ("*",),
            "the product's assets (CodeCommit seed code), read only",
            fixed={"BucketName": asset_bucket},
            access_levels=frozenset({"Read"}),
        ),
        ("sns", "topic"): Scope(GENERATED, f"the project's topic: {BY_STACK_NAME}"),
        ("events", "rule-on-default-event-bus"): Scope(
            GENERATED, f"the project's rules: {BY_STACK_NAME}"
        ),
        ("lambda", "function"): Scope(
            GENERATED, f"CDK's custom-resource functions: {BY_STACK_NAME}"
        ),
        ("cloudformation", "stack"): Scope(
            GENERATED, "the stacks Service Catalog or SageMaker Projects provision (SC-/SP-)"
        ),
        ("kms", "key"): Scope(("*",), "the project's key: key ids are random"),
        ("ecr", "repository"): Scope(("sagemaker-*",), f"sagemaker-<project>: {any_name}"),
        ("codecommit", "repository"): Scope(
            ("sagemaker-*",), f"sagemaker-<project>-<id>: {any_name}"
        ),
        ("codepipeline", "pipeline"): Scope(("*",), f"<project>-<id>-build|deploy: {any_name}"),
        ("codepipeline", "stage"): Scope(
            ("*",), f"stages of <project>-<id>-build|deploy: {any_name}"
        ),
        ("codebuild", "project"): Scope(
            ("*",), "CloudFormation names CodeBuild projects after their logical id only"
        ),
        ("sagemaker", "model-package-group"): Scope(("*",), f"<project>-<id>: {any_name}"),
        ("sagemaker", "mlflow-app"): Scope(
            ("*",), "the MLflow App (medium, large): its ARN holds an id SageMaker generates"
        ),
        ("scheduler", "schedule"): Scope(
            ("*",),
            "schedules of the default group, named by CloudFormation",
            fixed={"GroupName": "default"},
        ),
        ("cloudwatch", "alarm"): Scope(("*",), f"the project's alarms: {any_name}"),
        ("codestar-connections", "Connection"): Scope(
            ("*",),
            "the connection is a launch parameter; passed to CodePipeline only",
            conditions={
                "StringEquals": {
                    "codestar-connections:PassedToService": "codepipeline.amazonaws.com"
                }
            },
        ),
        ("codeconnections", "Connection"): Scope(
            ("*",),
            "the connection is a launch parameter; passed to CodePipeline only",
            conditions={
                "StringEquals": {"codeconnections:PassedToService": "codepipeline.amazonaws.com"}
            },
        ),
        **ec2_scopes(),
    }


# The jobs' own VPC (a large project's project_infra.network): EC2 resource types the handlers of
# AWS::EC2::VPC, Subnet, RouteTable, SubnetRouteTableAssociation, SecurityGroup(Ingress|Egress),
# VPCEndpoint and FlowLog act on, as IAM's reference lists them ("Actions, resources, and condition
# keys for Amazon EC2": https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html).
# Scoped to the type's ARNs in this account and Region, without conditions:
# - names cannot scope them: EC2 assigns random ids (vpc-0abc...), the template names none;
# - tag conditions (aws:RequestTag/Project on the create calls, ec2:ResourceTag/Project on the later
#   ones) would need CloudFormation's EC2 handlers to pass the stack's tags in the create call itself
#   (TagSpecifications) rather than tag afterwards, and no AWS page says which they do; the
#   aws:cloudformation:* stack tags "vary by resource type" in how they propagate
#   (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-resource-tags.html).
#   A tag condition that the handler's call does not meet fails the launch;
# - ec2:Vpc (ArnEquals) needs the VPC's id, which exists only after the launch, and ec2:CreateAction
#   on CreateTags would deny the handlers' own CreateTags when a tag changes on update.
# Only these EC2 types are granted: CreateTags/DeleteTags/CreateFlowLogs reach no instance, volume,
# network interface or gateway of the account.
EC2_TYPES = {
    "vpc": "the jobs' VPC",
    "subnet": "the jobs' private isolated subnets",
    "route-table": "the subnets' route tables (and the S3 gateway endpoint's routes)",
    "security-group": "the jobs' and the interface endpoints' security groups",
    "security-group-rule": "the rules between the jobs and the endpoints",
    "vpc-endpoint": "the S3 gateway and the interface endpoints",
    "vpc-flow-log": "the VPC's flow log (to the access-log bucket)",
}
EC2_RANDOM_IDS = (
    "EC2 ids are random and no tag condition is provable for CloudFormation's EC2 handlers, "
    "so any of this account and Region"
)


def ec2_scopes() -> dict[tuple[str, str], Scope]:
    """(ec2|vpce, type) -> Scope for the jobs' VPC (see EC2_TYPES)."""
    table = {
        ("ec2", kind): Scope(("*",), f"{what}: {EC2_RANDOM_IDS}")
        for kind, what in EC2_TYPES.items()
    }
    # vpce:AllowMultiRegion (AWS::EC2::VPCEndpoint's handlers): a permission-only action for
    # multi-Region endpoints (https://docs.aws.amazon.com/service-authorization/latest/reference/list_vpce.html).
    # No page says when IAM evaluates it, so it is granted on the endpoints like the ec2 actions
    # rather than dropped: alone it creates nothing.
    table[("vpce", "vpc-endpoint")] = Scope(
        ("*",), f"{EC2_TYPES['vpc-endpoint']} (cross-Region permission): {EC2_RANDOM_IDS}"
    )
    return table


# IAM resource types the product never creates or touches: actions on them only are dropped.
OUT_OF_SCOPE: dict[tuple[str, str], str] = {
    ("iam", "user"): "the product creates IAM roles only",
    ("iam", "group"): "the product creates IAM roles only",
    ("cloudformation", "stackset"): "no stack sets",
    ("s3", "accesspointobject"): "no S3 access points",
    ("lambda", "code signing config"): "no code signing configurations",
    ("lambda", "layerVersion"): "no Lambda layers",
    ("lambda", "capacityProvider"): "no Lambda capacity providers",
}
OUT_OF_SCOPE_SERVICES: dict[str, str] = {
    "s3tables": "no S3 table buckets",
    "elasticfilesystem": "no file systems (Lambda functions without EFS)",
    "s3files": "no file systems (Lambda functions without EFS)",
}
# The calls that provision the stack itself (Service Catalog launch-constraint role requirements,
# and what SageMaker's own launch policy grants for its products).
PROVISIONING_ACTIONS = (
    "cloudformation:CreateStack",
    "cloudformation:UpdateStack",
    "cloudformation:DeleteStack",
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:SetStackPolicy",
    "cloudformation:TagResource",
    "cloudformation:UntagResource",
    "cloudformation:GetTemplateSummary",
    "cloudformation:ValidateTemplate",
)
# Actions IAM lets scope to a resource that are called without one here.
CALLED_WITHOUT_RESOURCE = {
    "cloudformation:GetTemplateSummary": "called with a template URL, not a stack",
}


def service_catalog_artifacts() -> iam.PolicyStatement:
    """Service Catalog hands CloudFormation the product template from a bucket it owns and tags."""
    return iam.PolicyStatement(
        actions=["s3:GetObject"],
        resources=["*"],
        conditions={"StringEquals": {"s3:ExistingObjectTag/servicecatalog:provisioning": "true"}},
    )


SERVICE_CATALOG_ARTIFACTS_REASON = (
    "Service Catalog's own template artifacts: any bucket, but only objects it tagged "
    "servicecatalog:provisioning=true (Service Catalog launch role requirement)"
)
# Service Catalog assumes the role of a launch constraint; CloudFormation the RoleARN of a stack
# (CreateProject's CfnTemplateProvider RoleARN: "The IAM role that CloudFormation assumes when creating
# the stack", https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CfnCreateTemplateProvider.html).
# The S3 route also has the Studio execution role trust it, as AWS's S3-template sample sets the
# launch role up (s3_templates/mlops-github-actions/iam/sagemaker-projects-roles-and-policies.yaml in
# https://github.com/aws-samples/sagemaker-custom-project-templates): no AWS page says which
# principal SageMaker uses on that route, so the role trusts every one the sample does.
PRINCIPALS = ("servicecatalog.amazonaws.com", "cloudformation.amazonaws.com")


def arns(service: str, resource_type: str, scope: Scope) -> list[str]:
    """The scope's ARNs in IAM's ARN format for the resource type (pseudo parameters as tokens)."""
    template = arn_format(service, resource_type)
    template = (
        template.replace("${Partition}", Aws.PARTITION)
        .replace("${Region}", Aws.REGION)
        .replace("${Account}", Aws.ACCOUNT_ID)
    )
    for placeholder, value in scope.fixed.items():
        template = template.replace(f"${{{placeholder}}}", value)
    placeholders = re.findall(r"\$\{(\w+)\}", template)
    result = []
    for name in scope.names:
        arn = template
        for index, placeholder in enumerate(placeholders):
            arn = arn.replace(f"${{{placeholder}}}", name if index == 0 else "*")
        result.append(arn)
    return result


@dataclass
class Grants:
    """The derived policy: actions by (resources, conditions), unscoped actions, dropped actions."""

    scoped: dict[tuple[tuple[str, ...], str], set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )
    unscoped: dict[str, str] = field(default_factory=dict)  # action -> reason
    dropped: dict[str, str] = field(default_factory=dict)  # action -> reason
    reasons: dict[str, str] = field(default_factory=dict)  # wildcard ARN -> reason

    def statements(self) -> list[iam.PolicyStatement]:
        result = []
        for (resources, conditions), actions in sorted(self.scoped.items()):
            result.append(
                iam.PolicyStatement(
                    actions=sorted(actions),
                    resources=list(resources),
                    conditions=json.loads(conditions) or None,
                )
            )
        if self.unscoped:
            result.append(iam.PolicyStatement(actions=sorted(self.unscoped), resources=["*"]))
        return result


def _wanted(resource_types: Iterable[str], problems: list[str]) -> dict[str, str]:
    """Action -> the resource type (or "provisioning") that needs it."""
    wanted = dict.fromkeys(PROVISIONING_ACTIONS, "provisioning")
    for resource_type in sorted(set(resource_types)):
        try:
            for action in handler_actions(resource_type):
                wanted.setdefault(action, resource_type)
        except PermissionsError as error:
            problems.append(str(error))
    return wanted


def _usable(action: Action, table: Mapping[tuple[str, str], Scope]) -> list[tuple[str, str]]:
    """The scoped IAM resource types the action may act on here."""
    return [
        key
        for key in ((action.service, r) for r in action.resource_types)
        if key in table
        and (table[key].access_levels is None or action.access_level in table[key].access_levels)
    ]


def _drop_reason(action: Action, table: Mapping[tuple[str, str], Scope]) -> str | None:
    """Why an action with no usable scope is not needed, or None when nothing decides it."""
    reasons = []
    for key in ((action.service, r) for r in action.resource_types):
        reason = OUT_OF_SCOPE.get(key) or OUT_OF_SCOPE_SERVICES.get(key[0])
        if reason is None and key in table:
            reason = f"{table[key].reason} ({action.access_level} access not needed)"
        if reason is None:
            return None
        reasons.append(reason)
    return "; ".join(sorted(set(reasons)))


# The product's parameter for a CodeConnections source; without it (CodeCommit) the pipelines pass
# no connection, so CodePipeline's PassConnection permissions are not granted.
CONNECTION_PARAMETER = "CodeConnectionArn"
CONNECTION_SERVICES = ("codestar-connections", "codeconnections")


def derive(
    resource_types: Iterable[str],
    *,
    asset_bucket: str,
    passed_to_services: Iterable[str],
    takes_connection: bool = True,
) -> Grants:
    """The launch role's grants for a product template holding ``resource_types``;
    ``takes_connection``: whether it has the CONNECTION_PARAMETER."""
    table = scopes(asset_bucket)
    pass_role = {"StringEquals": {"iam:PassedToService": sorted(set(passed_to_services))}}
    grants = Grants()
    problems: list[str] = []
    for name, source in sorted(_wanted(resource_types, problems).items()):
        action = describe(name)
        if action is None:
            grants.dropped[name] = "not an action in IAM's service authorization reference"
        elif not takes_connection and action.service in CONNECTION_SERVICES:
            grants.dropped[name] = "the product's pipelines take no connection (CodeCommit source)"
        elif not action.resource_types or name in CALLED_WITHOUT_RESOURCE:
            grants.unscoped[name] = CALLED_WITHOUT_RESOURCE.get(
                name, "no resource-level permissions in IAM"
            )
        elif usable := _usable(action, table):
            for key in usable:
                scope = table[key]
                conditions = pass_role if name == "iam:PassRole" else scope.conditions
                resources = tuple(arns(*key, scope))
                grants.scoped[(resources, json.dumps(conditions or {}, sort_keys=True))].add(name)
                grants.reasons.update({arn: scope.reason for arn in resources if "*" in arn})
        elif reason := _drop_reason(action, table):
            grants.dropped[name] = reason
        else:
            types = ", ".join(f"{action.service}:{r}" for r in action.resource_types)
            problems.append(
                f"{source}: {name} acts on {types}: add a row to launch_role.scopes() or "
                "OUT_OF_SCOPE"
            )
    if problems:
        raise PermissionsError("launch role: " + "; ".join(problems))
    return grants


def resource_types(stack: Stack) -> set[str]:
    """CloudFormation resource types in ``stack`` (not in stacks nested below it)."""
    return {
        node.cfn_resource_type
        for node in stack.node.find_all()
        if isinstance(node, CfnResource) and Stack.of(node) is stack
    }


def parameter_names(stack: Stack) -> set[str]:
    """The logical ids of the stack's parameters."""
    return {
        stack.resolve(node.logical_id)
        for node in stack.node.find_all()
        if isinstance(node, CfnParameter) and Stack.of(node) is stack
    }


def passed_to_services(stack: Stack) -> set[str]:
    """Services the stack's roles trust: the only ones CloudFormation passes those roles to."""
    services: set[str] = set()
    for node in stack.node.find_all():
        if isinstance(node, iam.CfnRole) and Stack.of(node) is stack:
            document = stack.resolve(node.assume_role_policy_document)
            for statement in document.get("Statement", []):
                service = statement.get("Principal", {}).get("Service", [])
                services.update(service if isinstance(service, list) else [service])
    return {s for s in services if isinstance(s, str)}


class LaunchRole(Construct):
    """The role Service Catalog (launch constraint) and CloudFormation (S3 route) create a
    project's resources with; trusted by both services and the Studio execution role (S3 route). Always created (conditional resources make every reference to them
    conditional); the catalog's LaunchRoleName parameter decides whether the constraint uses it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        product: Stack,
        asset_bucket: str,
        studio_role_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.grants = derive(
            resource_types(product),
            asset_bucket=asset_bucket,
            passed_to_services=passed_to_services(product),
            takes_connection=CONNECTION_PARAMETER in parameter_names(product),
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.CompositePrincipal(
                *(iam.ServicePrincipal(p) for p in PRINCIPALS), iam.ArnPrincipal(studio_role_arn)
            ),
            description="Creates the resources of a SageMaker project from this template "
            "(Service Catalog launch constraint, or the S3 route's RoleARN)",
        )
        self.policy = iam.Policy(
            self,
            "Policy",
            statements=[*self.grants.statements(), service_catalog_artifacts()],
            roles=[self.role],
        )
        self._acknowledge()

    def _acknowledge(self) -> None:
        """cdk-nag IAM5: one acknowledgment per wildcard, with the reason its scope gives."""
        policy = self.policy.node.default_child
        assert isinstance(policy, CfnResource)
        stack = Stack.of(self)
        unscoped = ", ".join(sorted(self.grants.unscoped))
        for arn, reason in self.grants.reasons.items():
            finding = f"AwsSolutions-IAM5[Resource::{render(stack.resolve(arn))}]"
            Validations.of(policy).acknowledge(Acknowledgment(id=finding, reason=reason))
        Validations.of(policy).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason=f"{SERVICE_CATALOG_ARTIFACTS_REASON}; and actions IAM cannot scope to a "
                f"resource: {unscoped}",
            )
        )
