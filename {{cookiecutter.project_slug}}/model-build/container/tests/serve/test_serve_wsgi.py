"""The WSGI app's routes and error mapping, called directly (no sockets)."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pytest
from serve_fixtures import N_FEATURES, csv_body, csv_line, json_body, make_rows, parse

from model_container.monitor.capture import CaptureWriter, record_id
from model_container.serve import wsgi
from model_container.serve.model import Model
from model_container.serve.wsgi import InferenceApp

ROW = csv_line(seed=3)  # one complete row of the schema's features, as a client sends it
LIMIT = max(1024, 8 * len(ROW))  # a few rows fit
WIDE = ROW + b",1"  # one column too many
OVER_LIMIT = (ROW + b"\n") * (LIMIT // len(ROW) + 1)  # just over the limit


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        assert self.headers["Content-Type"] == "application/json"
        return orjson.loads(self.body)


@pytest.fixture
def app(model: Model) -> InferenceApp:
    return InferenceApp(model, max_body_bytes=LIMIT, workers=3)


def call(
    app: InferenceApp,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    content_type: str | None = None,
    accept: str | None = None,
    chunked: bool = False,
    inference_id: str | None = None,
) -> Reply:
    environ: dict = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(body)}
    if not chunked:
        environ["CONTENT_LENGTH"] = str(len(body))
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    if accept is not None:
        environ["HTTP_ACCEPT"] = accept
    if inference_id is not None:
        environ["HTTP_X_AMZN_SAGEMAKER_INFERENCE_ID"] = inference_id
    seen: dict = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = int(status.split(maxsplit=1)[0]), dict(headers)

    out = b"".join(app(environ, start_response))
    assert int(seen["headers"]["Content-Length"]) == len(out)
    return Reply(seen["status"], seen["headers"], out)


def test_ping(app: InferenceApp) -> None:
    assert call(app, "GET", "/ping").status == 200
    assert call(app, "HEAD", "/ping").status == 200


def test_execution_parameters_for_batch_transform(app: InferenceApp) -> None:
    assert call(app, "GET", "/execution-parameters").json() == {
        "MaxConcurrentTransforms": 3,
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": 1,
    }


def test_csv_invocation_scores_every_row(app: InferenceApp, model: Model) -> None:
    rows = make_rows(5, seed=11)
    body = csv_body(rows)
    np.testing.assert_array_equal(parse(body), rows)  # the body holds exactly these rows
    reply = call(app, "POST", "/invocations", body, content_type="text/csv")
    assert (reply.status, reply.headers["Content-Type"]) == (200, "text/csv")
    np.testing.assert_array_equal(
        np.array(reply.body.decode().split(), dtype=np.float32), model.predict(rows)
    )


def test_json_in_json_out(app: InferenceApp, model: Model) -> None:
    rows = make_rows(1, seed=12, missing=0.0)
    body = json_body(rows)
    np.testing.assert_array_equal(parse(body, "application/json"), rows)
    reply = call(app, "POST", "/invocations", body, content_type="application/json; charset=utf-8")
    (prediction,) = reply.json()["predictions"]
    expected = float(model.predict(rows)[0])
    assert prediction == {"score": pytest.approx(expected, rel=1e-6), "label": int(expected >= 0.5)}


def test_json_instances_with_missing_features_are_scored(app: InferenceApp, model: Model) -> None:
    rows = make_rows(3, seed=13, missing=0.3)  # within LIMIT
    reply = call(app, "POST", "/invocations", json_body(rows), content_type="application/json")
    scores = [p["score"] for p in reply.json()["predictions"]]
    np.testing.assert_allclose(scores, model.predict(rows), rtol=1e-6)


def test_chunked_body_within_the_limit(app: InferenceApp) -> None:
    assert (
        call(app, "POST", "/invocations", ROW, content_type="text/csv", chunked=True).status == 200
    )


@pytest.mark.parametrize(
    "case",
    [
        ("GET", "/nope", b"", None, None, 404, "path '/nope' not found"),
        ("GET", "/invocations", b"", None, None, 405, "use POST"),
        ("POST", "/ping", b"", None, None, 405, "use GET"),
        (
            "POST",
            "/invocations",
            ROW,
            None,
            None,
            415,
            "Content-Type '(none)' is not supported",
        ),
        (
            "POST",
            "/invocations",
            ROW,
            "text/plain",
            None,
            415,
            "'text/plain' is not supported",
        ),
        ("POST", "/invocations", ROW, "text/csv", "image/png", 406, "Accept 'image/png'"),
        ("POST", "/invocations", b"", "text/csv", None, 400, "body is empty"),
        (
            "POST",
            "/invocations",
            WIDE,
            "text/csv",
            None,
            400,
            f"row 1 has {N_FEATURES + 1} columns; expected {N_FEATURES}",
        ),
        (
            "POST",
            "/invocations",
            OVER_LIMIT,
            "text/csv",
            None,
            413,
            f"exceeds the limit of {LIMIT} bytes",
        ),
    ],
)
def test_client_errors_are_4xx_json_naming_the_problem(app: InferenceApp, case: tuple) -> None:
    method, path, body, content_type, accept, status, fragment = case
    reply = call(app, method, path, body, content_type=content_type, accept=accept)
    assert reply.status == status
    assert fragment in reply.json()["error"]


def test_no_limit_when_the_payload_limit_is_zero(model: Model) -> None:
    unlimited = InferenceApp(model, max_body_bytes=0, workers=1)
    body = OVER_LIMIT
    assert call(unlimited, "POST", "/invocations", body, content_type="text/csv").status == 200
    assert (
        call(unlimited, "POST", "/invocations", body, content_type="text/csv", chunked=True).status
        == 200
    )
    assert call(unlimited, "GET", "/execution-parameters").json()["MaxPayloadInMB"] == 0


def test_oversized_chunked_body_is_413(app: InferenceApp) -> None:
    reply = call(app, "POST", "/invocations", OVER_LIMIT, content_type="text/csv", chunked=True)
    assert reply.status == 413


class Upload(io.BytesIO):
    """A request body that records how much of it the app has read."""

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        self.taken = self.tell()
        return data


def post(app: InferenceApp, body: bytes, declared: int | None, **headers: str) -> tuple[int, int]:
    """POST `body` (Content-Length `declared`, or chunked when None); the status and bytes read."""
    upload = Upload(body)
    upload.taken = 0
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/invocations", "wsgi.input": upload}
    environ["CONTENT_TYPE"] = "text/csv"
    if declared is not None:
        environ["CONTENT_LENGTH"] = str(declared)
    environ.update(headers)
    seen: list[str] = []
    b"".join(app(environ, lambda status, headers: seen.append(status)))
    return int(seen[0][:3]), upload.taken


def test_an_oversized_body_is_read_and_dropped_before_the_413(
    app: InferenceApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client still sending (http.client, requests) reads the 413 only if the server took the body.
    big = OVER_LIMIT * 3
    assert post(app, big, len(big)) == (413, len(big))
    assert post(app, big, None) == (413, len(big))
    # Bounded: past DISCARD_BYTES the server stops reading (and the connection is closed).
    monkeypatch.setattr(wsgi, "DISCARD_BYTES", LIMIT * 2)
    assert post(app, big, len(big)) == (413, LIMIT * 2)
    # A client that asked first (Expect: 100-continue) has not sent the body: answer at once.
    assert post(app, big, len(big), HTTP_EXPECT="100-continue") == (413, 0)


def test_scoring_holds_the_gate_and_reading_the_body_does_not(model: Model) -> None:
    events: list[str] = []

    class Gate:
        def __enter__(self) -> None:
            events.append("enter")

        def __exit__(self, *exc: object) -> None:
            events.append("exit")

    class Body(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            events.append("read")
            return super().read(size)

    gated = InferenceApp(model, max_body_bytes=LIMIT, workers=1, gate=Gate())
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/invocations",
        "CONTENT_TYPE": "text/csv",
        "CONTENT_LENGTH": str(len(ROW)),
        "wsgi.input": Body(ROW),
    }
    assert b"".join(gated(environ, lambda *args: None))
    assert events == ["read", "enter", "exit"]
    gated({"REQUEST_METHOD": "GET", "PATH_INFO": "/ping", "wsgi.input": Body()}, lambda *args: None)
    assert events == ["read", "enter", "exit"]  # /ping does not wait for scoring


def test_a_bug_is_a_500_json_and_the_app_keeps_serving(
    app: InferenceApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(rows: np.ndarray) -> np.ndarray:
        raise RuntimeError("boom")

    monkeypatch.setattr(app.model, "predict", explode)
    reply = call(app, "POST", "/invocations", ROW, content_type="text/csv")
    assert reply.status == 500
    assert "boom" not in reply.json()["error"]  # internals stay in the log
    monkeypatch.undo()
    assert call(app, "POST", "/invocations", ROW, content_type="text/csv").status == 200


def test_no_caching_every_request_runs_the_model(
    app: InferenceApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = app.model.predict
    monkeypatch.setattr(app.model, "predict", lambda rows: calls.append(1) or real(rows))
    for _ in range(3):
        call(app, "POST", "/invocations", ROW, content_type="text/csv")
    assert len(calls) == 3


def test_capture_writes_each_answered_request_like_an_endpoint(
    model: Model, tmp_path: Path
) -> None:
    """Locally the server writes SageMaker data-capture records so the drift monitor can read them."""
    capturing = InferenceApp(
        model, max_body_bytes=LIMIT, workers=1, capture=CaptureWriter(tmp_path)
    )
    body = csv_body(make_rows(2, seed=14))
    ok = call(capturing, "POST", "/invocations", body, content_type="text/csv", accept="text/csv")
    bad = call(capturing, "POST", "/invocations", b"x,y", content_type="text/csv")
    assert (ok.status, bad.status) == (200, 400)
    files = sorted(tmp_path.rglob("*.jsonl"))
    assert len(files) == 1 and files[0].relative_to(tmp_path).parts[:2] == ("local", "AllTraffic")
    records = [orjson.loads(line) for line in files[0].read_bytes().splitlines()]
    assert len(records) == 1  # rejected requests are not captured
    captured = records[0]["captureData"]
    assert captured["endpointInput"]["observedContentType"] == "text/csv"
    assert captured["endpointOutput"]["observedContentType"] == "text/csv"


def test_inference_ids_are_honoured_made_and_captured_as_sagemaker_does(
    model: Model, tmp_path: Path
) -> None:
    """A caller's id is the record's inferenceId; without one the server's id is its eventId."""
    capturing = InferenceApp(
        model, max_body_bytes=LIMIT, workers=1, capture=CaptureWriter(tmp_path)
    )
    given = call(
        capturing, "POST", "/invocations", ROW, content_type="text/csv", inference_id="order-17 #a"
    )
    made = call(capturing, "POST", "/invocations", ROW, content_type="text/csv")
    assert (given.status, made.status) == (200, 200)
    assert given.headers["X-Amzn-SageMaker-Inference-Id"] == "order-17 #a"
    generated = made.headers["X-Amzn-SageMaker-Inference-Id"]
    assert uuid.UUID(generated).version == 4
    [file] = tmp_path.rglob("*.jsonl")
    records = [orjson.loads(line) for line in file.read_bytes().splitlines()]
    assert [list(record["eventMetadata"]) for record in records] == [
        ["eventId", "inferenceId", "inferenceTime"],
        ["eventId", "inferenceTime"],  # as SageMaker writes it when the caller gave no id
    ]
    assert records[0]["eventMetadata"]["inferenceId"] == "order-17 #a"
    assert records[0]["eventMetadata"]["eventId"] not in ("order-17 #a", generated)
    assert records[1]["eventMetadata"]["eventId"] == generated
    assert [record_id(record) for record in records] == [
        ("order-17 #a", False),
        (generated, True),
    ]


def test_an_id_invoke_endpoint_would_refuse_is_a_400_and_not_captured(
    model: Model, tmp_path: Path
) -> None:
    capturing = InferenceApp(
        model, max_body_bytes=LIMIT, workers=1, capture=CaptureWriter(tmp_path)
    )
    for bad in ("x" * 65, " padded"):
        reply = call(
            capturing, "POST", "/invocations", ROW, content_type="text/csv", inference_id=bad
        )
        assert reply.status == 400
        assert reply.json()["error"] == (
            f"X-Amzn-SageMaker-Inference-Id {bad!r} is not valid; "
            "allowed: 1 to 64 printable ASCII characters, the first not a space"
        )
        assert "X-Amzn-SageMaker-Inference-Id" not in reply.headers
    assert not list(tmp_path.rglob("*.jsonl"))


def test_other_errors_and_bugs_carry_the_id(
    app: InferenceApp, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    wide = call(app, "POST", "/invocations", WIDE, content_type="text/csv", inference_id="w-1")
    assert (wide.status, wide.headers["X-Amzn-SageMaker-Inference-Id"]) == (400, "w-1")
    monkeypatch.setattr(app.model, "predict", lambda rows: 1 / 0)
    broken = call(app, "POST", "/invocations", ROW, content_type="text/csv", inference_id="b-2")
    assert broken.status == 500
    assert "unexpected error on POST /invocations (inference id b-2)" in caplog.text
    assert "X-Amzn-SageMaker-Inference-Id" not in call(app, "GET", "/ping").headers
