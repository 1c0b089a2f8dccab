"""The SageMaker runtime stand-in: InvokeEndpoint on 127.0.0.1 for the endpoints deployed into the
emulator. Each endpoint is served by the image's own server, started from the deployed model
package's artifact in the emulated S3; requests are captured outside the container, as SageMaker
does, to where the deployed EndpointConfig's DataCaptureConfig says.

InvokeEndpoint's ``InferenceId`` (header ``X-Amzn-SageMaker-Inference-Id``, botocore's
sagemaker-runtime model) is checked against its documented constraint, passed on to the container
under the same header, and captured as ``eventMetadata.inferenceId``; without one the record has
only its ``eventId``, as SageMaker writes it
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html). The answer
carries no id: InvokeEndpointOutput has no such member."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from model_container.monitor.capture import capture_record
from model_container.serve import inference_id

Clients = Callable[[str], Any]


@dataclass
class Hosted:
    endpoint: str
    variant: str
    url: str
    process: subprocess.Popen[bytes]
    capture_uri: str  # "" = capture off
    sampling: int = 100
    csv_types: tuple[str, ...] = ("text/csv",)
    json_types: tuple[str, ...] = ("application/json",)
    records: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Runtime:
    def __init__(self, clients: Clients, work: Path, log: Callable[[str], None]) -> None:
        self.clients = clients
        self.work = work
        self.log = log
        self.endpoints: dict[str, Hosted] = {}
        self.invocations = 0
        runtime = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:  # the twin logs its own timeline
                pass

            def do_POST(self) -> None:
                runtime._invoke(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    # -- hosting ----------------------------------------------------------------------------------------

    def host(
        self, endpoint: str, model_package_arn: str, endpoint_config: dict[str, Any]
    ) -> Hosted:
        """Serve ``model_package_arn`` as ``endpoint`` (replacing what served it before)."""
        self.retire(endpoint)
        package = self.clients("sagemaker").describe_model_package(
            ModelPackageName=model_package_arn
        )
        container = package["InferenceSpecification"]["Containers"][0]
        url, process = start_model_server(
            self.clients, container, self.work / "endpoints" / endpoint, f"endpoint {endpoint}"
        )
        variant = endpoint_config["ProductionVariants"][0]["VariantName"]
        capture = endpoint_config.get("DataCaptureConfig", {})
        header = capture.get("CaptureContentTypeHeader", {})
        hosted = Hosted(
            endpoint,
            variant,
            url,
            process,
            capture.get("DestinationS3Uri", "") if _true(capture.get("EnableCapture")) else "",
            int(capture.get("InitialSamplingPercentage", 100)),
            tuple(header.get("CsvContentTypes", ["text/csv"])),
            tuple(header.get("JsonContentTypes", ["application/json"])),
        )
        self.endpoints[endpoint] = hosted
        self.log(f"  endpoint {endpoint}: {model_package_arn} served on {url} (image's server)")
        return hosted

    def retire(self, endpoint: str) -> None:
        hosted = self.endpoints.pop(endpoint, None)
        if hosted is not None:
            self.flush(hosted)
            hosted.process.terminate()
            hosted.process.wait(timeout=30)

    def stop(self) -> None:
        for endpoint in list(self.endpoints):
            self.retire(endpoint)
        self.server.shutdown()

    # -- capture ----------------------------------------------------------------------------------------

    def flush(self, hosted: Hosted) -> list[str]:
        """Write the buffered capture records to S3, one object per hour, as SageMaker names them."""
        with hosted.lock:
            records, hosted.records = hosted.records, []
        if not records or not hosted.capture_uri:
            return []
        bucket, _, prefix = hosted.capture_uri[5:].partition("/")
        by_hour: dict[str, list[str]] = {}
        for record in records:
            when = datetime.strptime(
                record["eventMetadata"]["inferenceTime"], "%Y-%m-%dT%H:%M:%S.%fZ"
            )
            hour = when.strftime("%Y/%m/%d/%H")
            by_hour.setdefault(hour, []).append(json.dumps(record))
        keys = []
        for hour, lines in by_hour.items():
            name = f"{datetime.now(UTC).strftime('%M-%S-%f')[:-3]}-{uuid.uuid4()}.jsonl"
            key = "/".join(
                p for p in (prefix.strip("/"), hosted.endpoint, hosted.variant, hour, name) if p
            )
            self.clients("s3").put_object(
                Bucket=bucket, Key=key, Body=("\n".join(lines) + "\n").encode()
            )
            keys.append(f"s3://{bucket}/{key}")
        return keys

    def flush_all(self) -> list[str]:
        return [key for hosted in self.endpoints.values() for key in self.flush(hosted)]

    # -- InvokeEndpoint ----------------------------------------------------------------------------------

    def _invoke(self, request: BaseHTTPRequestHandler) -> None:
        parts = request.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "endpoints" or parts[2] != "invocations":
            return _error(
                request, 404, "UnknownOperationException", f"{request.path} is not InvokeEndpoint"
            )
        hosted = self.endpoints.get(parts[1])
        if hosted is None:
            return _error(request, 400, "ValidationError", f"Endpoint {parts[1]} not found.")
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        content_type = request.headers.get("Content-Type", "application/octet-stream")
        accept = request.headers.get("Accept", "")
        caller_id = request.headers.get(inference_id.HEADER)
        if caller_id is not None:
            try:
                inference_id.check(caller_id)
            except inference_id.InferenceIdError as invalid:
                return _error(request, 400, "ValidationError", str(invalid))
        headers = {"Content-Type": content_type}
        if accept:
            headers["Accept"] = accept
        if caller_id is not None:
            headers[inference_id.HEADER] = caller_id
        forward = urllib.request.Request(
            f"{hosted.url}/invocations", data=body, method="POST", headers=headers
        )
        self.invocations += 1
        try:
            with urllib.request.urlopen(forward, timeout=60) as response:
                answer, answer_type = response.read(), response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            # SageMaker answers a model's own error status with ModelError (424).
            text = error.read().decode("utf-8", "replace")
            return _error(
                request,
                424,
                "ModelError",
                f'Received client error ({error.code}) from primary with message "{text}"',
                {"OriginalStatusCode": error.code, "OriginalMessage": text},
            )
        if hosted.capture_uri:
            record = capture_record(
                request=body,
                request_content_type=content_type,
                response=answer,
                response_content_type=answer_type,
                csv_content_types=hosted.csv_types,
                json_content_types=hosted.json_types,
                inference_id=caller_id,
            )
            with hosted.lock:
                hosted.records.append(record)
        request.send_response(200)
        request.send_header("Content-Type", answer_type)
        request.send_header("x-Amzn-Invoked-Production-Variant", hosted.variant)
        request.send_header("Content-Length", str(len(answer)))
        request.end_headers()
        request.wfile.write(answer)


def start_model_server(
    clients: Clients, container: dict[str, Any], folder: Path, what: str
) -> tuple[str, subprocess.Popen[bytes]]:
    """The image's own server for a model container (``ModelDataUrl`` in the emulated S3, unpacked
    where SageMaker puts it, ``Environment`` applied), on a free loopback port; returns its URL."""
    opt_ml = folder / "opt_ml"
    model_dir = opt_ml / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    archive = folder / "model.tar.gz"
    bucket, key = container["ModelDataUrl"][5:].split("/", 1)
    clients("s3").download_file(bucket, key, str(archive))
    with tarfile.open(archive) as tar:
        tar.extractall(model_dir, filter="data")
    port = _free_port()
    server = Path(sys.executable).parent / "serve"
    env = {
        **os.environ,
        "OPT_ML": str(opt_ml),
        "MODEL_SERVER_HOST": "127.0.0.1",
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "MODEL_SERVER_WORKERS": "1",
        **{k: str(v) for k, v in container.get("Environment", {}).items()},
    }
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen([str(server)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    _wait_ready(url, process, what)
    return url, process


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _error(
    request: BaseHTTPRequestHandler,
    status: int,
    code: str,
    message: str,
    extra: dict[str, Any] | None = None,
) -> None:
    body = json.dumps({"__type": code, "message": message, **(extra or {})}).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/x-amz-json-1.1")
    request.send_header("x-amzn-ErrorType", code)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def _wait_ready(url: str, process: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what}: the model server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{what}: the model server did not answer /ping within {timeout:.0f}s")
