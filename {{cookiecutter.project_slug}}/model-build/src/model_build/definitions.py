"""Building the project's pipeline definitions offline, caching them, and `get-pipeline-definition`."""

# The SDK loads only in the functions that build (model_build.offline first).
# ruff: noqa: PLC0415

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import warnings
from pathlib import Path
from typing import Any

import project_names
from model_build import pipeline_kinds
from model_build.config import PipelineConfig
from model_build.errors import UsageError, UsageParser
from model_build.options import (
    add_name_arguments,
    add_size_argument,
    build_config,
)


def build_definition(
    config: PipelineConfig, kind: str = pipeline_kinds.MODEL_BUILD
) -> dict[str, Any]:
    """The definition of pipeline ``kind`` as a dict, with the SDK's import-time chatter silenced."""
    from model_build.offline import import_sdk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's own moved-module shims
        import_sdk(config.region, quiet=True)
        return json.loads(pipeline_kinds.definition(kind, config))


def require_available(kind: str, config: PipelineConfig) -> None:
    """A one-line refusal for a pipeline this project does not have (monitoring on small)."""
    if kind not in pipeline_kinds.available(config):
        raise UsageError(
            f"the {kind} pipeline is only for medium and large projects; this one is "
            f"{config.size!r} (project.toml [project] size, or --size)"
        )


def project_tags(config: PipelineConfig) -> list[dict[str, str]]:
    """The tags SageMaker Projects use to list a project's pipelines in Studio."""
    return [
        {"Key": "sagemaker:project-name", "Value": config.project_name},
        {"Key": "sagemaker:project-id", "Value": config.project_id},
    ]


def definition_key(config: PipelineConfig) -> str:
    """Changes whenever the definition could: names, pipeline code (every module of this package
    and of project_names), or SDK versions."""
    digest = hashlib.sha256(json.dumps(dataclasses.asdict(config), sort_keys=True).encode())
    for package in (Path(__file__).parent, Path(project_names.__file__).parent):
        for module in sorted(package.rglob("*.py")):
            digest.update(module.relative_to(package).as_posix().encode() + module.read_bytes())
    for package in ("sagemaker-mlops", "sagemaker-core", "sagemaker-train", "sagemaker-serve"):
        digest.update(f"{package}=={importlib.metadata.version(package)}".encode())
    return digest.hexdigest()[:16]


def cached_definition(config: PipelineConfig, work: Path) -> tuple[dict[str, Any], bool]:
    """The definition get_pipeline builds for ``config``, reused from ``work`` while its key matches.

    Importing the SDK and building take 3-5 s, about as long as all six steps; the key covers
    everything the definition depends on, so a cached copy is the same JSON a fresh build returns.
    """
    path = work / "definitions" / f"{definition_key(config)}.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8")), True
    definition = build_definition(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(definition, indent=2), encoding="utf-8")
    return definition, False


# -- get-pipeline-definition ------------------------------------------------------------------------------


def definition_main(argv: list[str] | None = None) -> int:
    parser = UsageParser(
        prog="get-pipeline-definition", description="Print the pipeline definition JSON."
    )
    add_name_arguments(parser)
    add_size_argument(parser)
    parser.add_argument(
        "--pipeline",
        choices=pipeline_kinds.KINDS,
        default=pipeline_kinds.MODEL_BUILD,
        help="which of the project's pipelines (default: model-build)",
    )
    parser.add_argument(
        "--local", action="store_true", help="use local defaults for names not given"
    )
    parser.add_argument("--output", "-o", type=Path, help="write to this file instead of stdout")
    args = parser.parse_args(argv)
    config = build_config(args, local=args.local)
    require_available(args.pipeline, config)
    text = json.dumps(build_definition(config, args.pipeline), indent=2, sort_keys=True)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0
