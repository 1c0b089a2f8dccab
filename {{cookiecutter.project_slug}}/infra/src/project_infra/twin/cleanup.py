"""The CI/CD stack's ``Custom::ProjectCleanup`` and the stack's deletion, as CloudFormation runs them.

moto cannot run a Lambda function without Docker, so the twin runs the function's handler
(``project_infra.cleanup_handler``: the very module the stack inlines as the function's code) in this
process against the emulator, with the request object CloudFormation sends and the response read
from a stand-in for the presigned response URL on 127.0.0.1.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html

Deleting the stack follows CloudFormation's order for what the twin created: the stack is
DELETE_IN_PROGRESS; what depends on the cleanup (CodePipelines, schedules) is deleted first; then the
cleanup's Delete runs; then the rest, except what the template retains (DeletionPolicy Retain).
moto's part of the stack (roles, rules, buckets) goes last, with moto's DeleteStack: its rules are
deleted after the cleanup, not before, which changes nothing here (no event reaches them then).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from project_infra import cleanup_handler
from project_infra.cleanup_handler import RESOURCE_TYPE
from project_infra.twin.emulator import Emulator
from project_infra.twin.provision import MOTO, ProvisionError, Resource, Stack, undeploy

# The CI/CD stack's twin-created types the stage stacks' table (interpreters.DELETERS) lacks, and
# the call that deletes one (what CloudFormation's delete handler calls).
CICD_DELETERS: dict[str, Callable[[Callable[[str], Any], Resource], None]] = {
    "AWS::CodePipeline::Pipeline": lambda c, r: c("codepipeline").delete_pipeline(
        name=r.physical_id
    ),
    "AWS::Scheduler::Schedule": lambda c, r: c("scheduler").delete_schedule(Name=r.physical_id),
    "AWS::CodeBuild::Project": lambda c, r: c("codebuild").delete_project(name=r.physical_id),
    "AWS::CodeCommit::Repository": lambda c, r: c("codecommit").delete_repository(
        repositoryName=r.physical_id
    ),
    "AWS::SNS::Subscription": lambda c, r: c("sns").unsubscribe(SubscriptionArn=r.physical_id),
    "AWS::IAM::OIDCProvider": lambda c, r: c("iam").delete_open_id_connect_provider(
        OpenIDConnectProviderArn=f"arn:aws:iam::{_account(c)}:oidc-provider/"
        f"{r.physical_id.removeprefix('https://')}"
    ),
    "AWS::Events::ApiDestination": lambda c, r: c("events").delete_api_destination(
        Name=r.physical_id
    ),
    "AWS::Events::Connection": lambda c, r: c("events").delete_connection(Name=r.physical_id),
    "AWS::SSM::Parameter": lambda c, r: c("ssm").delete_parameter(Name=r.physical_id),
    # Policies go with their bucket and topic (the bucket is retained, and keeps its policy).
    "AWS::S3::BucketPolicy": lambda _c, _r: None,
    "AWS::SNS::TopicPolicy": lambda _c, _r: None,
}


def _account(clients: Callable[[str], Any]) -> str:
    return str(clients("sts").get_caller_identity()["Account"])


class CleanupError(ProvisionError):
    """The custom resource answered FAILED, or not exactly once."""


@contextmanager
def response_url() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A presigned-URL stand-in on 127.0.0.1: records each PUT body (CloudFormation reads one)."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def do_PUT(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/cfn-response", received
    finally:
        server.shutdown()


def request(request_type: str, res: Resource, stack_id: str, url: str) -> dict[str, Any]:
    """A custom resource request as CloudFormation sends it (Update and Delete carry the id)."""
    return {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": stack_id,
        "RequestId": str(uuid.uuid4()),
        "ResourceType": res.type,
        "LogicalResourceId": res.logical_id,
        "ResourceProperties": res.properties,
        **({"PhysicalResourceId": res.physical_id} if request_type != "Create" else {}),
    }


def _moto_pace(_seconds: float) -> None:
    """moto deletes a stack at once: the handler's look again in 10 s (AWS's minutes-long
    deletions) only slowed the twin down."""
    time.sleep(0.1)


def invoke(
    request_type: str, res: Resource, stack_id: str, clients: cleanup_handler.Clients
) -> dict[str, Any]:
    """One request to the handler, as CloudFormation sends it; the response it PUT."""
    with response_url() as (url, received):
        event = request(request_type, res, stack_id, url)
        cleanup_handler.handler(event, None, clients, sleep=_moto_pace)
    if len(received) != 1:
        raise CleanupError(f"{res.logical_id}: {len(received)} responses to {request_type}, not 1")
    body = received[0]
    if body["Status"] != "SUCCESS":
        raise CleanupError(f"{res.logical_id} {request_type} FAILED: {body['Reason']}")
    return body


def create(clients: Callable[[str], Any], res: Resource, stack: Stack) -> str:
    """The interpreter of ``Custom::ProjectCleanup``: the function must exist (moto created it from
    the template), then its handler answers Create."""
    token = res.properties["ServiceToken"]
    clients("lambda").get_function(FunctionName=token)

    def own(service: str, credentials: dict[str, str] | None) -> Any:
        if credentials is not None:
            raise CleanupError("Create assumed a role; it must touch nothing")
        return clients(service)

    stack_id = clients("cloudformation").describe_stacks(StackName=stack.name)["Stacks"][0]
    res.physical_id = invoke("Create", res, stack_id["StackId"], own)["PhysicalResourceId"]
    return (
        "its Lambda function's handler (the same module) run in-process by the twin against the "
        "emulator (moto cannot run Lambda without Docker); Delete runs when the twin deletes the stack"
    )


def _moto_stack_status(account: str, region: str, name: str, status: str) -> None:
    """What DescribeStacks shows while CloudFormation deletes the stack's resources (moto deletes a
    stack at once, so the twin sets it; the emulator runs in this process)."""
    from moto.cloudformation.models import cloudformation_backends  # noqa: PLC0415

    for stack in cloudformation_backends[account][region].stacks.values():
        if stack.name == name and stack.status != "DELETE_COMPLETE":
            stack.status = status


def delete_stack(
    stack: Stack,
    template: dict[str, Any],
    clients: Callable[[str], Any],
    handler_clients: cleanup_handler.Clients,
    *,
    deleters: dict[str, Callable[[Any, Resource], None]],
    log: Callable[[str], None],
) -> list[str]:
    """Delete ``stack`` as CloudFormation deletes it: DELETE_IN_PROGRESS, then the twin's resources
    in the reverse of their creation order (what depends on the cleanup, the CodePipelines and
    schedules, first; then the cleanup's Delete; then what it depends on), then moto's part (which
    holds the roles and the rules); ``DeletionPolicy: Retain`` keeps a resource. Returns what was
    retained."""
    bodies = template["Resources"]
    table = {**deleters, **CICD_DELETERS}
    retained = [
        f"{res.type} {res.physical_id}"
        for logical, res in stack.resources.items()
        if bodies.get(logical, {}).get("DeletionPolicy") == "Retain"
    ]
    stack_id = clients("cloudformation").describe_stacks(StackName=stack.name)["Stacks"][0]
    _moto_stack_status(stack.account, stack.region, stack.name, "DELETE_IN_PROGRESS")
    for logical in reversed(stack.created):
        res = stack.resources[logical]
        if bodies.get(logical, {}).get("DeletionPolicy") == "Retain":
            continue
        if res.type == RESOURCE_TYPE:
            body = invoke("Delete", res, stack_id["StackId"], handler_clients)
            log(f"  {logical} Delete: {body['Reason']}")
        elif res.type in table:
            table[res.type](clients, res)
        else:
            raise CleanupError(f"stack {stack.name}: the twin cannot delete {res.type}; add it")
    if any(res.how == MOTO for res in stack.resources.values()):
        _delete_what_moto_keeps(clients("ec2"), stack)
        _moto_stack_status(stack.account, stack.region, stack.name, "CREATE_COMPLETE")
        clients("cloudformation").delete_stack(StackName=stack.name)
    return retained


def _delete_what_moto_keeps(ec2: Any, stack: Stack) -> None:
    """moto 5.2.5's CloudFormation creates VPC endpoints and route tables but has no delete for them:
    its DeleteStack leaves them, and then fails on the VPC they keep ("has dependencies"). The twin
    deletes them first, as CloudFormation deletes them before the VPC: the endpoints (they hold the
    route tables' S3 routes and the interfaces), the subnets' associations, the tables."""

    def ids(kind: str) -> list[str]:
        return [r.physical_id for r in stack.resources.values() if r.how == MOTO and r.type == kind]

    if endpoints := ids("AWS::EC2::VPCEndpoint"):
        ec2.delete_vpc_endpoints(VpcEndpointIds=endpoints)
    if tables := ids("AWS::EC2::RouteTable"):
        for table in ec2.describe_route_tables(RouteTableIds=tables)["RouteTables"]:
            for association in table.get("Associations", []):
                if not association.get("Main"):
                    ec2.disassociate_route_table(
                        AssociationId=association["RouteTableAssociationId"]
                    )
            ec2.delete_route_table(RouteTableId=table["RouteTableId"])


class _SplitStacks:
    """CloudFormation's DeleteStack of a stage stack the twin deployed in two parts: what the twin
    created through the APIs is deleted as CloudFormation would (``provision.undeploy``), then
    moto's part. Every other call goes to moto's CloudFormation as it is."""

    def __init__(
        self,
        client: Any,
        clients: Callable[[str], Any],
        deployed: dict[str, Stack],
        deleters: dict[str, Callable[[Any, Resource], None]],
    ) -> None:
        self._client, self._clients = client, clients
        self._deployed, self._deleters = deployed, deleters

    def delete_stack(self, **kwargs: Any) -> Any:
        # The twin keeps its record of the stack (its coverage table lists what the stack held).
        stack = self._deployed.get(kwargs["StackName"])
        account = self._clients("sts").get_caller_identity()["Account"]
        exists = self._client.describe_stacks(StackName=kwargs["StackName"])["Stacks"]
        if stack is not None and stack.account == account and exists:
            undeploy(stack, self._clients, self._deleters)
        return self._client.delete_stack(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def handler_clients(
    emulator: Emulator,
    deployed: dict[str, Stack],
    deleters: dict[str, Callable[[Any, Resource], None]],
) -> cleanup_handler.Clients:
    """The handler's clients in the twin: the emulator's, as the function's role or the role it
    assumed; CloudFormation's DeleteStack knows the stage stacks' two parts."""

    def clients(service: str, credentials: dict[str, str] | None) -> Any:
        session = emulator.session(credentials) if credentials else None
        client = emulator.client(service, session)
        if service != "cloudformation":
            return client
        return _SplitStacks(client, lambda s: emulator.client(s, session), deployed, deleters)

    return clients
