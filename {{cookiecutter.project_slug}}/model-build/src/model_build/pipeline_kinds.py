"""The project's three SageMaker pipelines: their names, which a project has, and how to build each.

Light on purpose (no SDK import): the CLIs and the local executor consult it before anything loads.
"""

# ruff: noqa: PLC0415

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from model_build.offline import no_metadata_credentials

if TYPE_CHECKING:
    from sagemaker.mlops.workflow.pipeline import Pipeline

    from model_build.config import PipelineConfig

MODEL_BUILD, MONITORING, BATCH_INFERENCE = "model-build", "monitoring", "batch-inference"
KINDS = (MODEL_BUILD, MONITORING, BATCH_INFERENCE)
# The parameter only that pipeline declares: tells definitions apart.
_OWN_PARAMETER = {
    MODEL_BUILD: "InputDataUrl",
    MONITORING: "CaptureUrl",
    BATCH_INFERENCE: "BatchInputUrl",
}
DESCRIPTIONS = {
    MODEL_BUILD: "model-build pipeline",
    MONITORING: "drift monitoring of the prod endpoint's data capture",
    BATCH_INFERENCE: "batch inference with the newest approved model, after a drift check",
}


def available(config: PipelineConfig) -> tuple[str, ...]:
    """The pipelines this project has: monitoring only for medium and large projects."""
    return tuple(kind for kind in KINDS if kind != MONITORING or config.has_monitoring)


def pipeline_name(kind: str, config: PipelineConfig) -> str:
    return {
        MODEL_BUILD: config.resolved_pipeline_name,
        MONITORING: config.monitoring_pipeline_name,
        BATCH_INFERENCE: config.batch_pipeline_name,
    }[kind]


def build_pipeline(kind: str, config: PipelineConfig) -> Pipeline:
    """The SDK Pipeline of ``kind``; call it inside ``no_metadata_credentials()``."""
    if kind == MONITORING:
        from model_build.monitoring_pipeline import get_monitoring_pipeline

        return get_monitoring_pipeline(config)
    if kind == BATCH_INFERENCE:
        from model_build.batch_pipeline import get_batch_inference_pipeline

        return get_batch_inference_pipeline(config)
    if kind == MODEL_BUILD:
        from model_build.pipeline import get_pipeline

        return get_pipeline(config)
    raise ValueError(f"unknown pipeline {kind!r}; expected one of {', '.join(KINDS)}")


def definition(kind: str, config: PipelineConfig) -> str:
    """The definition JSON of ``kind``, built without any AWS call (see model_build.offline)."""
    with no_metadata_credentials():
        return build_pipeline(kind, config).definition()


def kind_of(definition: Mapping[str, Any]) -> str | None:
    """Which of the project's pipelines a definition is (None: none of them, e.g. a hand-written one)."""
    declared = {item.get("Name") for item in definition.get("Parameters", [])}
    found = [kind for kind, name in _OWN_PARAMETER.items() if name in declared]
    return found[0] if len(found) == 1 else None
