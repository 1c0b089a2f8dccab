"""The monitoring pipeline's model-quality step: the window's captured predictions merged with the
ground truth uploaded for them, checked against the newest Approved package's model-quality
constraints; metrics to CloudWatch, where the model-quality alarm (infra) starts retraining.

It exits 0 on violations (``--violation-status 0``: the alarm acts) and skips a window without any
ground truth (``--without-ground-truth skip``: labels usually arrive later than the requests).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from model_build.config import PipelineConfig
    from model_build.steps import StepBuilder

STEP_NAME = "MonitorModelQuality"
PARAMETER = "GroundTruthUrl"  # the pipeline parameter this step adds (default: the names' prefix)


def model_quality_step(build: StepBuilder, config: PipelineConfig) -> Any:
    """Reads the window parameters (``CaptureUrl``, ``WindowEnd``, ``WindowHours``) and ``GroundTruthUrl``."""
    p = build.params
    arguments: list[Any] = [
        "--capture-url",
        p["CaptureUrl"],
        "--ground-truth-url",
        p[PARAMETER],
        "--end",
        p["WindowEnd"],
        "--hours",
        p["WindowHours"].to_string(),
        "--model-package-group",
        config.resolved_group,
        "--endpoint",
        config.endpoint_name("prod"),
        "--namespace",
        config.quality_namespace,
        "--publish-metrics",
        "--region",
        config.region,
        "--violation-status",
        "0",
        "--without-ground-truth",
        "skip",
    ]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Running within a PipelineSession")
        return build.processing(
            STEP_NAME,
            "model_container.monitor_quality",
            inputs=[],
            outputs=[("model-quality", "model-quality")],
            arguments=arguments,
        )
