"""Bring your own model, as the project README says: a fresh bake gets the orange-juice example
(examples/orange-juice: 16 features, two of them categorical, one a string) by replacing only its
model folder's files and its data, then runs the whole local loop and `make twin` with no change to
any machinery file. That twin run is also the slow tier's one small single-account flow (the sample
model's twin runs in the large flow of test_twin.py).

The slow tier's reason: only a second, different model shows that nothing outside model-build/model
and model-build/data knows the sample's columns (server, monitor, baselines, endpoint suite, twin).
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.baking import REPO, WHEELS, bake, free_port, make, wait_for_ping
from tests.twin_runs import check_small_flow, run_twin

pytestmark = pytest.mark.slow
EXAMPLE = REPO / "examples" / "orange-juice"
USER_OWNED = ("model-build/model/", "model-build/data/")
SHIFTED = {"LoyalCH", "StoreID", "Store7"}  # examples/orange-juice/data/outliers/README.md


def swap(project: Path) -> None:
    """The README's steps: the example's model files over model-build/model, its data for the data."""
    shutil.copytree(EXAMPLE / "model", project / "model-build" / "model", dirs_exist_ok=True)
    shutil.rmtree(project / "model-build" / "data")
    shutil.copytree(EXAMPLE / "data", project / "model-build" / "data")


def changed_files(before: Path, after: Path) -> dict[str, int]:
    """Files added, removed or changed between two trees, with the lines each side has."""

    def files(root: Path) -> set[str]:
        return {
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file()
            and not {".venv", ".local", "__pycache__", ".pytest_cache", ".ruff_cache"}
            & set(p.parts)
            and not any(part.endswith(".egg-info") for part in p.parts)  # written by `make venv`
        }

    changed = {}
    for name in files(before) | files(after):
        old, new = before / name, after / name
        if old.is_file() and new.is_file() and filecmp.cmp(old, new, shallow=False):
            continue
        changed[name] = sum(len(p.read_bytes().splitlines()) for p in (old, new) if p.is_file())
    return changed


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    return done.stdout


def test_orange_juice_replaces_the_sample_model(
    template: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert (WHEELS / ".complete").is_file(), f"no wheel cache at {WHEELS}: run ./dev test"
    pristine = bake(template, tmp_path_factory.mktemp("pristine"), {"git_provider": "github"})
    project = bake(template, tmp_path_factory.mktemp("swapped"), {"git_provider": "github"})
    swap(project)
    python = project / ".venv" / "bin" / "python"
    _ok(make(project, "venv"))
    for folder, command in (
        ("outliers", ["make_outliers.py", "capture"]),
        ("quality", ["make_quality.py", "."]),
    ):
        _ok(
            subprocess.run(
                [str(python), *command],
                cwd=project / "model-build" / "data" / folder,
                env={**os.environ, "PYTHONPATH": ""},
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        )

    touched = changed_files(pristine, project)
    machinery = sorted(name for name in touched if not name.startswith(USER_OWNED))
    assert not machinery, f"the swap changed machinery files: {machinery}"
    print(f"swap: {len(touched)} files, {sum(touched.values())} lines (both sides) touched")

    # The suites that read the model folder or its data, in the project's own venv (the Makefile's
    # loop, the scanner's venv its prerequisite), then lint over what the tests left behind
    # (.venv-scan, caches: a fresh bake is no git repository). names/ and infra/ read neither: their
    # suites run in the default bake and the matrix, and this model's flow through infra is the
    # `make twin` below (about four minutes of the slow tier's longest test saved).
    suites = ("model-build/model", "model-build/container", "model-build", "model-deploy")
    tested = _ok(make(project, "test", f"PACKAGES={' '.join(suites)}", timeout=1500))
    assert [line for line in tested.splitlines() if line.startswith("== ")] == [
        f"== {suite}" for suite in suites
    ]
    assert tested.count(" passed") >= len(suites), tested[-3000:]
    _ok(make(project, "lint"))
    local = _ok(make(project, "local"))
    assert re.search(r"Evaluate: auc 0\.(8[3-9]|9)", local), local[-2000:]
    _ok(make(project, "approve"))

    port = free_port()
    server = subprocess.Popen(
        [
            str(project / ".venv" / "bin" / "serve-local"),
            "--work-dir",
            ".local",
            "--port",
            str(port),
        ],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_ping(url, server)
        request = urllib.request.Request(
            f"{url}/invocations",
            data=b'{"instances": [{"StoreID": 7, "Store7": "Yes", "LoyalCH": 0.1}]}',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert 0.0 <= json.loads(reply.read())["predictions"][0]["score"] <= 1.0
        # the served package's examples (serve-local copied them), exact scores checked too
        suite = _ok(make(project, "test-endpoint", f"URL={url}"))
        assert "skipped" not in suite.splitlines()[-1], suite[-2000:]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=40)

    capture = "model-build/data/outliers/capture"
    drifted = make(project, "local-monitor", f"CAPTURE={capture}")
    assert drifted.returncode == 2, drifted.stdout[-3000:] + drifted.stderr[-2000:]
    report = project / ".local" / "monitoring" / "outliers-capture" / "report"
    violations = json.loads((report / "constraint_violations.json").read_text())["violations"]
    assert {v["feature_name"] for v in violations} == SHIFTED

    # The small project's whole flow in the twin, with this model (tests/twin_runs.py).
    check_small_flow(*run_twin(project))
