"""The twin's InvokeEndpoint: a caller's InferenceId reaches the container and the capture, as on
SageMaker; without one the record has only its eventId; an id SageMaker would refuse is refused."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from project_infra.twin.runtime import Hosted, Runtime

HEADER = "X-Amzn-SageMaker-Inference-Id"


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_object(self, Bucket: str, Key: str, Body: bytes) -> None:  # noqa: N803 - boto3's names
        self.objects[f"s3://{Bucket}/{Key}"] = Body


@pytest.fixture
def container() -> Iterator[tuple[str, list[str | None]]]:
    """A stand-in model server: answers 0.5 and notes the inference id header of each request."""
    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(self.headers.get(HEADER))
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"0.5\n")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_invoke_endpoint_inference_ids(
    container: tuple[str, list[str | None]], tmp_path: Path
) -> None:
    url, seen = container
    s3 = FakeS3()
    runtime = Runtime(lambda service: s3, tmp_path, lambda line: None)
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    hosted = Hosted("ep", "AllTraffic", url, idle, "s3://bucket/capture")
    runtime.endpoints["ep"] = hosted
    client = boto3.client(
        "sagemaker-runtime",
        endpoint_url=runtime.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    try:
        given = client.invoke_endpoint(
            EndpointName="ep", Body=b"1,2,3,4", ContentType="text/csv", InferenceId="order-17 #a"
        )
        client.invoke_endpoint(EndpointName="ep", Body=b"5,6,7,8", ContentType="text/csv")
        refused = []
        # botocore checks only the minimum length; HTTP drops a value's leading spaces.
        for bad in ("x" * 65, "café"):
            with pytest.raises(ClientError) as caught:
                client.invoke_endpoint(
                    EndpointName="ep", Body=b"1,2,3,4", ContentType="text/csv", InferenceId=bad
                )
            refused.append(caught.value.response)
        [key] = runtime.flush(hosted)
    finally:
        runtime.server.shutdown()
        idle.kill()
        idle.wait()
    assert given["Body"].read() == b"0.5\n"
    assert "x-amzn-sagemaker-inference-id" not in given["ResponseMetadata"]["HTTPHeaders"]
    assert seen == ["order-17 #a", None]  # refused requests never reach the container
    for response in refused:
        assert response["Error"]["Code"] == "ValidationError"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert response["Error"]["Message"].endswith(
            "is not valid; allowed: 1 to 64 printable ASCII characters, the first not a space"
        )
    records = [json.loads(line) for line in s3.objects[key].decode().splitlines()]
    metadata = [record["eventMetadata"] for record in records]
    assert [m.get("inferenceId") for m in metadata] == ["order-17 #a", None]
    assert "inferenceId" not in metadata[1]  # absent, not null: SageMaker's record without one
    assert all(m["eventId"] and m["eventId"] != "order-17 #a" for m in metadata)
    assert [r["captureData"]["endpointInput"]["data"] for r in records] == ["1,2,3,4", "5,6,7,8"]
