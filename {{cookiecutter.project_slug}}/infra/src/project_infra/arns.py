"""ARNs of the project's SageMaker resources, for IAM policies and rule targets.

SageMaker writes resource names lowercased into its ARNs, and IAM compares ARNs case-sensitively, so
every name here goes through :meth:`project_names.Names.in_arn` (for a Studio project named
``Churn-Model2`` the pipeline's ARN ends ``pipeline/churn-model2-p-...-model-build``).
"""

from __future__ import annotations

from aws_cdk import Aws, Fn

from project_infra.parameters import PROJECT_NAME
from project_names import Names


def sagemaker(resource: str, account: str = Aws.ACCOUNT_ID) -> str:
    return f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{account}:{resource}"


def bootstrap_role(names: Names, account: str, suffix: str) -> str:
    """Role ``<project name>-<suffix>`` that ``bootstrap/target-account.yml`` creates in ``account``,
    named after the lower-case project name (its ProjectName parameter allows only that).
    Fn::Sub, not Fn::Join: cfn-lint (E3703) asks for it where CodePipeline takes a role ARN."""
    return Fn.sub(
        f"arn:${{AWS::Partition}}:iam::{account}:role/${{{PROJECT_NAME}}}-{suffix}",
        {PROJECT_NAME: names.lowercase},
    )


def model_package_group(names: Names) -> str:
    return sagemaker(f"model-package-group/{names.in_arn(names.model_package_group)}")


def model_packages(names: Names) -> str:
    return sagemaker(f"model-package/{names.in_arn(names.model_package_group)}/*")


def pipeline(names: Names, name: str) -> str:
    """``name``: one of the project's pipeline names (``names.build_pipeline`` ...)."""
    return sagemaker(f"pipeline/{names.in_arn(name)}")


def build_pipeline(names: Names) -> str:
    return pipeline(names, names.build_pipeline)


def monitoring_pipeline(names: Names) -> str:
    return pipeline(names, names.monitoring_pipeline)


def batch_pipeline(names: Names) -> str:
    return pipeline(names, names.batch_pipeline)


def alarm(name: str) -> str:  # CloudWatch keeps an alarm name's case in its ARN
    return f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:{name}"


def endpoint(names: Names, stage: str, account: str = Aws.ACCOUNT_ID) -> str:
    return sagemaker(f"endpoint/{names.endpoint(stage)}", account)  # lowercase already


def logs(log_group: str, account: str = Aws.ACCOUNT_ID) -> str:
    """A CloudWatch Logs log group (a pattern with "*") in the tooling account's region."""
    return f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{account}:log-group:{log_group}"


def api_log_group(names: Names, stage: str) -> str:
    """The stage API handler's log group (endpoint.yml: /aws/lambda/<function name>)."""
    return logs(f"/aws/lambda/{names.endpoint(stage)}-api")


def deploy_stack(names: Names, stage: str) -> str:
    """A stage's endpoint stack in this (the tooling) account: any of its stack ids."""
    return (
        f"arn:{Aws.PARTITION}:cloudformation:{Aws.REGION}:{Aws.ACCOUNT_ID}:"
        f"stack/{names.deploy_stack(stage)}/*"
    )
