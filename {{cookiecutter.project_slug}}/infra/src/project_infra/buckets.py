"""S3 buckets as every stack of the project makes them: private, TLS only, versioned, kept on delete."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

LOG_DAYS = 365  # how long S3 server access logs are kept


def secure_bucket(scope: Construct, construct_id: str, **properties: Any) -> s3.Bucket:
    """A bucket that blocks public access, refuses plain HTTP, keeps versions and outlives its stack.

    ``properties``: the rest (encryption, access logging, name), as ``s3.Bucket`` takes them.
    """
    properties.setdefault("encryption", s3.BucketEncryption.S3_MANAGED)
    return s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        removal_policy=RemovalPolicy.RETAIN,
        **properties,
    )


def access_log_bucket(scope: Construct, construct_id: str = "AccessLogs") -> s3.Bucket:
    """Where the other buckets' server access logs go (S3-managed keys: the only encryption S3
    server access logging accepts), expired after LOG_DAYS."""
    return secure_bucket(
        scope,
        construct_id,
        lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(LOG_DAYS))],
    )
