"""Runs the model server's own slow tier (10k-request hypothesis fuzz of /invocations and a 60 s,
8-connection soak) in the slow tier of the template, so CI runs it while `pytest` there stays fast."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.baking import PROJECT_TEMPLATE, REPO

pytestmark = pytest.mark.slow


def test_fuzz_and_soak_of_the_model_server_pass() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "slow",
            "tests/serve",
        ],
        cwd=REPO / PROJECT_TEMPLATE / "model-build" / "container",
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert "2 passed" in last, last
