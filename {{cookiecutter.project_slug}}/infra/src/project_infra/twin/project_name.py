"""The CI/CD stack's ``Custom::ProjectName`` as CloudFormation runs it: moto cannot run a Lambda
function without Docker, so the twin runs the function's handler (``project_infra.project_name_handler``,
the module the stack inlines) in this process, with the request CloudFormation sends, and reads the
response from a stand-in for the presigned URL on 127.0.0.1 (``cleanup.response_url``).
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html

The lowercase name the rest of the stack reads (``Fn::GetAtt [ProjectName, Lowercase]``) is
needed before moto creates its part, so ``provision.ATTRIBUTES`` computes it with the handler's own
``data``; Create runs the whole handler and fails unless it answers the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from project_infra import project_name_handler
from project_infra.twin.cleanup import CleanupError, request, response_url
from project_infra.twin.provision import Resource, Stack


def invoke(request_type: str, res: Resource, stack_id: str) -> dict[str, Any]:
    """One request to the handler, as CloudFormation sends it; the one response it PUT."""
    with response_url() as (url, received):
        event = request(request_type, res, stack_id, url)
        project_name_handler.handler(event, None)
    if len(received) != 1:
        raise CleanupError(f"{res.logical_id}: {len(received)} responses to {request_type}, not 1")
    body = received[0]
    if body["Status"] != "SUCCESS":
        raise CleanupError(f"{res.logical_id} {request_type} FAILED: {body['Reason']}")
    return body


def create(clients: Callable[[str], Any], res: Resource, stack: Stack) -> str:
    """The interpreter of ``Custom::ProjectName``: its function must exist (moto created it), then
    the handler answers Create with what the stack already read."""
    clients("lambda").get_function(FunctionName=res.properties["ServiceToken"])
    stack_id = clients("cloudformation").describe_stacks(StackName=stack.name)["Stacks"][0]
    body = invoke("Create", res, stack_id["StackId"])
    expected = project_name_handler.data(stack.parameters["SageMakerProjectName"])
    if body["Data"] != expected:
        raise CleanupError(
            f"{res.logical_id} answered {body['Data']}; the stack was built with {expected}"
        )
    res.physical_id = body["PhysicalResourceId"]
    return (
        "its Lambda function's handler (the same module) run in-process by the twin (moto cannot "
        f"run Lambda without Docker): {project_name_handler.ATTRIBUTE}={expected[project_name_handler.ATTRIBUTE]}"
    )


def delete(_clients: Callable[[str], Any], res: Resource) -> None:
    """Delete: the handler must answer SUCCESS (it has nothing to delete)."""
    invoke("Delete", res, f"arn:aws:cloudformation:::stack/{res.logical_id}/twin")
