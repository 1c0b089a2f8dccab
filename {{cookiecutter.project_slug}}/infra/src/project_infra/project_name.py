"""The project name in lower case, computed once at deploy time by a Lambda-backed custom resource
(``Custom::ProjectName``; handler ``project_infra.project_name_handler``, inlined so the stack needs
no asset). Everything AWS wants in lower case (the ECR repository, the endpoints, the deploy stacks,
and the names in SageMaker ARNs) is built from ``Fn::GetAtt [ProjectName, Lowercase]``.

Why not CloudFormation alone: it has no lower-case function, and 26 nested Fn::Split/Fn::Join
pairs, repeated wherever a name is used (~130 places), made the template 2 MB; a template from S3
may have 1 MB (TemplateURL: "max size: 1 MB";
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html).
Why not that expression once in an ``AWS::SSM::Parameter`` (its ``Value`` attribute): a stored
parameter the project has no other use for, still 26 nested pairs to review, and an attribute moto
does not return. A custom resource returns attributes by design ("Data": name-value pairs, read
with Fn::GetAtt), and the handler is a line of Python the tests and the twin run as it is:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import (
    Acknowledgment,
    CfnResource,
    CustomResource,
    Duration,
    Stack,
    Validations,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from project_infra import project_name_handler
from project_infra.cleanup import RUNTIME, own_log_group_policy
from project_infra.nag import render
from project_infra.project_name_handler import ATTRIBUTE, RESOURCE_TYPE

LOGICAL_ID = "ProjectName"  # the template reads Fn::GetAtt [ProjectName, Lowercase]
FUNCTION_TIMEOUT = Duration.seconds(30)  # it lowercases a string and PUTs one response
# CloudFormation's wait for the answer: the timeout and a minute (default: an hour).
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-customresource.html
SERVICE_TIMEOUT = Duration.seconds(90)


class ProjectName(Construct):
    """``lowercase``: a token for the lower-case form of ``project_name`` (itself a token)."""

    def __init__(self, scope: Construct, construct_id: str, *, project_name: str) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Writes the logs of the function that lowercases the project name",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            handler="index.handler",
            code=lambda_.Code.from_inline(
                Path(project_name_handler.__file__).read_text(encoding="utf-8")
            ),
            timeout=FUNCTION_TIMEOUT,
            role=self.role,
            description=f"{RESOURCE_TYPE}: the SageMaker project name in lower case",
        )
        # Its only permission: its own log group (the function's name is known once it exists).
        self.logs = own_log_group_policy(self, self.role, self.function)
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.function.function_arn,
            resource_type=RESOURCE_TYPE,
            service_timeout=SERVICE_TIMEOUT,
            properties={"ProjectName": project_name},
        )
        self.resource.node.add_dependency(self.logs)
        cfn = self.resource.node.default_child
        assert isinstance(cfn, CfnResource)
        cfn.override_logical_id(LOGICAL_ID)
        self.lowercase: str = self.resource.get_att_string(ATTRIBUTE)
        self._acknowledge()

    def _acknowledge(self) -> None:
        """IAM5 on ``<function>:*``: the log streams of the function's own log group."""
        cfn = self.logs.node.default_child
        document = Stack.of(self).resolve(cfn.policy_document)  # type: ignore[union-attr]
        for statement in document["Statement"]:
            Validations.of(cfn).acknowledge(  # type: ignore[arg-type]
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{render(statement['Resource'])}]",
                    reason="log streams of the function's own log group",
                )
            )
