"""`serve` as SageMaker runs it: a real granian server on a loopback port."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Server, start_server, worker_pids
from serve_fixtures import csv_body, csv_line, make_rows

from model_container.serve import server as server_module

LINE = csv_line(seed=4) + b"\n"  # one complete row of the schema's features


def connect(server: Server) -> http.client.HTTPConnection:
    host, port = server.url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=10)


def test_keep_alive_connection_serves_many_requests(server: Server) -> None:
    conn = connect(server)
    for _ in range(20):
        conn.request("POST", "/invocations", csv_body(make_rows(2)), {"Content-Type": "text/csv"})
        response = conn.getresponse()
        assert response.status == 200
        assert len(response.read().split()) == 2
    conn.request("GET", "/ping")
    assert conn.getresponse().status == 200
    conn.close()


def test_client_error_over_http_is_4xx_json(server: Server) -> None:
    conn = connect(server)
    # Expect: 100-continue, headers only: the server answers from Content-Length, reading nothing.
    conn.putrequest("POST", "/invocations")
    conn.putheader("Content-Type", "text/csv")
    conn.putheader("Content-Length", str(7 * 1024 * 1024))
    conn.putheader("Expect", "100-continue")
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413
    assert b"exceeds the limit of 6291456 bytes" in response.read()


def test_an_oversized_body_sent_whole_gets_the_413_not_a_broken_pipe(server: Server) -> None:
    # http.client sends the whole body before it reads: the server must take it to be heard.
    body = LINE * (7 * 1024 * 1024 // len(LINE))
    conn = connect(server)
    for _ in range(3):
        conn.request("POST", "/invocations", body, {"Content-Type": "text/csv"})
        response = conn.getresponse()
        assert response.status == 413
        assert response.getheader("Content-Type") == "application/json"
        assert b"bytes exceeds the limit of 6291456 bytes" in response.read()
    conn.request("POST", "/invocations", LINE, {"Content-Type": "text/csv"})
    assert conn.getresponse().status == 200  # the body was read: the connection is still usable
    conn.close()


def stall(server: Server, count: int) -> list[socket.socket]:
    """`count` clients that send headers and part of the body, then nothing."""
    host, port = server.url.removeprefix("http://").split(":")
    stalled = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)))
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
            b"Content-Length: 1000\r\n\r\n" + LINE[:5]
        )
        stalled.append(sock)
    return stalled


def test_uploads_stalled_mid_body_do_not_hold_the_workers(server: Server) -> None:
    stalled = stall(server, 6)  # three per worker
    try:
        time.sleep(0.3)
        for _ in range(10):
            started = time.monotonic()
            conn = connect(server)
            conn.request("POST", "/invocations", LINE, {"Content-Type": "text/csv"})
            assert conn.getresponse().status == 200
            conn.close()
            # held, a request waits out the 60 s keep-alive; 10 s leaves room for a loaded machine
            assert time.monotonic() - started < 10.0
    finally:
        for sock in stalled:
            sock.close()


def chunked(server: Server, body: bytes) -> tuple[int, bytes]:
    conn = connect(server)
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    conn.request("POST", "/invocations", chunks, {"Content-Type": "text/csv"}, encode_chunked=True)
    response = conn.getresponse()
    return response.status, response.read()


def test_chunked_bodies_are_read_up_to_the_limit(server: Server) -> None:
    status, data = chunked(server, LINE * 5000)
    assert status == 200
    assert len(data.split()) == 5000
    status, data = chunked(server, LINE * (7 * 1024 * 1024 // len(LINE)))
    assert status == 413
    assert b"body exceeds the limit of 6291456 bytes" in data


def test_a_killed_worker_is_replaced(server: Server) -> None:
    before = worker_pids(server.process.pid)
    assert len(before) == 2
    os.kill(before[0], signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        now = worker_pids(server.process.pid)
        if len(now) == 2 and before[0] not in now:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"worker {before[0]} was not replaced: {worker_pids(server.process.pid)}")
    for _ in range(6):  # both workers answer
        conn = connect(server)
        conn.request("POST", "/invocations", LINE, {"Content-Type": "text/csv"})
        assert conn.getresponse().status == 200
        conn.close()


def test_sigterm_drains_the_request_in_flight(model_dir: Path, tmp_path: Path) -> None:
    running = start_server(model_dir, tmp_path / "serve.log", workers=1)
    body = LINE * 1000
    conn = connect(running)
    conn.putrequest("POST", "/invocations")
    conn.putheader("Content-Type", "text/csv")
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    conn.send(body[:100])  # the worker is now reading this request
    time.sleep(0.5)
    started = time.monotonic()
    running.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    conn.send(body[100:])
    response = conn.getresponse()
    assert response.status == 200
    assert len(response.read().split()) == 1000
    assert running.process.wait(timeout=30) == 0
    assert time.monotonic() - started < 30


def run_serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "model_container.serve", *args],
        check=False,
        env={**os.environ, "MODEL_SERVER_HOST": "127.0.0.1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_missing_model_is_one_line_and_exit_1(tmp_path: Path) -> None:
    done = run_serve({"MODEL_SERVER_MODEL_DIR": str(tmp_path)})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"serve: error: {tmp_path}/model-metadata.json not found; "
        "the model folder must hold model-metadata.json and the model file "
        "(the train step's output)"
    ]


def test_bad_setting_is_one_line_and_exit_1(model_dir: Path) -> None:
    done = run_serve({"MODEL_SERVER_MODEL_DIR": str(model_dir), "SAGEMAKER_BIND_TO_PORT": "eighty"})
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "serve: error: SAGEMAKER_BIND_TO_PORT='eighty' is not an integer; allowed: 1..65535"
    )


def test_unexpected_arguments_exit_2(model_dir: Path) -> None:
    done = run_serve({"MODEL_SERVER_MODEL_DIR": str(model_dir)}, "--port", "1")
    assert done.returncode == 2
    assert "unexpected arguments '--port 1'" in done.stderr


def test_workers_drop_root_only_when_the_model_is_world_readable(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = type("User", (), {"pw_uid": 999, "pw_gid": 999})()
    monkeypatch.setattr(server_module.os, "geteuid", lambda: 0)
    monkeypatch.setattr(server_module.pwd, "getpwnam", lambda name: user)
    private = tmp_path / "model"
    private.mkdir()
    (private / "model-metadata.json").write_text("{}")
    (private / "model-metadata.json").chmod(0o600)
    model_dir.chmod(0o755)
    for path in model_dir.iterdir():
        path.chmod(0o644)
    assert server_module._unprivileged_user(str(model_dir)) is user
    assert server_module._unprivileged_user(str(private)) is None
    monkeypatch.setattr(server_module.os, "geteuid", lambda: 1000)
    assert server_module._unprivileged_user(str(model_dir)) is None


def test_server_settings_come_from_the_environment() -> None:
    settings = server_module.Settings.from_env(
        {
            "SAGEMAKER_BIND_TO_PORT": "9001",
            "SAGEMAKER_MODEL_SERVER_WORKERS": "3",
            "MODEL_SERVER_HOST": "127.0.0.1",
            "MODEL_SERVER_GRACEFUL_TIMEOUT": "20",
            "MODEL_SERVER_ACCESS_LOG": "1",
        }
    )
    built = server_module.build_server(settings)
    assert (built.bind_addr, built.bind_port, built.workers) == ("127.0.0.1", 9001, 3)
    assert built.workers_kill_timeout == 20  # SIGTERM: drain, then kill after this long
    assert built.log_access and built.respawn_failed_workers
    # A thread per connection a worker holds: a stalled upload never leaves a request without one
    # (backpressure 1 would let one keep-alive connection hold a worker and starve the rest).
    assert built.blocking_threads == built.backpressure == 1024 // 3


def test_inference_ids_over_http_are_echoed_captured_and_logged(
    model_dir: Path, tmp_path: Path
) -> None:
    """The header as SageMaker's runtime sends it: honoured, made when absent, refused when invalid."""
    capture = tmp_path / "capture"
    running = start_server(
        model_dir,
        tmp_path / "serve.log",
        workers=1,
        MODEL_SERVER_ACCESS_LOG="1",
        MODEL_SERVER_CAPTURE_DIR=str(capture),
    )
    conn = connect(running)
    answers = []
    for value in ("order-17 #a", None, "x" * 65, "caf\xe9"):
        extra = {} if value is None else {"X-Amzn-SageMaker-Inference-Id": value}
        conn.request("POST", "/invocations", LINE, {"Content-Type": "text/csv", **extra})
        response = conn.getresponse()
        echoed = response.getheader("X-Amzn-SageMaker-Inference-Id")
        answers.append((response.status, echoed, response.read()))
    assert running.stop() == 0
    given, made, long, latin = answers
    assert given[:2] == (200, "order-17 #a")
    assert made[0] == 200 and made[1]
    assert long[:2] == latin[:2] == (400, None)
    assert f"X-Amzn-SageMaker-Inference-Id '{'x' * 65}' is not valid".encode() in long[2]
    assert b"'' (empty, or not ASCII text) is not valid" in latin[2]
    [file] = capture.rglob("*.jsonl")
    metadata = [json.loads(line)["eventMetadata"] for line in file.read_text().splitlines()]
    assert [m.get("inferenceId") for m in metadata] == ["order-17 #a", None]
    assert metadata[1]["eventId"] == made[1]
    log = running.log.read_text()
    assert "inference-id=order-17 #a" in log
    assert "inference-id=-" in log
