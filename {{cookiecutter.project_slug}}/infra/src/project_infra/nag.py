"""cdk-nag AwsSolutions findings this design accepts, each with the reason it is safe; any other
finding fails the synth.

IAM5 (wildcards) reports one finding per wildcard action or resource, named as cdk-nag renders it
(``Resource::arn:<AWS::Partition>:...<ProjectName.Lowercase>-*``: the lower-case project name,
``Fn::GetAtt [ProjectName, Lowercase]``). :func:`acknowledge_wildcards`
renders every policy statement the same way and acknowledges a wildcard only when it matches a row
of ``WILDCARDS``; ``Resource::*`` only when every action it grants is in ``UNSCOPABLE_ACTIONS``."""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from constructs import IConstruct

OBJECTS = "objects of the project's own artifact bucket"
STAGE_RESOURCES = "resources the stage stacks create, all named after the project"
# (finding pattern, reason): the pattern is matched against the whole finding id.
WILDCARDS: tuple[tuple[str, str], ...] = (
    (r"Action::kms:(GenerateDataKey|ReEncrypt)\*", "KMS action family, on the project key only"),
    (
        r"Action::s3:(Abort|DeleteObject|GetBucket|GetObject|List)\*",
        "S3 action family from a CDK bucket grant, on the project's artifact bucket only",
    ),
    (
        r"Action::cloudformation:(DescribeStack|GetTemplate)\*",
        "CodePipeline's CloudFormation action, on the stage's own stack only",
    ),
    (r"Resource::<\w+ArtifactBucket\w+\.Arn>/.*\*.*", OBJECTS),
    (
        r"Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:"
        r"stack/sagemaker-<ProjectName\.Lowercase>-deploy-(staging|prod)/\*",
        "the stage's deploy stack; the suffix is the stack id CloudFormation assigns",
    ),
    (
        r"Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
        r"model/<ProjectName\.Lowercase>-\*",
        "SageMaker models named after the project: the stage stacks' and the batch pipeline's "
        "(<project>-<id> cut to 40 characters, then the execution id)",
    ),
    (
        r"Resource::arn:<AWS::Partition>:(sagemaker|cloudwatch):<AWS::Region>:<AWS::AccountId>:"
        r"(endpoint-config/|endpoint/|alarm:)<ProjectName\.Lowercase>-\*",
        STAGE_RESOURCES,
    ),
    (
        r"Resource::arn:<AWS::Partition>:(codebuild|logs):<AWS::Region>:<AWS::AccountId>:"
        r"(report-group/|log-group:/aws/codebuild/)<\w+>(-\*|:\*)",
        "the CodeBuild project's own log group and test report groups",
    ),
    (
        r"Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
        r"/aws/sagemaker/(ProcessingJobs|TrainingJobs|TransformJobs|Endpoints/<ProjectName\.Lowercase>-)\*",
        "log streams SageMaker creates for the project's jobs and endpoints",
    ),
    (
        r"Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
        r"model-package/<ProjectName\.Lowercase>-<SageMakerProjectId>/\*",
        "model package versions of the project's own group",
    ),
    (
        r"Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
        r"pipeline/<ProjectName\.Lowercase>-<SageMakerProjectId>-model-build/execution/\*",
        "executions of the project's own SageMaker pipeline",
    ),
    # The optional API front door of the stage stacks (roles.api_statements, roles.api_handler).
    (
        r"Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/(restapis|tags)/\*",
        "REST APIs get ids at creation; API Gateway names a REST API's parts (resources, methods, "
        "deployments, stages) and their tags by paths below these",
    ),
    (
        r"Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:"
        r"function:<ProjectName\.Lowercase>-\*-api",
        "the stage APIs' Lambda functions, <project>-<stage>-api",
    ),
    (
        r"Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
        r"/aws/lambda/<ProjectName\.Lowercase>-(\*|staging|prod)-api(:\*)?",
        "the stage API functions' own log groups (and their log streams)",
    ),
    (
        r"Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:\*",
        "DescribeLogGroups, read-only: CloudFormation finds the API's log group by name prefix",
    ),
    (
        r"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/\*",
        "the network interfaces SageMaker creates for the jobs (ids assigned at creation); created "
        "only in the project's subnets and security group, deleted only in its VPC",
    ),
    (
        r"Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
        r"(processing|training|transform)-job/pipelines-\*",
        "SageMaker Pipelines names its jobs pipelines-<execution id>-*, not after the project",
    ),
)
# What the deploy stage's endpoint autoscaling calls: Application Auto Scaling has no resource-level
# ARNs for these (roles.py grants them on "*").
AUTOSCALING_ACTIONS = (
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:DeleteScalingPolicy",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:TagResource",
)
# What CloudFormation's read of a log group calls (AWS::Logs::LogGroup's resource schema) that takes
# no log group ARN, as we read CloudWatch Logs' Service Authorization Reference (roles.api_statements
# grants it on "*"):
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
LOG_UNSCOPABLE_ACTIONS = ("logs:DescribeResourcePolicies",)
# Actions IAM cannot scope to a resource ARN.
UNSCOPABLE_ACTIONS = frozenset(
    {
        *LOG_UNSCOPABLE_ACTIONS,
        "ecr:GetAuthorizationToken",
        "cloudwatch:PutMetricData",
        "sagemaker:ListModelPackages",
        *AUTOSCALING_ACTIONS,
        # roles.NETWORK_DESCRIBE_ACTIONS (SageMaker jobs in the project's VPC, large).
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeVpcs",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
    }
)
UNSCOPABLE_REASON = "actions without resource-level permissions in IAM: " + ", ".join(
    sorted(UNSCOPABLE_ACTIONS)
)


def render(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag names it in finding ids."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return f"<{argument}>"
        if function == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        if function == "Fn::Join":
            return argument[0].join(render(part) for part in argument[1])
    return str(value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def findings(statements: list[dict[str, Any]]) -> dict[str, str]:
    """IAM5 finding id -> reason, for the wildcards in ``statements`` that the design accepts."""
    accepted: dict[str, str] = {}
    for statement in statements:
        actions = [render(a) for a in _as_list(statement.get("Action", []))]
        resources = [render(r) for r in _as_list(statement.get("Resource", []))]
        for finding in [f"Action::{a}" for a in actions if "*" in a] + [
            f"Resource::{r}" for r in resources if "*" in r
        ]:
            if finding == "Resource::*":
                if set(actions) <= UNSCOPABLE_ACTIONS:
                    accepted.setdefault(finding, UNSCOPABLE_REASON)
                continue
            for pattern, reason in WILDCARDS:
                if re.fullmatch(pattern, finding):
                    accepted.setdefault(finding, reason)
                    break
    # Resource::* is one finding per policy: withdraw it if any statement grants more.
    for statement in statements:
        resources = [render(r) for r in _as_list(statement.get("Resource", []))]
        actions = {render(a) for a in _as_list(statement.get("Action", []))}
        if "*" in resources and not actions <= UNSCOPABLE_ACTIONS:
            accepted.pop("Resource::*", None)
    return accepted


def acknowledge_wildcards(scope: IConstruct) -> None:
    """Acknowledge the accepted IAM5 findings on every policy below ``scope``."""
    stack = Stack.of(scope)
    for construct in scope.node.find_all():
        if not isinstance(construct, iam.CfnPolicy):
            continue
        document = stack.resolve(construct.policy_document)
        for finding, reason in findings(document.get("Statement", [])).items():
            Validations.of(construct).acknowledge(
                Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)
            )


def acknowledge_privileged_build(image_build: codebuild.IProject) -> None:
    Validations.of(image_build).acknowledge(
        Acknowledgment(
            id="AwsSolutions-CB3",
            reason="The image build runs Docker, which needs privileged mode; it runs only the "
            "repository's container buildspec and its role can push only to the project's "
            "repository.",
        )
    )
