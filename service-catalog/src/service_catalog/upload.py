"""The S3 route's two API calls that CloudFormation cannot make: put the template object with the
Studio visibility tag, and tag the Studio domain with the templates' location."""

from __future__ import annotations

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from service_catalog.answers import PublishError
from service_catalog.studio import DOMAIN_TEMPLATES_TAG, TEMPLATE_PREFIX, StudioTemplate


def upload(template: StudioTemplate, bucket: str, domain_id: str, region: str | None) -> str:
    """Upload ``template`` to ``bucket`` and point ``domain_id`` at it; returns the object's URI."""
    try:
        return _upload(template, bucket, domain_id, region)
    except (BotoCoreError, ClientError) as error:
        raise PublishError(f"upload to s3://{bucket} / domain {domain_id}: {error}") from error


def _upload(template: StudioTemplate, bucket: str, domain_id: str, region: str | None) -> str:
    session = boto3.session.Session(region_name=region)
    s3 = session.client("s3")
    s3.put_object(
        Bucket=bucket,
        Key=template.key,
        Body=template.file.read_bytes(),
        ContentType="application/x-yaml",
        Tagging=template.tagging(),
        Metadata={"template-version": template.version},
    )
    sagemaker = session.client("sagemaker")
    domain_arn = sagemaker.describe_domain(DomainId=domain_id)["DomainArn"]
    sagemaker.add_tags(
        ResourceArn=domain_arn,
        Tags=[{"Key": DOMAIN_TEMPLATES_TAG, "Value": f"s3://{bucket}/{TEMPLATE_PREFIX}"}],
    )
    return f"s3://{bucket}/{template.key}"
