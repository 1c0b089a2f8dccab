"""The local loop of a baked project, as a newcomer runs it: pipeline -> approve -> serve (capturing)
-> the endpoint contract suite against it -> the drift monitor on what was captured (no drift) and on
the shipped outliers batch (drift on exactly the shifted features) -> the model-quality job on the
shipped labelled sample with a quality drop; then every HTML report the run wrote (evaluation, bias,
drift, model quality), opened in a headless Chromium (the loop's outputs: no second pipeline run)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.baking import bake, free_port, package_paths, wait_for_ping
from tests.browser import page_problems

BIN = Path(sys.executable).parent


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

    port = free_port()
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
        wait_for_ping(base, server)
        suite = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/endpoint"],
            cwd=project / "model-deploy",
            env={
                **env,
                "ENDPOINT_URL": base,
                # What `make test-endpoint` sends: the served package's examples, with the scores
                # its Evaluate step computed (serve-local copied them).
                "ENDPOINT_EXAMPLES": str(project / ".local" / "serving" / "examples.csv"),
            },
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

    # `make local-monitor-quality GROUND_TRUTH=.../drop`: the shipped labelled sample with a
    # quality drop against the approved model's constraints (the console script, run as a module).
    quality = subprocess.run(
        [
            sys.executable,
            "-c",
            "from model_build.local.quality import main; raise SystemExit(main())",
            "--work-dir",
            ".local",
            "--ground-truth-dir",
            "model-build/data/quality/ground-truth/drop",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert quality.returncode == 2, quality.stdout + quality.stderr


def test_every_report_of_the_run_shows_in_a_browser(project: Path) -> None:
    """Every *.html the loop above wrote (reports added later are covered without editing this):
    no console error, page error or failed request, and every image shows."""
    pages = sorted((project / ".local").rglob("*.html"))
    names = {page.relative_to(project / ".local").as_posix() for page in pages}
    assert any(name.endswith("/evaluation/report.html") for name in names), (
        f"no evaluation report among {sorted(names)}: the loop test above writes them, run the module"
    )
    assert "monitoring/outliers-capture/report/report.html" in names, sorted(names)
    assert "model-quality/quality-drop/report/report.html" in names, sorted(names)
    assert any(name.endswith("/bias/report.html") for name in names), sorted(names)
    problems = {page: found for page, found in page_problems(pages).items() if found}
    assert not problems, problems
