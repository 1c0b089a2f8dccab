"""The API's Lambda handler (model-deploy/api/handler.py) in front of the image's own model server
(model-build/container), reached through the twin's InvokeEndpoint stand-in on 127.0.0.1: real answers
of the server, real ModelError/ValidationError shapes of the runtime API, and model-deploy's endpoint
suite passing through a SigV4-checking stand-in of the REST API. It lives with the twin because it
needs both sides (model-deploy's unit tests of the handler need neither)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from model_container import examples as checked_examples
from model_container.artifact import load as load_model
from model_container.serve import codec
from project_infra.twin import runtime as twin

PROJECT = Path(__file__).resolve().parents[3]
DEPLOY = PROJECT / "model-deploy"
SERVE_FIXTURES = PROJECT / "model-build" / "container" / "tests" / "serve" / "serve_fixtures.py"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


proxy = _load("api_proxy", DEPLOY / "tests" / "api_proxy.py")
ENDPOINT, event, body_of, error_of = proxy.ENDPOINT, proxy.event, proxy.body_of, proxy.error_of


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return proxy.load_handler(monkeypatch)


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Any, list[bytes], Path]]:
    """(the twin's runtime serving ENDPOINT with the image's server, a few valid rows, the model)."""
    fixtures = _load("serve_fixtures_for_api", SERVE_FIXTURES)
    model_dir = fixtures.write_model(tmp_path_factory.mktemp("opt_ml") / "model", rounds=5)
    port = proxy.free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {
        **os.environ,
        "MODEL_SERVER_MODEL_DIR": str(model_dir),
        "MODEL_SERVER_HOST": "127.0.0.1",
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "model_container.serve"], env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the model server did not start: {log.read_text()[-1000:]}")
            time.sleep(0.1)
    runtime = twin.Runtime(lambda _service: None, tmp_path_factory.mktemp("twin"), lambda _: None)
    runtime.endpoints[ENDPOINT] = twin.Hosted(ENDPOINT, "AllTraffic", url, process, "")
    # valid rows as clients send them, for whatever model folder the project holds (its schema)
    rows = fixtures.csv_body(fixtures.make_rows(3, seed=1, missing=0.0)).splitlines()
    try:
        yield runtime, rows, model_dir
    finally:
        runtime.server.shutdown()
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def api(
    served: tuple[Any, list[bytes], Path],
    handler: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[ModuleType, Any, list[bytes]]:
    runtime, rows, _ = served
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", runtime.url)
    return handler, runtime, rows


def csv_of(rows: list[bytes]) -> bytes:
    return b"\n".join(rows)


def test_a_valid_request_gets_the_model_servers_scores(api: tuple[Any, Any, Any]) -> None:
    handler, _, rows = api
    response = handler.handler(event(csv_of(rows), Accept="text/csv"))
    assert response["statusCode"] == 200, body_of(response)
    assert response["headers"]["Content-Type"] == "text/csv"
    scores = [float(line) for line in body_of(response).decode().splitlines()]
    assert len(scores) == len(rows) and all(0.0 <= s <= 1.0 for s in scores)
    named = handler.handler(event(csv_of(rows[:1]), **{"X-Amzn-SageMaker-Inference-Id": "order-1"}))
    assert float(body_of(named)) == pytest.approx(scores[0])


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status"),
    [
        (b"1,2", "text/csv", None, 400),  # a malformed row: the server's 400, not a 5xx
        (b"\xff\xfe\x00", "text/csv", None, 400),  # not text: the bytes reach the server unchanged
        (b"{not json", "application/json", None, 400),
        (b"1,2,3", "text/csv", "image/png", 406),
    ],
)
def test_the_model_servers_4xx_stays_4xx_with_its_message(
    api: tuple[Any, Any, Any], body: bytes, content_type: str, accept: str | None, status: int
) -> None:
    handler, _, _ = api
    headers = {"Accept": accept} if accept else {}
    response = handler.handler(event(body, content_type, **headers))
    message = error_of(response, status)
    assert "ModelError" not in message  # the server's own message, not the runtime API's wrapper


def test_oversized_and_unsupported_bodies_never_reach_the_endpoint(
    api: tuple[Any, Any, Any],
) -> None:
    handler, runtime, rows = api
    before = runtime.invocations
    too_big = error_of(handler.handler(event(b"1," * 50001)), 413)
    assert "100000" in too_big
    wrong = error_of(handler.handler(event(csv_of(rows), "application/x-npy")), 415)
    assert "application/x-npy" in wrong and "text/csv" in wrong
    error_of(handler.handler(event(csv_of(rows), None)), 415)
    assert runtime.invocations == before
    # The media type decides, not its parameters or case (the server reads them the same way).
    ok = handler.handler(event(csv_of(rows), "Text/CSV; charset=utf-8"))
    assert ok["statusCode"] == 200
    assert runtime.invocations == before + 1


def test_the_content_types_are_the_ones_the_image_reads(handler: ModuleType) -> None:
    assert set(codec.CONTENT_TYPES) | set(codec._ALIASES) == handler.CONTENT_TYPES


def test_an_unknown_endpoint_is_a_clear_503(
    api: tuple[Any, Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, _, rows = api
    monkeypatch.setenv("ENDPOINT_NAME", "demo-missing")
    message = error_of(handler.handler(event(csv_of(rows))), 503)
    assert message.startswith("endpoint demo-missing is not available")


# -- the endpoint contract suite through the API ---------------------------------------------------------


class _SignatureError(ValueError):
    pass


def _check_signature(method: str, url: str, headers: dict[str, str], body: bytes) -> None:
    """What API Gateway's IAM authorization checks first: a SigV4 signature for execute-api,
    recomputed here with the test credentials over the same request and time."""
    given = headers.get("authorization", "")
    if "/execute-api/aws4_request" not in given:
        raise _SignatureError(f"not signed for execute-api: {given[:80]!r}")
    signed = given.split("SignedHeaders=", 1)[-1].split(",", 1)[0].split(";")
    credentials = Credentials("testing", "testing")
    request = AWSRequest(method, url, data=body, headers={k: headers.get(k, "") for k in signed})
    request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(credentials, "execute-api", "us-east-1")
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if given.rsplit("Signature=", 1)[-1] != expected:
        raise _SignatureError("the signature does not match the request")


@pytest.fixture
def gateway(api: tuple[Any, Any, Any]) -> Iterator[str]:
    """A stand-in for the deployed REST API on 127.0.0.1: checks the SigV4 signature, turns the
    request into the proxy event API Gateway sends and the handler's answer into the response."""
    handler = api[0]

    class Gateway(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            url = f"http://{headers['host']}{self.path}"
            try:
                _check_signature("POST", url, headers, body)
            except _SignatureError as refused:
                return self._reply(403, json.dumps({"message": str(refused)}).encode(), {})
            if self.path != "/staging/invocations":
                return self._reply(403, b'{"message": "Missing Authentication Token"}', {})
            proxy = event(body, None)
            proxy["headers"] = dict(self.headers.items())
            response = handler.handler(proxy)
            self._reply(response["statusCode"], body_of(response), response["headers"])
            return None

        def _reply(self, status: int, data: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/staging"
    server.shutdown()


def test_the_endpoint_contract_suite_passes_through_the_api(
    gateway: str, served: tuple[Any, list[bytes], Path], tmp_path: Path
) -> None:
    """tests/endpoint with ENDPOINT_API_URL: every test the API can serve passes (the routes it does
    not expose skip). The latency test is left out: here it would time the stand-ins, not the API."""
    _, rows, model_dir = served
    features = json.loads((model_dir / "model-metadata.json").read_text())["features"]
    requests = b"\n".join([",".join(features).encode(), *rows]).decode()
    # the served model's rows with its scores, as the Evaluate step registers them
    examples = tmp_path / "examples.csv"
    examples.write_text(checked_examples.with_expected_scores(requests, load_model(model_dir)))
    env = {
        **os.environ,
        "ENDPOINT_API_URL": gateway,
        "ENDPOINT_EXAMPLES": str(examples),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name in ("ENDPOINT_URL", "ENDPOINT_NAME", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(name, None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rs",
            "-k",
            "not latency",
            "tests/endpoint",
        ],
        cwd=DEPLOY,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary, summary
    skipped = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    # Only the routes the API does not expose and InvokeEndpoint's own 6 MB refusal.
    assert len(skipped) == 3, skipped
    assert all("not exposed by the API" in line or "6 MB" in line for line in skipped), skipped


def test_an_unsigned_or_tampered_request_is_refused_by_the_stand_in(gateway: str) -> None:
    """The stand-in's signature check can fail (else the suite above would prove nothing of it)."""
    request = urllib.request.Request(
        f"{gateway}/invocations", data=b"1,2,3", method="POST", headers={"Content-Type": "text/csv"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    signed = AWSRequest(
        "POST", f"{gateway}/invocations", data=b"1,2,3", headers={"Content-Type": "text/csv"}
    )
    SigV4Auth(Credentials("testing", "testing"), "execute-api", "us-east-1").add_auth(signed)
    tampered = urllib.request.Request(
        f"{gateway}/invocations", data=b"9,9,9", method="POST", headers=dict(signed.headers)
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered, timeout=10)
    assert refused.value.code == 403
