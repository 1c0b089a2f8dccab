"""Deleting the CI/CD stack deletes what the project created outside it: a Lambda-backed custom
resource (``Custom::ProjectCleanup``) whose Delete stops and deletes the SageMaker pipelines that
CodeBuild upserts and deletes the staging and prod endpoint stacks that CodePipeline deployed (handler:
``project_infra.cleanup_handler``, inlined into the function so the stack needs no asset).

Deletion order (CloudFormation deletes a resource before what it depends on): the CodePipelines,
schedules and rules, which start deploys and runs, depend on the cleanup, so they are gone before it
runs; the cleanup depends on its function, its role and policies and, when the endpoints live in the
tooling account, on the roles CloudFormation deletes the endpoint stacks with, so those are still
there while it runs.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html
"""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Acknowledgment, Aws, CfnResource, CustomResource, Duration, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk.aws_codepipeline import CfnPipeline
from constructs import Construct, IConstruct

from project_infra import arns, cleanup_handler
from project_infra.cleanup_handler import RESOURCE_TYPE
from project_infra.nag import render
from project_names import Names

# Lambda's maximum; the handler keeps RESPONSE_MARGIN_SECONDS of it to answer CloudFormation.
FUNCTION_TIMEOUT = Duration.minutes(15)
# How long CloudFormation waits for an answer (default: an hour): the function's timeout and a
# minute, so a function that dies without answering fails the deletion in bounded time.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-customresource.html
SERVICE_TIMEOUT = Duration.seconds(FUNCTION_TIMEOUT.to_seconds() + 60)
RUNTIME = lambda_.Runtime.PYTHON_3_14
# What deletes (and so outlives) the cleanup: whatever may start a deploy or a pipeline run.
STARTERS = (CfnPipeline, scheduler.CfnSchedule, events.CfnRule)


def handler_source() -> str:
    return Path(cleanup_handler.__file__).read_text(encoding="utf-8")


def own_log_group_policy(
    scope: Construct, role: iam.Role, function: lambda_.Function
) -> iam.Policy:
    """A function's only logging permission: its own log group. A separate policy (id ``Logs``),
    since the function's name is known only once it exists (its default policy comes before it)."""
    return iam.Policy(
        scope,
        "Logs",
        roles=[role],
        statements=[
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[
                    f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:"
                    f"/aws/lambda/{function.function_name}:*"
                ],
            )
        ],
    )


class ProjectCleanup(Construct):
    """``stage_roles``: per stage, the role the endpoint stack is deleted through (the target
    account's ``<name>-pipeline-action`` role from ``bootstrap/target-account.yml``), or "" when
    the stack is in the tooling account (the function deletes it itself, and CloudFormation uses
    the stack's own role)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        pipelines: list[str],
        stage_roles: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Deletes the endpoints and SageMaker pipelines of {names.base} "
            "when its CI/CD stack is deleted",
        )
        self._grant(names, pipelines, stage_roles)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            handler="index.handler",
            code=lambda_.Code.from_inline(handler_source()),
            timeout=FUNCTION_TIMEOUT,
            role=self.role,
            description=f"Custom::ProjectCleanup of {names.base}: deletes endpoint stacks and "
            "SageMaker pipelines on stack deletion",
        )
        self.logs = own_log_group_policy(self, self.role, self.function)
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.function.function_arn,
            resource_type=RESOURCE_TYPE,
            service_timeout=SERVICE_TIMEOUT,
            properties={
                "Pipelines": pipelines,
                "Stacks": [
                    {"StackName": names.deploy_stack(stage), "RoleArn": role}
                    for stage, role in stage_roles.items()
                ],
            },
        )
        self.resource.node.add_dependency(self.role, self.logs)
        self._acknowledge()

    def _grant(self, names: Names, pipelines: list[str], stage_roles: dict[str, str]) -> None:
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStacks"],  # is its own stack being deleted?
                resources=[Aws.STACK_ID],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:ListPipelineExecutions",
                    "sagemaker:DescribePipeline",
                    "sagemaker:DeletePipeline",
                ],
                resources=[arns.pipeline(names, name) for name in pipelines],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["sagemaker:StopPipelineExecution", "sagemaker:DescribePipelineExecution"],
                resources=[f"{arns.pipeline(names, name)}/execution/*" for name in pipelines],
            )
        )
        assumed = sorted({role for role in stage_roles.values() if role})
        if assumed:
            self.role.add_to_policy(
                iam.PolicyStatement(actions=["sts:AssumeRole"], resources=assumed)
            )
        local = [stage for stage, role in stage_roles.items() if not role]
        if local:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    actions=["cloudformation:DescribeStacks", "cloudformation:DeleteStack"],
                    resources=[arns.deploy_stack(names, stage) for stage in local],
                )
            )

    def deletes_with(self, roles: list[iam.IRole]) -> None:
        """The roles CloudFormation deletes the tooling account's endpoint stacks with: DeleteStack
        uses the role the stack was deployed with, which the caller must be allowed to pass."""
        if not roles:
            return
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[role.role_arn for role in roles],
                conditions={
                    "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
                },
            )
        )
        for role in roles:
            self.resource.node.add_dependency(role)

    def runs_after_deleting(self, scope: IConstruct) -> None:
        """Every resource below ``scope`` that starts deploys or runs depends on the cleanup."""
        target = self.resource.node.default_child
        assert isinstance(target, CfnResource)
        for construct in scope.node.find_all():
            if isinstance(construct, STARTERS):
                construct.add_resource_dependency(target)

    def _acknowledge(self) -> None:
        """The wildcards of the cleanup's own policies, each for the reason it cannot be narrower."""
        stack = Stack.of(self)
        reasons = {
            "/execution/*": "executions of the project's own SageMaker pipelines (ids are random)",
            ":*": "log streams of the cleanup function's own log group",
        }
        for policy in (self.role.node.find_child("DefaultPolicy"), self.logs):
            cfn = policy.node.default_child
            document = stack.resolve(cfn.policy_document)  # type: ignore[union-attr]
            for statement in document["Statement"]:
                resources = statement["Resource"]
                for resource in resources if isinstance(resources, list) else [resources]:
                    rendered = render(resource)
                    for suffix, reason in reasons.items():
                        if rendered.endswith(suffix) and rendered.count("*") == 1:
                            Validations.of(cfn).acknowledge(  # type: ignore[arg-type]
                                Acknowledgment(
                                    id=f"AwsSolutions-IAM5[Resource::{rendered}]", reason=reason
                                )
                            )


def deployment_roles(scope: IConstruct) -> list[iam.IRole]:
    """The roles CodePipeline's CloudFormation actions below ``scope`` created for CloudFormation
    (the tooling account's endpoint stacks are deployed, and so deleted, with them)."""
    found = []
    for construct in scope.node.find_all():
        if isinstance(construct, iam.Role):
            trust = json.dumps(Stack.of(construct).resolve(construct.assume_role_policy.to_json()))  # type: ignore[union-attr]
            if "cloudformation.amazonaws.com" in trust:
                found.append(construct)
    return found
