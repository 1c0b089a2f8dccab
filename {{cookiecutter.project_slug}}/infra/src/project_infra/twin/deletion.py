"""Stage 9 of the twin: the project deleted as Studio (or ``make destroy``) deletes it, then checked:
nothing of the project bills on, and what is kept on purpose is still there. The deletion itself
runs as CloudFormation runs it (cleanup.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from project_infra.twin.cleanup import CleanupError, delete_stack, handler_clients
from project_infra.twin.flow import StageReport, Twin
from project_infra.twin.interpreters import DELETERS
from project_infra.twin.provision import Stack
from project_names import STAGES, Names


def _template(cdk_out: Path, stack_name: str) -> dict[str, Any]:
    manifest = json.loads((cdk_out / "manifest.json").read_text(encoding="utf-8"))
    for artifact in manifest["artifacts"].values():
        props = artifact.get("properties", {})
        if artifact["type"] == "aws:cloudformation:stack" and props.get("stackName") == stack_name:
            return dict(json.loads((cdk_out / props["templateFile"]).read_text(encoding="utf-8")))
    raise CleanupError(f"{cdk_out}: no template of stack {stack_name}")


def delete_project(twin: Twin, report: StageReport) -> None:
    """Delete the CI/CD stack as Studio's project deletion (or ``make destroy``) does, then check
    that nothing of the project bills on: no endpoint, endpoint stack or SageMaker pipeline of the
    project in any account; and that what is kept on purpose is still there."""
    assert twin.stack is not None
    stack, names, emulator = twin.stack, twin.names(), twin.emulator
    template = _template(twin.root / "infra" / "cdk.out", stack.name)
    retained = delete_stack(
        stack,
        template,
        twin.clients,
        handler_clients(emulator, twin.deployed, DELETERS),
        deleters=DELETERS,
        log=twin.log,
    )
    report.detail += [f"retained: {item}" for item in retained]
    sessions: dict[str, Any] = {stack.account: None}
    if twin.settings.account_layout == "multi":
        for account in (twin.settings.staging_account, twin.settings.prod_account):
            role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
            sessions[account] = emulator.assume(role, "twin-check")
    stacks = {stack.name, *(names.deploy_stack(stage) for stage in STAGES)}
    left = []
    for account, session in sessions.items():
        endpoints = emulator.client("sagemaker", session).list_endpoints()["Endpoints"]
        left += [f"endpoint {e['EndpointName']} (account {account})" for e in endpoints]
        summaries = emulator.client("cloudformation", session).list_stacks()["StackSummaries"]
        left += [
            f"stack {s['StackName']} {s['StackStatus']} (account {account})"
            for s in summaries
            if s["StackName"] in stacks and s["StackStatus"] != "DELETE_COMPLETE"
        ]
    project = {names.build_pipeline, names.monitoring_pipeline, names.batch_pipeline}
    pipelines = twin.clients("sagemaker").list_pipelines()["PipelineSummaries"]
    left += [
        f"SageMaker pipeline {p['PipelineName']}" for p in pipelines if p["PipelineName"] in project
    ]
    if left:
        raise CleanupError("left after deleting the project: " + ", ".join(left))
    kept = _kept(twin.clients, names, stack)
    report.detail.append("kept on purpose: " + ", ".join(kept))
    report.resources += [f"deleted stack {name}" for name in sorted(stacks)]


def _kept(clients: Callable[[str], Any], names: Names, stack: Stack) -> list[str]:
    """What the project keeps on purpose, each checked to still exist."""
    bucket = next(
        r.physical_id
        for r in stack.resources.values()
        if r.type == "AWS::S3::Bucket" and "ArtifactBucket" in r.logical_id
    )
    clients("s3").head_bucket(Bucket=bucket)
    clients("sagemaker").describe_model_package_group(
        ModelPackageGroupName=names.model_package_group
    )
    clients("ecr").describe_repositories(repositoryNames=[names.ecr_repository])
    return [
        f"bucket {bucket}",
        f"model package group {names.model_package_group}",
        f"ECR repository {names.ecr_repository}",
    ]
