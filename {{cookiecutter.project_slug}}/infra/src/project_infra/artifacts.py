"""What the pipelines share: the KMS key, the artifact bucket (and its access-log bucket), the ECR
repository, the model package group and the failure topic. In the multi-account layout the staging
and prod accounts get read access to each, and nothing more."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from project_infra.buckets import access_log_bucket, secure_bucket
from project_infra.settings import Settings
from project_names import Names

KEEP_TAGGED_IMAGES = 50  # the newest images stay; older ones expire
UNTAGGED_IMAGE_DAYS = 7


@dataclass(frozen=True)
class Artifacts:
    key: kms.Key
    bucket: s3.Bucket
    repository: ecr.Repository
    model_package_group: sagemaker.CfnModelPackageGroup
    topic: sns.Topic
    access_logs: s3.Bucket  # the artifact bucket's server access logs (and the job VPC's flow logs)


def target_accounts(settings: Settings) -> list[str]:
    """Accounts outside the tooling account that deploy endpoints (multi layout only)."""
    if settings.account_layout != "multi":
        return []
    return sorted({settings.staging_account, settings.prod_account})


def _account_principals(accounts: list[str]) -> list[iam.IPrincipal]:
    return [iam.AccountPrincipal(account) for account in accounts]


def create(scope: Construct, settings: Settings, names: Names) -> Artifacts:
    accounts = target_accounts(settings)
    key = kms.Key(
        scope,
        "Key",
        description=f"Artifacts, images and notifications of SageMaker project {names.slug}",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.RETAIN,
    )
    # EventBridge publishes failures to the encrypted topic.
    key.grant(iam.ServicePrincipal("events.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
    if accounts:
        # Target accounts read model and pipeline artifacts (endpoint.yml, stage configs) and their
        # endpoints write data capture into the bucket, which encrypts with this key.
        key.grant(
            iam.CompositePrincipal(*_account_principals(accounts)),
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:GenerateDataKey",
        )

    access_logs = access_log_bucket(scope)
    bucket = secure_bucket(
        scope,
        "ArtifactBucket",
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix="artifact-bucket/",
        # The stage accounts' endpoints write data capture here: this account owns what they write
        # (S3's default for new buckets, stated so no account default or later edit changes it).
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    )
    # S3 -> EventBridge (new training data starts retraining). Set on the bucket itself: the L2's
    # event_bridge_enabled adds a Lambda-backed custom resource, which a Studio product avoids.
    cast(s3.CfnBucket, bucket.node.default_child).add_property_override(
        "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
    )
    if accounts:
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="TargetAccountsReadArtifacts",
                principals=_account_principals(accounts),
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[bucket.arn_for_objects("*")],
            )
        )
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="TargetAccountsWriteDataCapture",
                principals=_account_principals(accounts),
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects("data-capture/*")],
            )
        )

    repository = ecr.Repository(
        scope,
        "Repository",
        repository_name=names.ecr_repository,
        image_tag_mutability=ecr.TagMutability.IMMUTABLE,
        image_scan_on_push=True,
        encryption=ecr.RepositoryEncryption.KMS,
        encryption_key=key,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[
            ecr.LifecycleRule(
                description="Expire untagged images (layers of interrupted pushes)",
                tag_status=ecr.TagStatus.UNTAGGED,
                max_image_age=Duration.days(UNTAGGED_IMAGE_DAYS),
            ),
            ecr.LifecycleRule(
                description=f"Keep the newest {KEEP_TAGGED_IMAGES} images",
                tag_status=ecr.TagStatus.ANY,
                max_image_count=KEEP_TAGGED_IMAGES,
            ),
        ],
    )
    if accounts:
        repository.add_to_resource_policy(
            iam.PolicyStatement(
                sid="TargetAccountsPullImages",
                principals=_account_principals(accounts),
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            )
        )

    group = sagemaker.CfnModelPackageGroup(
        scope,
        "ModelPackageGroup",
        model_package_group_name=names.model_package_group,
        model_package_group_description=f"Models of SageMaker project {names.slug}",
    )
    if accounts:
        group.model_package_group_policy = _group_policy(names, accounts)
    group.apply_removal_policy(RemovalPolicy.RETAIN)  # registered models outlive the CI/CD stack

    topic = sns.Topic(
        scope,
        "Notifications",
        display_name=f"{names.slug} pipeline notifications",
        master_key=key,
        enforce_ssl=True,
    )
    if settings.notification_email:
        topic.add_subscription(subscriptions.EmailSubscription(settings.notification_email))
    return Artifacts(key, bucket, repository, group, topic, access_logs)


def _group_policy(names: Names, accounts: list[str]) -> dict[str, object]:
    """Lets the target accounts find and read the approved packages they deploy."""
    arn = f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TargetAccountsReadModels",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:{Aws.PARTITION}:iam::{a}:root" for a in accounts]},
                "Action": [
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:ListModelPackages",
                ],
                "Resource": [
                    f"{arn}:model-package-group/{names.model_package_group}",
                    f"{arn}:model-package/{names.model_package_group}/*",
                ],
            }
        ],
    }
