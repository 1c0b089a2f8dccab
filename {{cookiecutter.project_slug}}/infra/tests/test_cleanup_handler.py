"""The cleanup handler against moto (server mode, as the twin runs it): what a Delete removes, in the
tooling account and through a target account's bootstrap role, what it keeps, and what it answers
CloudFormation (a real PUT to a local response URL)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from project_infra import cleanup_handler
from project_infra.cleanup_handler import Outcome, cleanup, handler
from project_infra.twin import cleanup as twin_cleanup
from project_infra.twin.emulator import TOOLING_ACCOUNT, Emulator
from project_names import Names

REGION = "eu-west-1"
STAGING = "111111111111"
NAMES = Names("cleanup-demo", "p-abc123")
OTHER = Names("other-project", "p-zzz999")  # another project in the same accounts: untouched
PIPELINE_DEFINITION = json.dumps({"Version": "2020-12-01", "Steps": []})
ENDPOINT_TEMPLATE = {
    "Resources": {
        "Model": {
            "Type": "AWS::SageMaker::Model",
            "Properties": {
                "ExecutionRoleArn": "arn:aws:iam::123456789012:role/model-exec",
                "PrimaryContainer": {"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1"},
            },
        },
        "Config": {
            "Type": "AWS::SageMaker::EndpointConfig",
            "Properties": {
                "ProductionVariants": [
                    {
                        "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                        "VariantName": "AllTraffic",
                        "InitialInstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                    }
                ]
            },
        },
        "Endpoint": {
            "Type": "AWS::SageMaker::Endpoint",
            "Properties": {"EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}},
        },
    }
}
TOPIC_TEMPLATE = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    started = Emulator(REGION).start()
    yield started
    started.stop()


@pytest.fixture
def emulator(server: Emulator) -> Emulator:
    """The server with no resources: moto's reset API between tests."""
    request = urllib.request.Request(f"{server.url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()
    return server


@pytest.fixture
def response_url() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    with twin_cleanup.response_url() as (url, received):
        yield url, received


def _quick(_seconds: float) -> None:
    """The handler's pace against moto, which deletes at once (the handler waits 10 s on AWS)."""
    time.sleep(0.01)


def _clients(emulator: Emulator) -> cleanup_handler.Clients:
    def clients(service: str, credentials: dict[str, str] | None) -> Any:
        return emulator.client(service, emulator.session(credentials) if credentials else None)

    return clients


def _staging(emulator: Emulator) -> Any:
    """A session in the staging account (an administrator's role there)."""
    return emulator.assume(f"arn:aws:iam::{STAGING}:role/OrganizationAccountAccessRole", "test")


def _pipeline(emulator: Emulator, name: str) -> None:
    emulator.client("sagemaker").create_pipeline(
        PipelineName=name,
        PipelineDefinition=PIPELINE_DEFINITION,
        RoleArn="arn:aws:iam::123456789012:role/pipeline",
    )


def _pipelines(emulator: Emulator) -> set[str]:
    listed = emulator.client("sagemaker").list_pipelines()["PipelineSummaries"]
    return {p["PipelineName"] for p in listed}


def _stack(cloudformation: Any, name: str, template: dict[str, Any]) -> str:
    return str(
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))["StackId"]
    )


def _stacks(cloudformation: Any) -> set[str]:
    summaries = cloudformation.list_stacks()["StackSummaries"]
    return {s["StackName"] for s in summaries if s["StackStatus"] != "DELETE_COMPLETE"}


def _set_status(account: str, stack_id: str, status: str) -> None:
    """What CloudFormation shows while it deletes the stack's resources (moto deletes at once)."""
    from moto.cloudformation.models import cloudformation_backends  # noqa: PLC0415

    cloudformation_backends[account][REGION].stacks[stack_id].status = status


def _project(emulator: Emulator) -> tuple[Any, Any]:
    """A deployed project: its three SageMaker pipelines, a staging endpoint stack in the staging
    account and a prod one in the tooling account; another project's pipeline and stack beside."""
    for name in (NAMES.build_pipeline, NAMES.monitoring_pipeline, NAMES.batch_pipeline):
        _pipeline(emulator, name)
    _pipeline(emulator, OTHER.build_pipeline)
    staging = emulator.client("cloudformation", _staging(emulator))
    iam = emulator.client("iam", _staging(emulator))
    iam.create_role(
        RoleName=f"{NAMES.slug}-pipeline-action",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{TOOLING_ACCOUNT}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    _stack(staging, NAMES.deploy_stack("staging"), ENDPOINT_TEMPLATE)
    tooling = emulator.client("cloudformation")
    _stack(tooling, NAMES.deploy_stack("prod"), ENDPOINT_TEMPLATE)
    _stack(tooling, OTHER.deploy_stack("prod"), ENDPOINT_TEMPLATE)
    return staging, tooling


def _properties() -> dict[str, Any]:
    return {
        "Pipelines": [NAMES.build_pipeline, NAMES.monitoring_pipeline, NAMES.batch_pipeline],
        "Stacks": [
            {
                "StackName": NAMES.deploy_stack("staging"),
                "RoleArn": f"arn:aws:iam::{STAGING}:role/{NAMES.slug}-pipeline-action",
            },
            {"StackName": NAMES.deploy_stack("prod"), "RoleArn": ""},
        ],
    }


def _event(request: str, stack_id: str, url: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request,
        "ResponseURL": url,
        "StackId": stack_id,
        "RequestId": "req-1",
        "ResourceType": "Custom::ProjectCleanup",
        "LogicalResourceId": "CleanupResource",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:x", **_properties()},
        **extra,
    }


def _endpoints(client: Any) -> list[str]:
    return [e["EndpointName"] for e in client.list_endpoints()["Endpoints"]]


def test_delete_removes_pipelines_and_endpoint_stacks_in_both_accounts(
    emulator: Emulator,
) -> None:
    staging, tooling = _project(emulator)
    staging_sagemaker = emulator.client("sagemaker", _staging(emulator))
    assert _endpoints(staging_sagemaker)  # the stack's endpoint exists before

    outcome = cleanup(
        _properties(), _clients(emulator), deadline=float("inf"), sleep=lambda _: None
    )

    assert outcome.left == []
    assert len(outcome.deleted) == 5
    assert _pipelines(emulator) == {OTHER.build_pipeline}
    assert NAMES.deploy_stack("staging") not in _stacks(staging)
    assert _stacks(tooling) == {OTHER.deploy_stack("prod")}
    assert _endpoints(staging_sagemaker) == []  # nothing billing left in staging


def test_delete_again_finds_everything_gone(emulator: Emulator) -> None:
    _project(emulator)
    clients = _clients(emulator)
    cleanup(_properties(), clients, deadline=float("inf"), sleep=lambda _: None)

    again = cleanup(_properties(), clients, deadline=float("inf"), sleep=lambda _: None)

    assert again.deleted == [] and again.left == []
    assert len(again.absent) == 5


def test_a_role_that_cannot_be_assumed_is_reported_not_raised(emulator: Emulator) -> None:
    properties = _properties()
    properties["Stacks"][0]["RoleArn"] = "not-an-arn"

    outcome = cleanup(properties, _clients(emulator), deadline=float("inf"), sleep=lambda _: None)

    assert [entry.split(":")[0] for entry in outcome.left] == [
        f"stack {NAMES.deploy_stack('staging')} (as not-an-arn)"
    ]
    assert "cannot assume the role" in outcome.left[0]


def test_a_stack_still_deploying_at_the_deadline_is_left_and_said(emulator: Emulator) -> None:
    tooling = emulator.client("cloudformation")
    stack_id = _stack(tooling, NAMES.deploy_stack("prod"), TOPIC_TEMPLATE)
    _set_status(TOOLING_ACCOUNT, stack_id, "UPDATE_IN_PROGRESS")  # a deploy under way
    properties = {"Stacks": [{"StackName": NAMES.deploy_stack("prod"), "RoleArn": ""}]}

    outcome = cleanup(properties, _clients(emulator), deadline=0.0, sleep=lambda _: None)

    assert outcome.left == [
        f"stack {NAMES.deploy_stack('prod')}: still UPDATE_IN_PROGRESS at the time limit"
    ]
    assert NAMES.deploy_stack("prod") in _stacks(tooling)  # not interrupted


def test_a_stack_whose_deletion_failed_before_is_deleted_again(emulator: Emulator) -> None:
    tooling = emulator.client("cloudformation")
    stack_id = _stack(tooling, NAMES.deploy_stack("prod"), TOPIC_TEMPLATE)
    _set_status(TOOLING_ACCOUNT, stack_id, "DELETE_FAILED")  # an earlier attempt
    properties = {"Stacks": [{"StackName": NAMES.deploy_stack("prod"), "RoleArn": ""}]}

    outcome = cleanup(properties, _clients(emulator), deadline=float("inf"), sleep=lambda _: None)

    assert outcome.deleted == [f"stack {NAMES.deploy_stack('prod')}"]
    assert _stacks(tooling) == set()


def test_running_executions_are_stopped_before_the_pipeline_is_deleted() -> None:
    """moto has no StopPipelineExecution: a recording client stands in for SageMaker here."""

    class SageMaker:
        def __init__(self) -> None:
            self.calls: list[str] = []
            self.status = "Executing"

        def get_paginator(self, _name: str) -> Any:
            outer = self

            class Pages:
                def paginate(self, **_kwargs: Any) -> list[dict[str, Any]]:
                    outer.calls.append("list")
                    summary = {"PipelineExecutionArn": "arn:x/execution/1"}
                    return [
                        {
                            "PipelineExecutionSummaries": [
                                {**summary, "PipelineExecutionStatus": outer.status}
                            ]
                        }
                    ]

            return Pages()

        def stop_pipeline_execution(self, **kwargs: Any) -> None:
            self.calls.append(f"stop {kwargs['PipelineExecutionArn']}")
            self.status = "Stopping"

        def delete_pipeline(self, **kwargs: Any) -> None:
            self.calls.append(f"delete {kwargs['PipelineName']}")

    sagemaker = SageMaker()
    waits = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        sagemaker.status = "Stopped"

    outcome = Outcome()
    cleanup_handler.delete_pipeline(sagemaker, "p", float("inf"), outcome, sleep)

    assert sagemaker.calls == ["list", "stop arn:x/execution/1", "list", "delete p"]
    assert waits == [cleanup_handler.POLL_SECONDS]
    assert outcome.deleted == ["SageMaker pipeline p"]


def _delete_while(
    emulator: Emulator, response_url: tuple[str, list[dict[str, Any]]], status: str
) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """A project, its own stack in ``status``, and the handler's answer to a Delete: (stack id, the
    answer returned, the answers PUT)."""
    _project(emulator)
    stack_id = _stack(
        emulator.client("cloudformation"), "sagemaker-cleanup-demo-cicd", TOPIC_TEMPLATE
    )
    _set_status(TOOLING_ACCOUNT, stack_id, status)
    url, received = response_url
    event = _event("Delete", stack_id, url, PhysicalResourceId="phys-1")
    return stack_id, handler(event, None, _clients(emulator), sleep=_quick), received


@pytest.mark.parametrize("status", ["DELETE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"])
def test_handler_delete_answers_success_after_cleaning_up(
    emulator: Emulator, response_url: tuple[str, list[dict[str, Any]]], status: str
) -> None:
    """The stack's deletion, or the rollback of its creation."""
    stack_id, body, received = _delete_while(emulator, response_url, status)

    assert received == [body]
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["PhysicalResourceId"] == "phys-1"
    assert (body["RequestId"], body["LogicalResourceId"], body["StackId"]) == (
        "req-1",
        "CleanupResource",
        stack_id,
    )
    assert body["Data"] == {"Deleted": "5", "Left": "0"}
    assert _pipelines(emulator) == {OTHER.build_pipeline}


@pytest.mark.parametrize(
    "status", ["UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"]
)
def test_handler_delete_during_an_update_leaves_the_project_alone(
    emulator: Emulator, response_url: tuple[str, list[dict[str, Any]]], status: str
) -> None:
    """A later template that drops or replaces the resource sends Delete while the stack updates."""
    _, body, received = _delete_while(emulator, response_url, status)

    assert body["Status"] == "SUCCESS"
    assert body["Reason"].startswith(f"skipped: the stack is {status}")
    assert NAMES.build_pipeline in _pipelines(emulator)
    assert received == [body]


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_handler_create_and_update_touch_nothing(
    emulator: Emulator, response_url: tuple[str, list[dict[str, Any]]], request_type: str
) -> None:
    _project(emulator)
    url, received = response_url
    extra = {"PhysicalResourceId": "phys-1"} if request_type == "Update" else {}
    stack_id = "arn:aws:cloudformation:eu-west-1:123456789012:stack/sagemaker-cleanup-demo-cicd/abc"

    body = handler(
        _event(request_type, stack_id, url, **extra), None, _clients(emulator), sleep=_quick
    )

    assert received == [body]
    assert body["Status"] == "SUCCESS"
    # Create makes the id; Update keeps it (a new one would replace the resource: Delete of the old)
    assert body["PhysicalResourceId"] == (
        "phys-1" if request_type == "Update" else "CleanupResource-abc"
    )
    assert _pipelines(emulator) == {
        NAMES.build_pipeline,
        NAMES.monitoring_pipeline,
        NAMES.batch_pipeline,
        OTHER.build_pipeline,
    }


def test_handler_delete_with_something_left_answers_failed_with_what_and_why(
    emulator: Emulator, response_url: tuple[str, list[dict[str, Any]]]
) -> None:
    stack_id = _stack(
        emulator.client("cloudformation"), "sagemaker-cleanup-demo-cicd", TOPIC_TEMPLATE
    )
    _set_status(TOOLING_ACCOUNT, stack_id, "DELETE_IN_PROGRESS")
    url, received = response_url
    event = _event("Delete", stack_id, url, PhysicalResourceId="phys-1")
    event["ResourceProperties"]["Stacks"][0]["RoleArn"] = "not-an-arn"

    body = handler(event, None, _clients(emulator), sleep=_quick)

    assert received == [body]
    assert body["Status"] == "FAILED"
    assert f"NOT deleted stack {NAMES.deploy_stack('staging')}" in body["Reason"]
    assert "Deleting the project" in body["Reason"]


def test_handler_answers_failed_when_it_cannot_even_start(
    response_url: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = response_url

    def broken(_service: str, _credentials: dict[str, str] | None) -> Any:
        raise RuntimeError("no credentials")

    body = handler(
        _event("Delete", "arn:aws:cloudformation:x:1:stack/s/1", url), None, broken, sleep=_quick
    )

    assert received == [body]
    assert body["Status"] == "FAILED"
    assert body["Reason"] == "cleanup failed: RuntimeError: no credentials"


def test_a_long_reason_is_cut_to_the_response_limit() -> None:
    event = _event("Delete", "arn:aws:cloudformation:x:1:stack/s/1", "http://x")
    body = cleanup_handler.response(event, "FAILED", "x" * 10_000, {"Deleted": "0"})

    assert len(json.dumps(body).encode()) <= cleanup_handler.RESPONSE_LIMIT
    assert body["Reason"].endswith("[...]")
