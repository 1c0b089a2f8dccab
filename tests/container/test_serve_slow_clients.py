"""Reliability tier of the model server against clients that are slow, stalled, idle or send too much:
a real `serve` (granian workers) of the template's container package on a loopback port.

What must hold (see model-build/container/README.md, "Slow clients and limits"): a client stalled
mid-body, trickling its body, holding an idle connection or not reading its answer delays no other
request; a request queued on a worker that is recycled (scoring past the timeout, or SIGTERM) is
answered; a body over the payload limit is answered 413 to a client that sends it whole.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from tests.baking import PROJECT_TEMPLATE, REPO

pytestmark = pytest.mark.slow

SERVE_TESTS = REPO / PROJECT_TEMPLATE / "model-build" / "container" / "tests" / "serve"
LIMIT = 6 * 1024 * 1024  # SAGEMAKER_MAX_PAYLOAD_IN_MB's default
BOUND_S = (
    1.0  # what a request may take while the slow clients hold their connections (ms when quiet)
)


def load_fixtures() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "serve_fixtures", SERVE_TESTS / "serve_fixtures.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fixtures = load_fixtures()
LINE = fixtures.csv_line(seed=5) + b"\n"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fixtures.write_model(tmp_path_factory.mktemp("opt_ml") / "model")


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log: Path

    def workers(self) -> list[int]:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
            check=False,
            capture_output=True,
            text=True,
        )
        return sorted(int(pid) for pid in out.stdout.split())

    def connect(self, timeout: float = 30) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def wait_ready(self, workers: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"serve exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ping", timeout=1) as r:
                    if r.status == 200 and len(self.workers()) == workers:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"serve not ready: {self.log.read_text()[-2000:]}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve(model_dir: Path, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(workers: int = 2, **env: str) -> Server:
        port = free_port()
        log = tmp_path / f"serve-{port}.log"
        environ = {
            **os.environ,
            "MODEL_SERVER_MODEL_DIR": str(model_dir),
            "MODEL_SERVER_HOST": "127.0.0.1",
            "SAGEMAKER_BIND_TO_PORT": str(port),
            "SAGEMAKER_MODEL_SERVER_WORKERS": str(workers),
            **env,
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "model_container.serve"],
                env=environ,
                stdout=out,
                stderr=out,
            )
        server = Server(port, process, log)
        started.append(server)
        server.wait_ready(workers)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGTERM)
            try:
                server.process.wait(30)
            except subprocess.TimeoutExpired:
                server.process.kill()


def invoke(server: Server, body: bytes = LINE) -> tuple[int, float]:
    started = time.monotonic()
    conn = server.connect()
    try:
        conn.request("POST", "/invocations", body, {"Content-Type": "text/csv"})
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        conn.close()


def raw(server: Server, data: bytes = b"", rcvbuf: int = 0) -> socket.socket:
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", server.port))
    if data:
        sock.sendall(data)
    return sock


def head(length: int) -> bytes:
    return (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
        b"Content-Length: %d\r\n\r\n" % length
    )


def test_stalled_trickling_idle_and_slow_reading_clients_delay_no_one(
    serve: Callable[..., Server],
) -> None:
    server = serve(workers=2)
    before = server.workers()
    held: list[socket.socket] = []
    stop = threading.Event()
    # Stalled mid-body: headers and 5 bytes of a 1000-byte body, then nothing.
    held += [raw(server, head(1000) + LINE[:5]) for _ in range(40)]
    # Connected, never sent a byte.
    held += [raw(server) for _ in range(40)]
    # Idle keep-alive: one answered request, then nothing.
    for _ in range(40):
        sock = raw(server, head(len(LINE)) + LINE)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        held.append(sock)
    # Slow readers: a 20,000-row answer into a 4 KB receive buffer, read 100 bytes at a time.
    big = LINE * 20_000
    readers = [raw(server, head(len(big)) + big, rcvbuf=4096) for _ in range(4)]
    held += readers
    # Tricklers: a body sent one byte every 0.2 s.
    tricklers = [raw(server, head(len(LINE))) for _ in range(4)]
    held += tricklers

    def slowly() -> None:
        for index in range(len(LINE) - 1):  # never the last byte: the bodies stay incomplete
            if stop.wait(0.2):
                return
            for sock in tricklers:
                sock.sendall(LINE[index : index + 1])
            for sock in readers:
                sock.recv(100)

    feeder = threading.Thread(target=slowly)
    feeder.start()
    try:
        time.sleep(0.5)
        times = []
        for _ in range(200):
            status, took = invoke(server)
            assert status == 200
            times.append(took)
        times.sort()
        assert times[-1] < BOUND_S, f"slowest {times[-1]:.3f} s; median {times[100]:.4f} s"
        assert server.workers() == before, "a worker was recycled"
    finally:
        stop.set()
        feeder.join()
        for sock in held:
            sock.close()
    # Everything they held is given back: the server still answers at full speed.
    assert all(invoke(server)[0] == 200 for _ in range(20))


STUCK_ROWS = 3  # a request of exactly this many rows scores for 30 s (sitecustomize below)


@pytest.fixture
def stuck_model_hook(tmp_path: Path) -> str:
    """A sitecustomize, loaded by the server's processes only, that makes one request size hang."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import time\n"
        "from model_container.serve.model import Model\n"
        "_predict = Model.predict\n"
        "def predict(self, rows):\n"
        f"    if len(rows) == {STUCK_ROWS}:\n"
        "        time.sleep(30)\n"
        "    return _predict(self, rows)\n"
        "Model.predict = predict\n"
    )
    return str(hook)


def test_requests_queued_behind_a_stuck_one_are_answered_when_the_worker_is_recycled(
    serve: Callable[..., Server], stuck_model_hook: str
) -> None:
    server = serve(
        workers=1,
        SAGEMAKER_MODEL_SERVER_TIMEOUT="2",
        PYTHONPATH=os.pathsep.join(filter(None, [stuck_model_hook, os.environ.get("PYTHONPATH")])),
    )
    (first,) = server.workers()
    stuck = server.connect(timeout=60)
    stuck.request("POST", "/invocations", LINE * STUCK_ROWS, {"Content-Type": "text/csv"})
    time.sleep(0.5)  # it is scoring; the next ones queue behind it on the same (only) worker
    results: list[tuple[int, float]] = []
    queued = [
        threading.Thread(target=lambda: results.append(invoke(server, LINE * 2))) for _ in range(3)
    ]
    for thread in queued:
        thread.start()
    for thread in queued:
        thread.join(60)
    assert [status for status, _ in results] == [200, 200, 200], results
    # Answered once the watchdog gave up on the stuck request (2 s), not after the 30 s it takes.
    assert max(took for _, took in results) < 10
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        stuck.getresponse().read()  # the stuck request itself cannot be answered
    server.wait_ready(workers=1)
    assert server.workers() != [first], "the stuck worker was not replaced"
    assert invoke(server)[0] == 200
    assert "replacing worker" in server.log.read_text()


def test_the_other_worker_serves_every_new_request_while_one_is_recycled(
    serve: Callable[..., Server], stuck_model_hook: str
) -> None:
    server = serve(
        workers=2,
        SAGEMAKER_MODEL_SERVER_TIMEOUT="2",
        PYTHONPATH=os.pathsep.join(filter(None, [stuck_model_hook, os.environ.get("PYTHONPATH")])),
    )
    before = server.workers()
    stuck = server.connect(timeout=60)
    stuck.request("POST", "/invocations", LINE * STUCK_ROWS, {"Content-Type": "text/csv"})
    seen: list[tuple[float, str]] = []  # (when, status or exception)
    deadline = time.monotonic() + 6  # the timeout (2 s), the drain and the respawn

    def probe() -> None:  # some of its requests queue on the stuck worker
        while time.monotonic() < deadline:
            try:
                outcome = str(invoke(server)[0])
            except (OSError, http.client.HTTPException) as exc:
                outcome = type(exc).__name__
            seen.append((time.monotonic(), outcome))

    probes = [threading.Thread(target=probe) for _ in range(4)]
    for thread in probes:
        thread.start()
    for thread in probes:
        thread.join()
    outcomes = {o: sum(1 for _, seen_o in seen if seen_o == o) for o in {o for _, o in seen}}
    failed_at = sorted(when for when, outcome in seen if outcome != "200")
    # Only the connections the kernel had queued on the recycled worker's own listener as it closed
    # are lost (granian listens with SO_REUSEPORT; Linux migrates such connections only with
    # net.ipv4.tcp_migrate_req=1, a host setting): one burst at that moment, at most two per probe
    # thread (one queued, one accepted but unanswered), never a stream of failures while it respawns.
    assert len(failed_at) <= 2 * len(probes) and outcomes.get("200", 0) > 50, outcomes
    assert not failed_at or failed_at[-1] - failed_at[0] <= 2.0, (outcomes, failed_at)
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        stuck.getresponse().read()
    server.wait_ready(workers=2)
    assert len(set(server.workers()) - set(before)) == 1, "exactly the stuck worker is replaced"


def test_sigterm_answers_the_request_in_flight_while_an_upload_is_stalled(
    serve: Callable[..., Server],
) -> None:
    server = serve(workers=1, MODEL_SERVER_GRACEFUL_TIMEOUT="3")
    stalled = raw(server, head(1000) + LINE[:5])
    body = LINE * 1000
    conn = server.connect()
    conn.putrequest("POST", "/invocations")
    conn.putheader("Content-Type", "text/csv")
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    conn.send(body[:100])
    time.sleep(0.3)
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    conn.send(body[100:])
    response = conn.getresponse()
    assert response.status == 200
    assert len(response.read().split()) == 1000
    server.process.wait(30)
    assert time.monotonic() - started < 3 + 5  # the stalled upload is cut at the kill timeout
    stalled.close()


def chunks(size: int, piece: int = 1 << 20) -> Iterator[bytes]:
    block = LINE * (piece // len(LINE))
    sent = 0
    while sent < size:
        part = block[: size - sent]
        sent += len(part)
        yield part


@pytest.mark.parametrize("size", [LIMIT + 1, 7 * 1024 * 1024, 50 * 1024 * 1024])
def test_a_client_sending_a_body_over_the_limit_reads_the_413(
    serve: Callable[..., Server], size: int
) -> None:
    server = serve(workers=2)
    conn = server.connect()
    for framing in ("length", "chunked"):
        if framing == "length":
            headers = {"Content-Type": "text/csv", "Content-Length": str(size)}
            conn.request("POST", "/invocations", chunks(size), headers)
        else:
            conn.request(
                "POST",
                "/invocations",
                chunks(size),
                {"Content-Type": "text/csv"},
                encode_chunked=True,
            )
        response = conn.getresponse()
        assert response.status == 413, framing
        assert response.getheader("Content-Type") == "application/json"
        assert b'"status":413' in response.read()
        if response.will_close:
            conn.close()
            conn = server.connect()
    conn.close()
    assert invoke(server)[0] == 200


def test_past_the_discard_bound_the_connection_is_closed_and_the_server_serves_on(
    serve: Callable[..., Server],
) -> None:
    server = serve(workers=2)
    size = 200 * 1024 * 1024  # over DISCARD_BYTES (128 MiB): not worth reading to say 413
    conn = server.connect()
    started = time.monotonic()
    try:
        conn.request("POST", "/invocations", chunks(size), {"Content-Length": str(size)})
        status = conn.getresponse().status
    except (ConnectionError, http.client.HTTPException):
        status = None  # reset while still sending: the documented limit
    assert status in {413, None}
    assert time.monotonic() - started < 30
    assert invoke(server)[0] == 200
