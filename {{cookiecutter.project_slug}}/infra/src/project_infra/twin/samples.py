"""AWS service events for the twin's bus, shaped as AWS documents them: each builder returns a full
EventBridge event (version, id, detail-type, source, account, time, region, resources, detail)
with the fields of the documented sample cited beside it; the values are the caller's."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from project_infra.synth_checks import ACCOUNT

Event = dict[str, Any]


def iso(time: datetime | None = None) -> str:
    """An event time as EventBridge writes it: UTC, seconds, ``Z``."""
    moment = (time or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(
    source: str,
    detail_type: str,
    detail: dict[str, Any],
    *,
    resources: list[str],
    region: str,
    account: str = ACCOUNT,
    time: datetime | None = None,
) -> Event:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": iso(time),
        "region": region,
        "resources": resources,
        "detail": detail,
    }


def arn_parts(arn: str) -> tuple[str, str, str]:
    """(service, region, account) of ``arn``; a one-line error for anything else."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"{arn!r} is not an ARN (arn:partition:service:region:account:resource)")
    return parts[2], parts[3], parts[4]


# https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html#eventbridge-model-package
# (The sample repeats "source" as a list inside the event; EventBridge's envelope has one string.)
def model_package_state_change(
    group: str,
    version: int,
    status: str,
    *,
    region: str,
    account: str = ACCOUNT,
    arn: str | None = None,
    image: str = "",
    model_data_url: str = "",
    time: datetime | None = None,
) -> Event:
    """``status``: the ModelApprovalStatus (Approved, Rejected, PendingManualApproval). The
    package ARN defaults to SageMaker's form, which has the group name in lowercase."""
    arn = arn or f"arn:aws:sagemaker:{region}:{account}:model-package/{group.lower()}/{version}"
    stamp = iso(time)
    detail = {
        "ModelPackageGroupName": group,
        "ModelPackageVersion": version,
        "ModelPackageArn": arn,
        "CreationTime": stamp,
        "InferenceSpecification": {
            "Containers": [{"Image": image, "ModelDataUrl": model_data_url}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "CertifyForMarketplace": False,
        "ModelApprovalStatus": status,
        "LastModifiedTime": stamp,
    }
    return envelope(
        "aws.sagemaker",
        "SageMaker Model Package State Change",
        detail,
        resources=[arn],
        region=region,
        account=account,
        time=time,
    )


# https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html ("Event for a
# completed image push")
def ecr_image_push(
    repository: str,
    tag: str,
    digest: str,
    *,
    region: str,
    account: str = ACCOUNT,
    result: str = "SUCCESS",
    time: datetime | None = None,
) -> Event:
    detail = {
        "result": result,
        "repository-name": repository,
        "image-digest": digest,
        "action-type": "PUSH",
        "image-tag": tag,
    }
    return envelope(
        "aws.ecr",
        "ECR Image Action",
        detail,
        resources=[],
        region=region,
        account=account,
        time=time,
    )


# https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html ("Object created")
def s3_object_created(
    bucket: str,
    key: str,
    size: int,
    *,
    region: str,
    account: str = ACCOUNT,
    etag: str = "d41d8cd98f00b204e9800998ecf8427e",
    version_id: str | None = None,
    reason: str = "PutObject",
    time: datetime | None = None,
) -> Event:
    """``version_id``: only versioned buckets have one; ``reason``: the API that created the object
    (PutObject, POST Object, CopyObject, CompleteMultipartUpload)."""
    s3_object: dict[str, Any] = {"key": key, "size": size, "etag": etag}
    if version_id is not None:
        s3_object["version-id"] = version_id
    s3_object["sequencer"] = uuid.uuid4().hex[:16].upper()
    detail = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": s3_object,
        "request-id": uuid.uuid4().hex[:16].upper(),
        "requester": account,
        "source-ip-address": "127.0.0.1",
        "reason": reason,
    }
    return envelope(
        "aws.s3",
        "Object Created",
        detail,
        resources=[f"arn:aws:s3:::{bucket}"],
        region=region,
        account=account,
        time=time,
    )


# https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html#eventbridge-pipeline
def pipeline_execution_status_change(
    pipeline_arn: str,
    execution_arn: str,
    status: str,
    *,
    previous: str = "Executing",
    time: datetime | None = None,
) -> Event:
    """``status``: currentPipelineExecutionStatus (Executing, Stopping, Stopped, Failed,
    Succeeded). Region and account come from ``pipeline_arn``."""
    _, region, account = arn_parts(pipeline_arn)
    stamp = iso(time)
    detail = {
        "pipelineExecutionDisplayName": execution_arn.rsplit("/", 1)[-1],
        "currentPipelineExecutionStatus": status,
        "previousPipelineExecutionStatus": previous,
        "executionStartTime": stamp,
        "executionEndTime": stamp,
        "pipelineExecutionDescription": "",
        "pipelineArn": pipeline_arn,
        "pipelineExecutionArn": execution_arn,
    }
    return envelope(
        "aws.sagemaker",
        "SageMaker Model Building Pipeline Execution Status Change",
        detail,
        resources=[pipeline_arn, execution_arn],
        region=region,
        account=account,
        time=time,
    )


# https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html#eventbridge-pipeline-step
def pipeline_step_status_change(
    pipeline_arn: str,
    execution_arn: str,
    step_name: str,
    status: str,
    *,
    step_type: str = "Processing",
    previous: str = "Executing",
    failure_reason: str | None = None,
    time: datetime | None = None,
) -> Event:
    """``status``: currentStepStatus (Starting, Executing, Stopping, Stopped, Failed, Succeeded);
    a Failed step carries ``failureReason``, as AWS documents."""
    _, region, account = arn_parts(pipeline_arn)
    stamp = iso(time)
    detail: dict[str, Any] = {
        "metadata": {},
        "stepStartTime": stamp,
        "stepEndTime": stamp,
        "stepName": step_name,
        "stepType": step_type,
        "previousStepStatus": previous,
        "currentStepStatus": status,
        "pipelineArn": pipeline_arn,
        "pipelineExecutionArn": execution_arn,
    }
    if status == "Failed":
        detail["failureReason"] = failure_reason or f"Step {step_name} failed."
    return envelope(
        "aws.sagemaker",
        "SageMaker Model Building Pipeline Execution Step Status Change",
        detail,
        resources=[pipeline_arn, execution_arn],
        region=region,
        account=account,
        time=time,
    )


# https://docs.aws.amazon.com/codecommit/latest/userguide/monitoring-events.html#referenceUpdated
# (A push has no merge fields: the sample's base/source/destination commits and merge options
# describe a merge made in CodeCommit.)
def codecommit_reference_updated(
    repository_arn: str,
    branch: str,
    commit: str,
    *,
    old_commit: str = "0" * 40,
    repository_id: str = "12345678-1234-5678-abcd-12345678abcd",
    time: datetime | None = None,
) -> Event:
    """A push to ``branch`` of the repository ``repository_arn`` (region, account and name from
    it) moving it from ``old_commit`` to ``commit``."""
    _, region, account = arn_parts(repository_arn)
    detail = {
        "event": "referenceUpdated",
        "repositoryName": repository_arn.rsplit(":", 1)[-1],
        "repositoryId": repository_id,
        "referenceType": "branch",
        "referenceName": branch,
        "referenceFullName": f"refs/heads/{branch}",
        "commitId": commit,
        "oldCommitId": old_commit,
    }
    return envelope(
        "aws.codecommit",
        "CodeCommit Repository State Change",
        detail,
        resources=[repository_arn],
        region=region,
        account=account,
        time=time,
    )


# https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html
# (The sample writes the resource as "...:pipeline:myPipeline"; a pipeline's ARN is
# arn:aws:codepipeline:<region>:<account>:<name>, as CloudFormation gives it.)
def codepipeline_execution_state_change(
    pipeline: str,
    state: str,
    *,
    region: str,
    account: str = ACCOUNT,
    execution_id: str | None = None,
    version: int = 1,
    time: datetime | None = None,
) -> Event:
    """``state``: STARTED, SUCCEEDED, RESUMED, FAILED, CANCELED, SUPERSEDED (or STOPPED,
    STOPPING); ``version``: the pipeline structure's version."""
    detail = {
        "pipeline": pipeline,
        "version": version,
        "state": state,
        "execution-id": execution_id or str(uuid.uuid4()),
    }
    return envelope(
        "aws.codepipeline",
        "CodePipeline Pipeline Execution State Change",
        detail,
        resources=[f"arn:aws:codepipeline:{region}:{account}:{pipeline}"],
        region=region,
        account=account,
        time=time,
    )


def captured_requests(folder: Path) -> list[tuple[str, str]]:
    """(content type, body) of every request in a shipped data-capture folder, in file order, as
    sent: a BASE64-encoded body decoded."""
    requests = []
    for path in sorted(folder.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                request = json.loads(line)["captureData"]["endpointInput"]
                data = request["data"]
                if request.get("encoding") == "BASE64":
                    data = base64.b64decode(data).decode("utf-8")
                requests.append((request["observedContentType"], data))
    return requests
