"""cdk-nag AwsSolutions findings the catalog stack accepts, each with its reason; the product stack
uses project_infra.nag, as a hand-deployed project does. Anything else fails the synth."""

from __future__ import annotations

import re
from typing import Any

import jsii
from aws_cdk import Acknowledgment, IAspect, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_servicecatalog as servicecatalog
from constructs import IConstruct
from project_infra.nag import render

# BucketDeployment copies a product's assets (CodeCommit seed zip) into the asset bucket.
LAMBDA_BASIC_POLICY = (
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSLambdaBasicExecutionRole]"
)
# (finding pattern, reason) of the copy's IAM5 wildcards; any other wildcard fails the synth.
DEPLOYMENT_WILDCARDS: tuple[tuple[str, str], ...] = (
    (
        r"Action::s3:(GetObject|GetBucket|List|DeleteObject|Abort)\*",
        "S3 action families from CDK's BucketDeployment grants, on the asset buckets only",
    ),
    (
        r"Resource::arn:<AWS::Partition>:s3:::sm-[a-z0-9-]+-<AWS::AccountId>-<AWS::Region>/\*",
        "objects of the product asset bucket, which BucketDeployment writes",
    ),
)


def acknowledge_log_bucket(bucket: s3.IBucket) -> None:
    Validations.of(bucket).acknowledge(
        Acknowledgment(
            id="AwsSolutions-S1",
            reason="This is the access-log bucket of the other buckets; logging it to itself "
            "would loop.",
        )
    )


S3_ROUTE_STACKS = (
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:"
    "<AWS::AccountId>:stack/SP-*/*]"
)


def acknowledge_project_stacks(policy: iam.ManagedPolicy) -> None:
    Validations.of(policy).acknowledge(
        Acknowledgment(
            id=S3_ROUTE_STACKS,
            reason="the stacks SageMaker Projects creates for S3-route projects: named SP-<id>, "
            "the suffix is the stack id CloudFormation assigns",
        )
    )


@jsii.implements(IAspect)
class AssetDeploymentFindings:
    """Acknowledges the findings of CDK's asset-copy function (present only with assets). An
    aspect, because the product stack adds the copy's grants while it synthesizes."""

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, Stack) and not isinstance(node, servicecatalog.ProductStack):
            acknowledge_asset_deployment(node)


# The copy's source: CDK's bootstrap asset bucket, which a product stack never references.
BOOTSTRAP_ASSETS_FINDING = (
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-"
    "<AWS::AccountId>-<AWS::Region>/*]"
)


def acknowledge_asset_deployment(scope: IConstruct) -> None:
    stack = Stack.of(scope)
    # Granted after aspects run, so acknowledged on the stack, by its exact finding id.
    Validations.of(stack).acknowledge(
        Acknowledgment(
            id=BOOTSTRAP_ASSETS_FINDING,
            reason="CDK's BucketDeployment reads the staged asset zips from the CDK bootstrap "
            "asset bucket (objects only)",
        )
    )
    for construct in scope.node.find_all():
        if "BucketDeployment" not in construct.node.path:
            continue
        if isinstance(construct, lambda_.CfnFunction):
            Validations.of(construct).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-L1",
                    reason="CDK's BucketDeployment function: aws-cdk-lib pins its runtime",
                )
            )
        elif isinstance(construct, iam.CfnRole):
            Validations.of(construct).acknowledge(
                Acknowledgment(
                    id=LAMBDA_BASIC_POLICY,
                    reason="CDK's BucketDeployment function: the managed policy only writes its "
                    "own CloudWatch logs",
                )
            )
        elif isinstance(construct, iam.CfnPolicy):
            for finding, reason in accepted_wildcards(stack, construct).items():
                Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def accepted_wildcards(stack: Stack, construct: iam.CfnPolicy) -> dict[str, str]:
    """IAM5 finding id -> reason for the wildcards of ``construct`` that DEPLOYMENT_WILDCARDS accepts."""
    accepted = {}
    for statement in stack.resolve(construct.policy_document).get("Statement", []):
        actions = [f"Action::{render(a)}" for a in _as_list(statement.get("Action", []))]
        resources = [f"Resource::{render(r)}" for r in _as_list(statement.get("Resource", []))]
        for finding in actions + resources:
            for pattern, reason in DEPLOYMENT_WILDCARDS:
                if "*" in finding and re.fullmatch(pattern, finding):
                    accepted[f"AwsSolutions-IAM5[{finding}]"] = reason
    return accepted
