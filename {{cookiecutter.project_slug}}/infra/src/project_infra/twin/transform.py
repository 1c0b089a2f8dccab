"""The twin's batch transform: a CreateTransformJob request run as SageMaker runs one. The model's
image serves the model (its own server, from the artifact in the emulated S3), each input object is
split by line into requests of at most MaxPayloadInMB (MultiRecord), and the answers, joined as
AssembleWith says, land at ``<S3OutputPath>/<input object, relative to the prefix>.out``.

With ``TransformResources.InstanceCount`` N > 1, SageMaker distributes the input objects among the
instances (one instance might score input1.csv, another input2.csv; one object is never split
between instances): here N hosts, each its own model server, score a share of the objects each
(object i of the sorted keys on host i mod N; a host with no object starts no server). The output
objects are the same as with one host.

https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform.html ("Use batch transform to get
inferences from large datasets", "Speed up a batch transform job", output object naming) and
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTransformJob.html
"""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from model_build.errors import StepFailedError
from model_build.local.executor import TransformRunner
from project_infra.twin.runtime import start_model_server

Clients = Callable[[str], Any]
DEFAULT_MAX_PAYLOAD_MB = 6  # CreateTransformJob's MaxPayloadInMB default
SUPPORTED_INPUT = {"S3DataType": "S3Prefix", "SplitType": "Line", "BatchStrategy": "MultiRecord"}


def model_container(clients: Clients, model_name: str) -> dict[str, Any]:
    """The serving container of SageMaker Model ``model_name`` (a model package's, when the model
    names one, as the batch pipeline's LatestApprovedModel step creates it)."""
    sagemaker = clients("sagemaker")
    try:
        model = sagemaker.describe_model(ModelName=model_name)
    except sagemaker.exceptions.ClientError as error:
        raise StepFailedError(f"transform: model {model_name!r}: {error}") from None
    container = (model.get("Containers") or [model.get("PrimaryContainer") or {}])[0]
    if container.get("ModelPackageName"):
        package = sagemaker.describe_model_package(ModelPackageName=container["ModelPackageName"])
        return dict(package["InferenceSpecification"]["Containers"][0])
    if not container.get("ModelDataUrl"):
        raise StepFailedError(f"transform: model {model_name!r} has no ModelDataUrl")
    return dict(container)


def batches(lines: list[bytes], limit: int) -> Iterator[bytes]:
    """Whole lines, as many per request as fit in ``limit`` bytes (a longer line goes alone)."""
    chunk: list[bytes] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) + 1 > limit:
            yield b"\n".join(chunk) + b"\n"
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        yield b"\n".join(chunk) + b"\n"


def runner(clients: Clients, work: Path) -> TransformRunner:
    """A transform runner for the local executor (``LocalExecutor(transform=...)``)."""

    def run(request: dict[str, Any], _env: dict[str, str]) -> dict[str, Any]:
        source = request["TransformInput"]["DataSource"]["S3DataSource"]
        wanted = {
            "S3DataType": source.get("S3DataType"),
            "SplitType": request["TransformInput"].get("SplitType", "None"),
            "BatchStrategy": request.get("BatchStrategy", "MultiRecord"),
        }
        for key, value in wanted.items():
            if value != SUPPORTED_INPUT[key]:
                raise StepFailedError(
                    f"transform: {key}={value!r} is not emulated by the twin "
                    f"(it runs {SUPPORTED_INPUT[key]!r})"
                )
        name = request.get("TransformJobName") or f"twin-transform-{uuid.uuid4().hex[:12]}"
        count = int(str(request.get("TransformResources", {}).get("InstanceCount", 1)))
        if count < 1:
            raise StepFailedError(
                f"transform: InstanceCount {count} is not allowed; expected 1 or more"
            )
        container = model_container(clients, request["ModelName"])
        keys = _input_keys(clients, request)
        shares = {f"algo-{index + 1}": keys[index::count] for index in range(count)}

        def host(host_name: str, share: list[str]) -> list[str]:
            url, process = start_model_server(
                clients, container, work / "transform" / name / host_name, f"transform job {name}"
            )
            try:
                return _transform(clients, url, request, share)
            finally:
                process.terminate()
                process.wait(timeout=30)

        busy = {h: share for h, share in shares.items() if share}
        with ThreadPoolExecutor(max_workers=len(busy)) as pool:
            futures = [pool.submit(host, h, share) for h, share in busy.items()]
            written = sorted(uri for future in futures for uri in future.result())
        return {
            "TransformJobName": name,
            "TransformJobStatus": "Completed",
            "ModelName": request["ModelName"],
            "TransformInput": request["TransformInput"],
            "TransformOutput": {**request["TransformOutput"], "Written": written},
        }

    return run


def _input_keys(clients: Clients, request: dict[str, Any]) -> list[str]:
    """The input objects' keys, sorted; a StepFailedError when there are none."""
    source = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    bucket, _, prefix = source[5:].partition("/")
    keys = sorted(
        item["Key"]
        for page in clients("s3")
        .get_paginator("list_objects_v2")
        .paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if not item["Key"].endswith("/")
    )
    if not keys:
        raise StepFailedError(f"transform: no input objects under {source}")
    return keys


def _transform(clients: Clients, url: str, request: dict[str, Any], keys: list[str]) -> list[str]:
    """Score the input objects ``keys`` with the server at ``url``; the output objects' URIs."""
    s3 = clients("s3")
    source = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    bucket, _, prefix = source[5:].partition("/")
    output = request["TransformOutput"]
    out_bucket, _, out_prefix = output["S3OutputPath"][5:].partition("/")
    joiner = b"\n" if output.get("AssembleWith", "None") == "Line" else b""
    limit = int(request.get("MaxPayloadInMB") or DEFAULT_MAX_PAYLOAD_MB) * 1024 * 1024
    headers = {"Content-Type": request["TransformInput"].get("ContentType", "text/csv")}
    if output.get("Accept"):
        headers["Accept"] = output["Accept"]
    written = []
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        lines = [line for line in body.splitlines() if line.strip()]
        answers = [_invoke(url, chunk, headers, key) for chunk in batches(lines, limit)]
        relative = key[len(prefix) :].lstrip("/") if prefix else key
        target = "/".join(p for p in (out_prefix.strip("/"), relative + ".out") if p)
        s3.put_object(
            Bucket=out_bucket, Key=target, Body=joiner.join(a.rstrip(b"\n") for a in answers)
        )
        written.append(f"s3://{out_bucket}/{target}")
    return written


def _invoke(url: str, body: bytes, headers: dict[str, str], key: str) -> bytes:
    request = urllib.request.Request(
        f"{url}/invocations", data=body, method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as error:
        text = error.read().decode("utf-8", "replace").strip()
        raise StepFailedError(
            f"transform: the model answered {error.code} for {key}: {text[:300]}"
        ) from None
