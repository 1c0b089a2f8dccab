"""Container tier: build the image with podman on a local Debian base, serve a model from it on
127.0.0.1, pass the endpoint contract suite against it, then stop it with SIGTERM (drain < 30 s).

Needs podman, runc and debootstrap (scripts/podman-base.sh installs them) and PyPI for the image's
pip install. Marked `slow` and `container`: `./dev test` (CI) runs it, `./dev test-fast` does not.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from model_container import artifact, examples

from tests.baking import PROJECT_TEMPLATE, REPO

pytestmark = [pytest.mark.slow, pytest.mark.container]

PROJECT = REPO / PROJECT_TEMPLATE
EXAMPLES = PROJECT / "model-build" / "model" / "src" / "project_model" / "examples.csv"
CONTEXT = PROJECT / "model-build"  # the image holds the container package and the model folder
IMAGE = "localhost/mlops-model:container-tier"
# The sandboxes CI runs in refuse runc's default rlimits (nofile/nproc above the host's); these fit.
ULIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]


def podman(*args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        ["podman", "--runtime", "runc", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and done.returncode != 0:
        pytest.fail(
            f"podman {' '.join(args[:3])} failed ({done.returncode}):\n{done.stderr[-3000:]}"
        )
    return done


@pytest.fixture(scope="module")
def image() -> str:
    base = subprocess.run(
        ["bash", str(REPO / "scripts" / "podman-base.sh")],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert base.returncode == 0, f"podman-base.sh failed:\n{base.stderr[-3000:]}"
    args = ["build", "--build-arg", f"BASE_IMAGE={base.stdout.strip()}", "-t", IMAGE]
    # Networks that intercept TLS: hand the host's CA bundle to pip as a build secret (never in a layer).
    bundle = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"
    if Path(bundle).is_file():
        args += ["--secret", f"id=pip_cert,src={bundle}"]
    podman(*args, "--file", str(CONTEXT / "container" / "Dockerfile"), str(CONTEXT), timeout=1800)
    return IMAGE


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    helper = PROJECT / "model-build" / "container" / "tests" / "serve" / "serve_fixtures.py"
    spec = importlib.util.spec_from_file_location("serve_fixtures", helper)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = module.write_model(tmp_path_factory.mktemp("opt_ml") / "model")
    folder.chmod(0o755)  # SageMaker-like: root-owned, world-readable
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(image: str, model_dir: Path) -> Iterator[tuple[str, str]]:
    name = f"mlops-serve-{uuid.uuid4().hex[:8]}"
    port = free_port()
    podman(
        "run", "-d", "--name", name, *ULIMITS, "-p", f"127.0.0.1:{port}:8080",
        "-v", f"{model_dir}:/opt/ml/model:ro", image, "serve",
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/ping", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                logs = podman("logs", name, check=False)
                pytest.fail(f"no /ping from the container within 60 s:\n{logs.stdout}{logs.stderr}")
            time.sleep(0.5)
        yield name, url
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)


def test_entry_points_exist_in_the_image(image: str) -> None:
    done = podman(
        "run", "--rm", *ULIMITS, image, "sh", "-c",
        "command -v train && command -v serve && python3 -c 'import model_container.serve.wsgi, "
        "xgboost; print(xgboost.__version__)' && ! command -v gcc && ! command -v cc",
    )  # fmt: skip
    lines = done.stdout.split()
    assert lines[0].endswith("/train") and lines[1].endswith("/serve")
    assert lines[2] == "3.2.0"


def test_endpoint_suite_passes_against_the_container(
    served: tuple[str, str], model_dir: Path, tmp_path: Path
) -> None:
    _, url = served
    # What the Evaluate step registers: the model folder's requests with this model's scores, which
    # the container must answer.
    checked = tmp_path / "examples.csv"
    text = EXAMPLES.read_text(encoding="utf-8")
    checked.write_text(examples.with_expected_scores(text, artifact.load(model_dir)))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/endpoint"],
        cwd=PROJECT / "model-deploy",
        env={
            **os.environ,
            "ENDPOINT_URL": url,
            "ENDPOINT_EXAMPLES": str(checked),
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert " passed" in last and "skipped" not in last, last


def test_workers_run_unprivileged(served: tuple[str, str]) -> None:
    name, _ = served
    users = podman("top", name, "user", "args").stdout.splitlines()[1:]
    workers = [line for line in users if "serve" in line]
    assert len(workers) >= 2
    assert workers[0].split()[0] == "root"  # the master binds and supervises
    assert all(line.split()[0] == "model-server" for line in workers[1:]), users


def test_sigterm_stops_the_container_within_30_seconds(served: tuple[str, str]) -> None:
    name, _ = served
    started = time.monotonic()
    podman("stop", "-t", "30", name, timeout=60)
    elapsed = time.monotonic() - started
    state = json.loads(podman("inspect", name).stdout)[0]["State"]
    assert state["ExitCode"] == 0, state
    assert elapsed < 30
