"""ARNs of the project's SageMaker resources, for IAM policies (names as SageMaker writes them)."""

from __future__ import annotations

from aws_cdk import Aws, Fn

from project_infra.parameters import PROJECT_NAME
from project_names import Names


def sagemaker(resource: str, account: str = Aws.ACCOUNT_ID) -> str:
    return f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{account}:{resource}"


def bootstrap_role(account: str, suffix: str) -> str:
    """Role ``<project name>-<suffix>`` that ``bootstrap/target-account.yml`` creates in ``account``.
    Fn::Sub, not Fn::Join: cfn-lint (E3703) asks for it where CodePipeline takes a role ARN."""
    return Fn.sub(f"arn:${{AWS::Partition}}:iam::{account}:role/${{{PROJECT_NAME}}}-{suffix}")


def model_package_group(names: Names) -> str:
    return sagemaker(f"model-package-group/{names.model_package_group}")


def model_packages(names: Names) -> str:
    return sagemaker(f"model-package/{names.model_package_group}/*")


def pipeline(name: str) -> str:
    return sagemaker(f"pipeline/{name}")


def build_pipeline(names: Names) -> str:
    return pipeline(names.build_pipeline)


def monitoring_pipeline(names: Names) -> str:
    return pipeline(names.monitoring_pipeline)


def batch_pipeline(names: Names) -> str:
    return pipeline(names.batch_pipeline)


def alarm(name: str) -> str:
    return f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:{name}"


def endpoint(names: Names, stage: str, account: str = Aws.ACCOUNT_ID) -> str:
    return sagemaker(f"endpoint/{names.endpoint(stage)}", account)
