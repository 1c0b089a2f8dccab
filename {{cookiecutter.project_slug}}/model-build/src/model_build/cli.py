"""Console scripts: get-pipeline-definition, run-pipeline, upsert-pipelines, run-local, approve.

Each command lives with what it does (definitions, cloud, local.commands); this module names the
entry points pyproject.toml installs.
"""

from __future__ import annotations

from model_build.cloud import run_pipeline_main, upsert_pipelines_main
from model_build.definitions import definition_main
from model_build.errors import run_cli
from model_build.local.commands import approve_main, run_local_main


# Console-script targets (P/model-build/pyproject.toml).
def main_definition() -> int:
    return run_cli(definition_main)


def main_run_pipeline() -> int:
    return run_cli(run_pipeline_main)


def main_upsert_pipelines() -> int:
    return run_cli(upsert_pipelines_main)


def main_run_local() -> int:
    return run_cli(run_local_main)


def main_approve() -> int:
    return run_cli(approve_main)
