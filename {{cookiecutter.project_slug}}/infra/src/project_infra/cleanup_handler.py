"""What deleting the project's CI/CD stack must also delete: the handler of its ``Custom::ProjectCleanup``
resource (``project_infra.cleanup``).

The stack does not own what its pipelines create: CodePipeline deploys the staging and prod endpoint
stacks (in the target accounts for medium/large) and the model-build CodeBuild job upserts the
SageMaker pipelines with the SDK. On Delete this handler stops the pipelines' running executions,
deletes the pipelines and deletes the endpoint stacks (through the same roles CodePipeline used) and
waits until they are gone. Create and Update do nothing.

It runs in Lambda as the function's inline ``index.py``, so it imports only the standard library and
boto3; the tests and the twin import it as ``project_infra.cleanup_handler`` and run the same code.

Protocol (request and response objects):
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

RESOURCE_TYPE = "Custom::ProjectCleanup"
# The response body may not exceed 4096 bytes (crpg-ref-responses.html above).
RESPONSE_LIMIT = 4096
# Time kept back from the Lambda timeout to send the response: without one CloudFormation waits
# until the resource's ServiceTimeout.
RESPONSE_MARGIN_SECONDS = 30.0
DEFAULT_BUDGET_SECONDS = 600.0  # outside Lambda (no context): the twin and the tests
POLL_SECONDS = 10.0
RUNNING = ("Executing", "Stopping")
# Stack statuses of an operation under way: DeleteStack is refused, or must not interrupt it
# (REVIEW_IN_PROGRESS, a change set not yet executed, is not one: nothing runs).
BUSY_SUFFIX = "_IN_PROGRESS"
DELETABLE_WHILE_IN_PROGRESS = ("REVIEW_IN_PROGRESS",)
GONE = "DELETE_COMPLETE"
# The statuses of its own stack in which the handler deletes anything: the stack's deletion, or the
# rollback of its creation (the project goes away either way). A Delete sent while the stack is
# updated (a later template that drops or replaces this resource, or an update's rollback) must
# leave a live project alone.
OWN_STACK_DELETING = ("DELETE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS")

# (service, credentials or None for the function's own) -> boto3 client
Clients = Callable[[str, "dict[str, str] | None"], Any]


def boto3_clients(service: str, credentials: dict[str, str] | None = None) -> Any:
    import boto3  # noqa: PLC0415 - the Lambda runtime's boto3; imported where used

    if credentials is None:
        return boto3.client(service)
    return boto3.client(
        service,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials.get("SessionToken"),
    )


@dataclass
class Outcome:
    """What the Delete did: each entry names the resource and, for ``left``, why it is still there."""

    deleted: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = []
        if self.deleted:
            parts.append("deleted " + ", ".join(self.deleted))
        if self.absent:
            parts.append("already gone " + ", ".join(self.absent))
        if self.left:
            parts.append("NOT deleted " + "; ".join(self.left))
        return "; ".join(parts) or "nothing to delete"


def _code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def _message(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Message", error))


def _missing(error: Exception) -> bool:
    """SageMaker answers ResourceNotFound for a pipeline that does not exist (moto: ValidationException
    "Could not find pipeline"); CloudFormation answers ValidationError "... does not exist"."""
    code, message = _code(error), _message(error).lower()
    return code in ("ResourceNotFound", "ResourceNotFoundException") or (
        code in ("ValidationException", "ValidationError")
        and ("does not exist" in message or "could not find" in message)
    )


# -- SageMaker pipelines ------------------------------------------------------------------------------


def _running(sagemaker: Any, name: str) -> list[dict[str, Any]]:
    found = []
    for page in sagemaker.get_paginator("list_pipeline_executions").paginate(PipelineName=name):
        found += [
            e
            for e in page.get("PipelineExecutionSummaries", [])
            if e.get("PipelineExecutionStatus") in RUNNING
        ]
    return found


def delete_pipeline(
    sagemaker: Any, name: str, deadline: float, outcome: Outcome, sleep: Callable[[float], None]
) -> None:
    """DeletePipeline refuses a pipeline with running executions: stop them first, wait, delete.
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeletePipeline.html"""
    label = f"SageMaker pipeline {name}"
    try:
        running = _running(sagemaker, name)
    except Exception as error:
        if _missing(error):
            outcome.absent.append(label)
            return
        outcome.left.append(f"{label}: {_message(error)}")
        return
    try:
        for execution in running:
            if execution["PipelineExecutionStatus"] == "Executing":
                sagemaker.stop_pipeline_execution(
                    PipelineExecutionArn=execution["PipelineExecutionArn"]
                )
        while running and time.monotonic() < deadline:
            sleep(POLL_SECONDS)
            running = _running(sagemaker, name)
        if running:
            arns = ", ".join(e["PipelineExecutionArn"] for e in running)
            outcome.left.append(f"{label}: executions still stopping ({arns})")
            return
        sagemaker.delete_pipeline(PipelineName=name)
    except Exception as error:
        if _missing(error):
            outcome.absent.append(label)
            return
        outcome.left.append(f"{label}: {_message(error)}")
        return
    outcome.deleted.append(label)


# -- endpoint stacks ----------------------------------------------------------------------------------


def _status(cloudformation: Any, name: str) -> tuple[str, str]:
    """(status, reason) of stack ``name``; (GONE, "") when it does not exist."""
    try:
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    except Exception as error:
        if _missing(error):
            return GONE, ""
        raise
    return str(stack["StackStatus"]), str(stack.get("StackStatusReason", ""))


@dataclass
class _StackDeletion:
    name: str
    role_arn: str
    cloudformation: Any = None
    requested: bool = False
    done: bool = False

    @property
    def label(self) -> str:
        where = f" (as {self.role_arn})" if self.role_arn else ""
        return f"stack {self.name}{where}"


def _assume(clients: Clients, role_arn: str) -> dict[str, str]:
    credentials = clients("sts", None).assume_role(
        RoleArn=role_arn, RoleSessionName="project-cleanup"
    )["Credentials"]
    return {k: credentials[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}


def delete_stacks(
    clients: Clients,
    targets: list[dict[str, str]],
    deadline: float,
    outcome: Outcome,
    sleep: Callable[[float], None],
) -> None:
    """Delete every stack of ``targets`` (``StackName``, ``RoleArn``: the role to assume, "" for the
    function's own) at once and wait until each is gone, failed, or the deadline passes. A stack
    being created or updated (a deploy still running) is waited for first: DeleteStack would not
    stop it. DeleteStack without RoleARN uses the role the stack was deployed with:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStack.html"""
    pending = []
    for target in targets:
        deletion = _StackDeletion(target["StackName"], target.get("RoleArn", ""))
        try:
            credentials = _assume(clients, deletion.role_arn) if deletion.role_arn else None
            deletion.cloudformation = clients("cloudformation", credentials)
        except Exception as error:
            outcome.left.append(f"{deletion.label}: cannot assume the role: {_message(error)}")
            continue
        pending.append(deletion)
    while True:
        for deletion in pending:
            if not deletion.done:
                _step(deletion, outcome)
        waiting = [d for d in pending if not d.done]
        if not waiting:
            return
        if time.monotonic() >= deadline:
            for deletion in waiting:
                try:
                    status = _status(deletion.cloudformation, deletion.name)[0]
                except Exception as error:
                    status = f"unknown ({_message(error)})"
                outcome.left.append(f"{deletion.label}: still {status} at the time limit")
            return
        sleep(POLL_SECONDS)


def _step(deletion: _StackDeletion, outcome: Outcome) -> None:
    """One look at a stack: gone (done), failed after our request (done, left), deletable (request
    its deletion), or busy (look again later)."""
    try:
        status, reason = _status(deletion.cloudformation, deletion.name)
        if status == GONE:
            deletion.done = True
            (outcome.deleted if deletion.requested else outcome.absent).append(deletion.label)
        elif status == "DELETE_FAILED" and deletion.requested:
            deletion.done = True
            outcome.left.append(f"{deletion.label}: DELETE_FAILED {reason}".strip())
        elif not status.endswith(BUSY_SUFFIX) or status in DELETABLE_WHILE_IN_PROGRESS:
            deletion.cloudformation.delete_stack(StackName=deletion.name)
            deletion.requested = True
    except Exception as error:
        deletion.done = True
        outcome.left.append(f"{deletion.label}: {_message(error)}")


# -- the custom resource ------------------------------------------------------------------------------


def cleanup(
    properties: dict[str, Any],
    clients: Clients,
    deadline: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """The Delete: SageMaker pipelines first (their runs may still be starting jobs), then the
    endpoint stacks, which take minutes each and are deleted in parallel."""
    outcome = Outcome()
    sagemaker = clients("sagemaker", None)
    for name in properties.get("Pipelines", []):
        delete_pipeline(sagemaker, name, deadline, outcome, sleep)
    delete_stacks(clients, list(properties.get("Stacks", [])), deadline, outcome, sleep)
    return outcome


def own_stack_status(clients: Clients, stack_id: str) -> str:
    status, _ = _status(clients("cloudformation", None), stack_id)
    return status


def response(
    event: dict[str, Any], status: str, reason: str, data: dict[str, str]
) -> dict[str, Any]:
    """The response object; the PhysicalResourceId of Update and Delete is the one CloudFormation
    sent (a new one would make an Update a replacement, and the old resource's Delete a cleanup)."""
    body = {
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": event.get("PhysicalResourceId")
        or f"{event['LogicalResourceId']}-{event['StackId'].rsplit('/', 1)[-1]}",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data,
    }
    while len(json.dumps(body).encode()) > RESPONSE_LIMIT and body["Reason"]:
        body["Reason"] = body["Reason"][: len(body["Reason"]) // 2] + " [...]"
        body["Data"] = {}
    return body


def send(url: str, body: dict[str, Any]) -> None:
    """PUT the response to the presigned URL (Content-Type empty: the URL is signed without one)."""
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(data))}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


def handler(
    event: dict[str, Any],
    context: Any,
    clients: Clients | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Lambda's entry point (``index.handler``). Every path answers CloudFormation: an exception
    becomes FAILED with its message rather than an hour of waiting. A FAILED Delete stops the stack's
    deletion (the provider "must respond successfully to a delete request"), which is the point:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requesttypes-delete.html
    Lambda passes only the first two; the twin and the tests pass their clients and pace."""
    clients = clients or boto3_clients
    budget = context.get_remaining_time_in_millis() / 1000.0 if context else DEFAULT_BUDGET_SECONDS
    deadline = time.monotonic() + budget - RESPONSE_MARGIN_SECONDS
    status, reason, data = "SUCCESS", "", {}
    try:
        if event["RequestType"] != "Delete":
            reason = "nothing to do: the cleanup runs when the stack is deleted"
        elif (stack := own_stack_status(clients, event["StackId"])) not in OWN_STACK_DELETING:
            reason = f"skipped: the stack is {stack}, not being deleted (the project stays)"
        else:
            outcome = cleanup(event.get("ResourceProperties", {}), clients, deadline, sleep)
            reason = outcome.summary()
            data = {"Deleted": str(len(outcome.deleted)), "Left": str(len(outcome.left))}
            if outcome.left:
                status = "FAILED"
                reason = (
                    f"{reason}. Delete them by hand or retry the stack deletion (see the project "
                    "README, 'Deleting the project')"
                )
    except Exception as error:
        status, reason = "FAILED", f"cleanup failed: {type(error).__name__}: {_message(error)}"
    print(json.dumps({"RequestType": event.get("RequestType"), "Status": status, "Reason": reason}))
    body = response(event, status, reason, data)
    send(event["ResponseURL"], body)
    return body
