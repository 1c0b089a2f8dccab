"""The cloud twin's wall time per stage, side by side with what the same flow takes on AWS.

    .venv/bin/python bench/twin/run.py PROJECT [PROJECT ...]

Each PROJECT is a baked project whose `make venv` already ran (venv creation is not timed). The AWS
column is an estimate, not a measurement: what the flow waits for on AWS even when nothing fails
(see AWS_SECONDS for each figure and where it comes from)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

# Lower bounds of what AWS spends per stage, in seconds, with their sources:
# - CodeBuild provisioning of a build container, per build: the "PROVISIONING" and
#   "DOWNLOAD_SOURCE" phases, about 30-60 s on an on-demand fleet (AWS CodeBuild user guide,
#   "Build phase transitions"; the phases' durations are shown per build; 45 s used here).
# - SageMaker processing and training jobs, per job: instance start and image pull before the
#   step's code runs, a few minutes (SageMaker developer guide, job status "Starting"/
#   "Downloading"; 180 s used here, 4 jobs in the model-build pipeline).
# - Endpoint creation: "it can take a few minutes for the endpoint to become available"
#   (SageMaker developer guide, "Create an endpoint"; 300 s used here per stage).
# - Deployment guardrails: the stage configs' wait_interval_seconds and termination_wait_seconds
#   (model-deploy/*-config.json), for an update; a first deploy creates the endpoint instead.
CODEBUILD_START = 45
SAGEMAKER_JOB_START = 180
JOBS_PER_RUN = 4
ENDPOINT_CREATE = 300
AWS_SECONDS = {
    "1": 120,  # CloudFormation creating the CI/CD stack (KMS key, buckets, roles, pipelines)
    "2": 2 * CODEBUILD_START,
    "3": JOBS_PER_RUN * SAGEMAKER_JOB_START,
    "4": 3 * CODEBUILD_START + 2 * ENDPOINT_CREATE,
    "5": 0,
    "5b": SAGEMAKER_JOB_START + JOBS_PER_RUN * SAGEMAKER_JOB_START,  # monitoring job, retraining
    "6": 2 * CODEBUILD_START + JOBS_PER_RUN * SAGEMAKER_JOB_START,
    "7": JOBS_PER_RUN * SAGEMAKER_JOB_START,
    # two batch runs of two processing jobs, the clean one's transform job, the drift's retraining
    "8": 2 * 2 * SAGEMAKER_JOB_START + SAGEMAKER_JOB_START + JOBS_PER_RUN * SAGEMAKER_JOB_START,
}
# Not counted: the drift alarm's evaluation (its period is an hour; CloudWatch evaluates each minute).


def run(project: Path) -> dict[str, float]:
    started = time.perf_counter()
    done = subprocess.run(
        ["make", "--no-print-directory", "twin"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    match = re.search(r"twin: report (\S+)", done.stdout + done.stderr)
    if done.returncode != 0 or not match:
        sys.exit(f"{project}: make twin failed:\n{(done.stdout + done.stderr)[-3000:]}")
    report = json.loads(Path(match.group(1)).read_text(encoding="utf-8"))
    stages = {s["name"].split(" ", 1)[0]: s["seconds"] for s in report["stages"]}
    return {**stages, "wall": wall}


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    for project in map(Path, argv):
        size = re.search(r'size = "(\w+)"', (project / "project.toml").read_text()).group(1)
        seconds = run(project)
        estimates = {stage: aws for stage, aws in AWS_SECONDS.items() if stage in seconds}
        aws = sum(estimates.values())
        print(f"\n{project.name} ({size}): twin {seconds['wall']:.0f} s wall, AWS at least {aws} s")
        print(f"  {'stage':<6} {'twin s':>8} {'AWS s':>8} {'twin/AWS':>9}")
        for stage, estimate in estimates.items():
            twin = seconds[stage]
            ratio = f"{twin / estimate:.2f}" if estimate else "-"
            print(f"  {stage:<6} {twin:8.1f} {estimate:8d} {ratio:>9}")
        print(f"  {'all':<6} {seconds['wall']:8.1f} {aws:8d} {seconds['wall'] / aws:9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
