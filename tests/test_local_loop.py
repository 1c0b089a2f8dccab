"""The local loop of a baked project, as a newcomer runs it: pipeline -> approve -> serve (capturing)
-> the endpoint contract suite against it -> the drift monitor on what was captured (no drift) and on
the shipped outliers batch (drift on exactly the shifted features)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.baking import bake, package_paths

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bake(
        template, tmp_path_factory.mktemp("loop"), {"mlops_size": "medium", "single_account": True}
    )


@pytest.fixture(scope="module")
def env(project: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in package_paths(project))}


def run(project: Path, env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_pipeline_approve_serve_endpoint_suite_and_monitor(
    project: Path, env: dict[str, str]
) -> None:
    local = run(project, env, "run-local", "--work-dir", ".local")
    assert local.returncode == 0, local.stdout[-3000:] + local.stderr[-3000:]
    assert "registered arn:aws:sagemaker:us-east-1:" in local.stdout
    assert run(project, env, "approve", "--work-dir", ".local").returncode == 0

    port = _free_port()
    server = subprocess.Popen(
        [str(BIN / "serve-local"), "--work-dir", ".local", "--port", str(port)],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            try:
                with urllib.request.urlopen(f"{base}/ping", timeout=1) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, "local-serve did not answer /ping within 60 s"
                time.sleep(0.3)
        model_dir = next((project / ".local" / "serving").glob("*/opt_ml/model"))
        suite = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/endpoint"],
            cwd=project / "model-deploy",
            env={**env, "ENDPOINT_URL": base, "ENDPOINT_MODEL_DIR": str(model_dir)},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert suite.returncode == 0, suite.stdout[-4000:] + suite.stderr[-2000:]
        assert "skipped" not in suite.stdout.splitlines()[-1], suite.stdout[-2000:]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=40)

    # The contract suite's requests are synthetic (random rows, odd payloads): the monitor must read
    # them and decide; whether they drift from the training data is not the point here.
    captured = run(project, env, "monitor-local", "--work-dir", ".local")
    assert captured.returncode in (0, 2), captured.stdout + captured.stderr
    assert (
        project / ".local" / "monitoring" / "local-serve" / "report" / "statistics.json"
    ).is_file()
    outliers = run(
        project,
        env,
        "monitor-local",
        "--work-dir",
        ".local",
        "--capture-dir",
        "model-build/data/outliers/capture",
    )
    assert outliers.returncode == 2, outliers.stdout + outliers.stderr
    report = (
        project
        / ".local"
        / "monitoring"
        / "outliers-capture"
        / "report"
        / "constraint_violations.json"
    )
    violations = json.loads(report.read_text())["violations"]
    assert {v["feature_name"] for v in violations} == {"Age", "Margin"}
