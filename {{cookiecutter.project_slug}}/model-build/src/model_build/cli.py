"""Console scripts: get-pipeline-definition, run-pipeline, upsert-pipelines, run-local, approve.

Each command lives with what it does (definitions, cloud, local.commands); this module names the
entry points pyproject.toml installs.
"""

from __future__ import annotations

from model_build.cloud import (
    run_pipeline_main,
    seed_input_data,
    upsert,
    upsert_pipelines_main,
    wait_for_execution,
)
from model_build.definitions import build_definition, cached_definition, definition_main
from model_build.errors import UsageError, UsageParser, run_cli
from model_build.local.commands import (
    BUNDLED_DATA,
    approve_in_registry,
    approve_main,
    run_local_main,
    summary,
    upload_data,
)
from model_build.settings import add_name_arguments, add_size_argument, build_config

__all__ = [
    "BUNDLED_DATA",
    "UsageError",
    "UsageParser",
    "add_name_arguments",
    "add_size_argument",
    "approve_in_registry",
    "approve_main",
    "build_config",
    "build_definition",
    "cached_definition",
    "definition_main",
    "run_local_main",
    "run_pipeline_main",
    "seed_input_data",
    "summary",
    "upload_data",
    "upsert",
    "upsert_pipelines_main",
    "wait_for_execution",
]


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
