"""Fixtures of the serving tests: a small model in the training step's format and a live server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from serve_fixtures import write_model

from model_container.serve.model import Model, load_model


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: minutes-long fuzz/soak tier; run with `-m slow`")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The slow tier runs only when asked for by marker expression (`-m slow`), so `pytest` stays fast.
    if "slow" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="slow tier: run with `pytest -m slow`")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp("opt_ml") / "model")


@pytest.fixture(scope="session")
def model(model_dir: Path) -> Model:
    return load_model(model_dir)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)],
        check=False,  # ps exits 1 when there are no children
        capture_output=True,
        text=True,
    )
    return sorted(int(pid) for pid in out.stdout.split())


def start_server(model_dir: Path, log: Path, workers: int = 2, **env: str) -> Server:
    """Run `serve` (the console script's code path) on a free loopback port; wait until /ping answers."""
    port = free_port()
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
            [sys.executable, "-m", "model_container.serve"], env=environ, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/ping", timeout=1) as response:
                # Ready when it answers and every worker has been forked (tests compare worker pids).
                if response.status == 200 and len(worker_pids(process.pid)) == workers:
                    return Server(url, process, log)
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"serve did not answer /ping within 30 s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(model_dir, tmp_path_factory.mktemp("log") / "serve.log")
    yield running
    running.stop()
