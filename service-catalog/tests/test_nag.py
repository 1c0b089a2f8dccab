"""The catalog stack accepts only the asset-copy wildcards it names; anything broader stays a finding."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from service_catalog.nag import accepted_wildcards


def policy(resources: list[str], actions: list[str]) -> tuple[cdk.Stack, iam.CfnPolicy]:
    stack = cdk.Stack(cdk.App(), "S")
    document = iam.PolicyDocument(
        statements=[iam.PolicyStatement(actions=actions, resources=resources)]
    )
    return stack, iam.CfnPolicy(stack, "P", policy_document=document, policy_name="p", roles=["r"])


def test_asset_bucket_objects_and_s3_families_are_accepted() -> None:
    objects = f"arn:{cdk.Aws.PARTITION}:s3:::sm-demo-{cdk.Aws.ACCOUNT_ID}-{cdk.Aws.REGION}/*"
    stack, construct = policy([objects], ["s3:GetObject*", "s3:List*"])
    assert set(accepted_wildcards(stack, construct)) == {
        "AwsSolutions-IAM5[Action::s3:GetObject*]",
        "AwsSolutions-IAM5[Action::s3:List*]",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::sm-demo-<AWS::AccountId>-"
        "<AWS::Region>/*]",
    }


def test_broader_wildcards_stay_findings() -> None:
    stack, construct = policy(["*", "arn:aws:s3:::other-bucket/*"], ["s3:*", "iam:Pass*"])
    assert accepted_wildcards(stack, construct) == {}
