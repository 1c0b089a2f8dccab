"""`make twin` in a fresh bake, and what a small single-account flow must report. Shared by the
slow tier's two twin modules: test_twin.py (large, the seam breaks) and test_swap_model.py (the
small flow, run once, with the second model: small's machinery and "bring your own model" in one
twin run)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.baking import make, twin_work

STAGES = [
    "1 first run: the README's steps",
    "2 push: pipelines start",
    "3 SageMaker pipeline: train, evaluate, register",
    "4 approval -> deploy: staging, tests, approval, prod",
    "5 prod traffic -> data capture",
    "5a stage config change: instance type + alarm, one push -> deploy pipeline",
    "6 release image push -> retraining on that image",
    "7 new training data -> retraining",
    "8 batch inference: a clean batch scored, a drifted one -> retraining + one notification",
    "9 delete the project: the stack and what its pipelines created; nothing bills on",
]


def run_twin(project: Path) -> tuple[int, str, dict[str, object]]:
    """(exit code, output, report.json) of `make twin` in ``project``."""
    done = make(project, "twin", twin_work(project), timeout=1500)
    output = done.stdout + done.stderr
    match = re.search(r"twin: report (\S+)", output)
    assert match, output[-4000:]
    return done.returncode, output, json.loads(Path(match.group(1)).read_text())


def check_small_flow(code: int, output: str, report: dict[str, object]) -> None:
    """A small single-account project's whole flow passed, stage by stage, as it must."""
    assert code == 0, output[-6000:]
    stages = report["stages"]
    assert isinstance(stages, list)
    assert [(s["name"], s["outcome"]) for s in stages] == [(s, "ok") for s in STAGES]
    # The table of what emulates what is printed and covers every type of the CI/CD stack.
    emulation = report["emulation"]
    assert isinstance(emulation, list)
    kinds = {row["type"] for row in emulation}
    assert {"AWS::CodePipeline::Pipeline", "AWS::Events::Rule", "AWS::IAM::Role"} <= kinds
    assert "what emulates what (the CI/CD stack and the stage stacks):" in output
    executions = report["sagemaker_executions"]
    assert isinstance(executions, list)
    runs = [(e["pipeline"].endswith("-batch-inference"), e["status"]) for e in executions]
    # first run, release image, new data; the clean batch, the drifted batch, its retraining
    ok, batch = "Succeeded", True
    assert runs == [(not batch, ok)] * 3 + [(batch, ok), (batch, "Failed"), (not batch, ok)]
    # The release image's retraining builds the pushed commit again: its unit tests are not rerun.
    reused = report["reused_tests"]
    assert isinstance(reused, list)
    assert "bash model-build/ci/unit-tests.sh" in [r["command"] for r in reused], reused
