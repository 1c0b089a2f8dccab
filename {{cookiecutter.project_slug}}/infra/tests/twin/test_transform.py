"""The twin's batch transform: how input lines become requests, how several instances share the
input objects, and what it refuses to emulate."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from model_build.errors import StepFailedError
from project_infra.twin import transform
from project_infra.twin.transform import batches, runner


def test_lines_are_batched_whole_in_order_within_the_limit() -> None:
    lines = [f"{i},{i % 5},3,{'x' * (i % 7)}".encode() for i in range(200)]
    chunks = list(batches(lines, 100))
    assert b"".join(chunks).splitlines() == lines
    assert all(len(chunk) <= 100 for chunk in chunks)
    assert all(chunk.endswith(b"\n") for chunk in chunks)


def test_a_line_longer_than_the_limit_goes_alone() -> None:
    lines = [b"1,2", b"9" * 50, b"3,4"]
    assert list(batches(lines, 10)) == [b"1,2\n", b"9" * 50 + b"\n", b"3,4\n"]


def _request(**changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "ModelName": "m",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": "s3://b/out", "AssembleWith": "Line"},
    }
    request["TransformInput"].update(changes)
    return request


def _no_clients(service: str) -> Any:
    raise AssertionError(f"no {service} call expected before the request is checked")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"SplitType": "RecordIO"}, "SplitType='RecordIO' is not emulated by the twin"),
        ({"SplitType": "None"}, "SplitType='None' is not emulated by the twin"),
    ],
)
def test_what_the_twin_does_not_emulate_fails_the_step_in_one_line(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(StepFailedError, match=message):
        runner(_no_clients, tmp_path)(_request(**changes), {})


def test_a_single_record_strategy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StepFailedError, match="BatchStrategy='SingleRecord'"):
        runner(_no_clients, tmp_path)({**_request(), "BatchStrategy": "SingleRecord"}, {})


class _Server:
    """A stand-in model server on loopback: answers each line with the host that scored it."""

    def __init__(self, host: str) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = b"".join(f"{host}\n".encode() for _ in body.splitlines())
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def terminate(self) -> None:
        self.httpd.shutdown()

    def wait(self, timeout: float) -> None:
        self.httpd.server_close()


def test_two_instances_score_a_share_of_the_objects_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    started: list[str] = []

    def fake_server(_clients: Any, _container: Any, folder: Path, _what: str) -> Any:
        started.append(folder.name)
        server = _Server(folder.name)
        return server.url, server

    monkeypatch.setattr(transform, "start_model_server", fake_server)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bkt")
        for name in ("a.csv", "b.csv", "c.csv"):
            s3.put_object(Bucket="bkt", Key=f"in/{name}", Body=b"1,2\n3,4\n")
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        sagemaker.create_model(
            ModelName="m",
            PrimaryContainer={"Image": "img", "ModelDataUrl": "s3://bkt/model.tar.gz"},
            ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
        )
        clients = {"s3": s3, "sagemaker": sagemaker}
        request = {**_request(), "TransformResources": {"InstanceCount": 2}}
        request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = "s3://bkt/in/"
        request["TransformOutput"]["S3OutputPath"] = "s3://bkt/out"
        record = runner(clients.__getitem__, tmp_path)(request, {})
        scored = {
            name: s3.get_object(Bucket="bkt", Key=f"out/{name}.out")["Body"].read()
            for name in ("a.csv", "b.csv", "c.csv")
        }
    assert sorted(started) == ["algo-1", "algo-2"]
    # Object i of the sorted keys on host i mod 2; each object whole on one host, lines in order.
    assert scored == {
        "a.csv": b"algo-1\nalgo-1",
        "b.csv": b"algo-2\nalgo-2",
        "c.csv": b"algo-1\nalgo-1",
    }
    assert record["TransformOutput"]["Written"] == [
        f"s3://bkt/out/{name}.out" for name in ("a.csv", "b.csv", "c.csv")
    ]
