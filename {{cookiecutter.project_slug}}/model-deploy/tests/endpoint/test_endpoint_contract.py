"""The SageMaker inference contract, checked against a live server (see conftest.py for the settings)."""

from __future__ import annotations

import json
import statistics
import time

import pytest
from conftest import Examples, latency_bound
from transport import HttpTransport, Reply

CSV = {"Content-Type": "text/csv"}
INFERENCE_ID = "X-Amzn-SageMaker-Inference-Id"  # InvokeEndpoint's InferenceId, as a header


def csv_of(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(row) for row in rows).encode()


def value(text: str) -> float | int | str | None:
    """A field as a JSON client sends it: null, a number, or text (a category)."""
    if not text.strip():
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


def json_rows(rows: list[list[str]]) -> list[list[float | int | str | None]]:
    return [[value(text) for text in row] for row in rows]


def csv_scores(reply: Reply) -> list[float]:
    assert reply.status == 200, reply.body[:300]
    assert reply.content_type == "text/csv"
    return [float(line) for line in reply.body.decode().splitlines()]


def assert_client_error(reply: Reply, status: int) -> None:
    assert reply.status == status, (reply.status, reply.body[:300])
    assert reply.content_type == "application/json"
    assert isinstance(reply.json()["error"], str)


def test_ping(endpoint: HttpTransport) -> None:
    assert endpoint.call("GET", "/ping").status == 200


def test_execution_parameters_for_batch_transform(endpoint: HttpTransport) -> None:
    reply = endpoint.call("GET", "/execution-parameters")
    assert reply.status == 200
    params = reply.json()
    assert params["BatchStrategy"] in ("MULTI_RECORD", "SINGLE_RECORD")
    assert params["MaxConcurrentTransforms"] >= 1
    assert 0 <= params["MaxPayloadInMB"] <= 100  # 0: chunked bodies of any size


def test_csv_one_row_and_many_rows(endpoint: HttpTransport, examples: Examples) -> None:
    rows = examples.rows
    (single,) = csv_scores(endpoint.call("POST", "/invocations", csv_of(rows[:1]), CSV))
    many = csv_scores(endpoint.call("POST", "/invocations", csv_of(rows) + b"\n", CSV))
    assert len(many) == len(rows)
    assert all(0.0 <= s <= 1.0 for s in many)
    assert many[0] == pytest.approx(single, abs=1e-6)


def test_json_and_jsonlines_agree_with_csv(endpoint: HttpTransport, examples: Examples) -> None:
    features, texts = examples.features, examples.rows
    rows = json_rows(texts)
    by_csv = csv_scores(endpoint.call("POST", "/invocations", csv_of(texts), CSV))
    as_json = endpoint.call(
        "POST",
        "/invocations",
        json.dumps({"instances": rows}).encode(),
        {"Content-Type": "application/json", "Accept": "application/json"},
    )
    assert as_json.status == 200 and as_json.content_type == "application/json"
    predictions = as_json.json()["predictions"]
    assert [p["score"] for p in predictions] == pytest.approx(by_csv, abs=1e-6)
    assert all(p["label"] in (0, 1) for p in predictions)
    by_name = [
        {name: v for name, v in zip(features, row, strict=True) if v is not None} for row in rows
    ]
    named = endpoint.call(
        "POST",
        "/invocations",
        json.dumps({"instances": by_name}).encode(),
        {"Content-Type": "application/json"},
    )
    assert [p["score"] for p in named.json()["predictions"]] == pytest.approx(by_csv, abs=1e-6)
    lines = "\n".join(json.dumps(row) for row in rows).encode()
    jsonl = endpoint.call(
        "POST",
        "/invocations",
        lines,
        {"Content-Type": "application/jsonlines", "Accept": "text/csv"},
    )
    assert csv_scores(jsonl) == pytest.approx(by_csv, abs=1e-6)


def test_labels_follow_scores(endpoint: HttpTransport, examples: Examples) -> None:
    reply = endpoint.call(
        "POST", "/invocations", csv_of(examples.rows), {**CSV, "Accept": "application/json"}
    )
    predictions = reply.json()["predictions"]
    # Whatever the threshold, a higher score never gets a lower label.
    ordered = sorted(predictions, key=lambda p: p["score"])
    assert [p["label"] for p in ordered] == sorted(p["label"] for p in ordered)


def test_known_scores_match_the_model(endpoint: HttpTransport, examples: Examples) -> None:
    """The endpoint answers the scores the Evaluate step computed with the registered model: it
    serves that model, with the same code (a wrong artifact, image or preprocessing fails here)."""
    if examples.expected is None:
        pytest.skip(
            "the examples file has no expected_score column (the model folder's file; the "
            "package's copy, build/examples.csv, has one)"
        )
    served = csv_scores(endpoint.call("POST", "/invocations", csv_of(examples.rows), CSV))
    assert served == pytest.approx(examples.expected, abs=1e-6)


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"1,2", CSV, 400),  # wrong column count
        (b"1,2,3,4,5,6,7,8,9,10,11,12", CSV, 400),
        (b"abc,2,3,4", CSV, 400),  # not a number
        (b"", CSV, 400),  # empty body
        (b"\xff\xfe\x00", CSV, 400),  # not text
        (b'{"instances": [["a", "b"]]}', {"Content-Type": "application/json"}, 400),
        (b"{not json", {"Content-Type": "application/json"}, 400),
        (b"[1, 2", {"Content-Type": "application/jsonlines"}, 400),
        (b"1,2,3,4", {"Content-Type": "application/x-npy"}, 415),
        (b"1,2,3,4", {"Content-Type": "text/csv", "Accept": "image/png"}, 406),
    ],
)
def test_bad_payloads_get_4xx_with_a_json_body(
    endpoint: HttpTransport, body: bytes, headers: dict[str, str], status: int
) -> None:
    assert_client_error(endpoint.call("POST", "/invocations", body, headers), status)


def test_oversized_body_is_413(endpoint: HttpTransport) -> None:
    limit_mb = endpoint.call("GET", "/execution-parameters").json()["MaxPayloadInMB"]
    if limit_mb == 0:
        pytest.skip("the server announces no payload limit (MaxPayloadInMB=0)")
    # A client that asks first (Expect: 100-continue) is refused before it sends the body.
    reply = endpoint.send_headers_only(
        "/invocations",
        {**CSV, "Content-Length": str(limit_mb * 1024 * 1024 + 1), "Expect": "100-continue"},
    )
    assert_client_error(reply, 413)


def test_oversized_body_sent_whole_is_413(endpoint: HttpTransport) -> None:
    """An ordinary client sends the whole body before it reads the answer: it gets the 413 too."""
    if not isinstance(endpoint, HttpTransport):
        pytest.skip("InvokeEndpoint refuses a body over 6 MB before it reaches the container")
    limit_mb = endpoint.call("GET", "/execution-parameters").json()["MaxPayloadInMB"]
    if limit_mb == 0:
        pytest.skip("the server announces no payload limit (MaxPayloadInMB=0)")
    body = b"1,2,3,4\n" * (limit_mb * 1024 * 1024 // 8 + 1)
    assert_client_error(endpoint.call("POST", "/invocations", body, CSV), 413)
    assert endpoint.call("GET", "/ping").status == 200


def test_server_still_healthy_after_bad_input(endpoint: HttpTransport) -> None:
    for body in (b"", b"x", b"1,2,3,4,5", b"\x00" * 100):
        assert endpoint.call("POST", "/invocations", body, CSV).status < 500
    assert endpoint.call("GET", "/ping").status == 200


def test_an_inference_id_is_accepted(endpoint: HttpTransport, examples: Examples) -> None:
    """InvokeEndpoint's InferenceId, which data capture records (container README, Inference ids)."""
    body = csv_of(examples.rows[:1])
    plain = csv_scores(endpoint.call("POST", "/invocations", body, CSV))
    named = endpoint.call("POST", "/invocations", body, {**CSV, INFERENCE_ID: "endpoint-suite #1"})
    assert csv_scores(named) == plain
    if isinstance(endpoint, HttpTransport):  # InvokeEndpoint's answer has no such member
        assert named.headers[INFERENCE_ID.lower()] == "endpoint-suite #1"


def test_small_load_latency(endpoint: HttpTransport, examples: Examples) -> None:
    body = csv_of(examples.rows[:1])
    for _ in range(20):  # warm up connections and workers
        endpoint.call("POST", "/invocations", body, CSV)
    samples = []
    for _ in range(300):
        started = time.perf_counter()
        assert endpoint.call("POST", "/invocations", body, CSV).status == 200
        samples.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(samples, n=100)
    p50, p99 = cuts[49], cuts[98]
    # A p50 near 40 ms would mean Nagle's algorithm is delaying keep-alive responses.
    assert p50 <= latency_bound("ENDPOINT_MAX_P50_MS", 20.0), f"p50={p50:.1f} ms p99={p99:.1f} ms"
    assert p99 <= latency_bound("ENDPOINT_MAX_P99_MS", 250.0), f"p50={p50:.1f} ms p99={p99:.1f} ms"
