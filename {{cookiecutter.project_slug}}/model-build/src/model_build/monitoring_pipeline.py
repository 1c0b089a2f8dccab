"""The monitoring pipeline (medium/large projects): one drift check of the prod endpoint's data capture.

A schedule starts it (infra, ``WindowEnd`` = the scheduled time). The monitor compares the window's
captured requests with the newest Approved package's drift baselines and publishes the drift metrics
to CloudWatch; it exits 0 on violations (``--violation-status 0``) so the run records the check, and
the CloudWatch alarm on ``ConstraintViolations`` (infra) starts retraining.
"""

# ruff: noqa: PLC0415

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from model_build.steps import StepBuilder

if TYPE_CHECKING:
    from sagemaker.mlops.workflow.pipeline import Pipeline

    from model_build.config import PipelineConfig

STEP_NAME = "MonitorDataCapture"


def get_monitoring_pipeline(config: PipelineConfig) -> Pipeline:
    """Build ``<project>-<id>-monitoring``; call it inside ``no_metadata_credentials()``."""
    from sagemaker.mlops.workflow.pipeline import Pipeline

    build = StepBuilder.scheduled(
        config,
        {
            "WindowEnd": "",  # "" = now (the monitor's default); the schedule passes its time
            "WindowHours": 24,
            "CaptureUrl": config.capture_url,
        },
    )
    p = build.params
    arguments: list[Any] = [
        "--capture-url",
        p["CaptureUrl"],
        "--end",
        p["WindowEnd"],
        "--hours",
        p["WindowHours"].to_string(),
        "--model-package-group",
        config.resolved_group,
        "--endpoint",
        config.endpoint_name("prod"),
        "--namespace",
        config.drift_namespace,
        "--publish-metrics",
        "--region",
        config.region,
        "--violation-status",
        "0",
    ]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Running within a PipelineSession")
        monitor = build.processing(
            STEP_NAME,
            "model_container.monitor",
            inputs=[],
            outputs=[("monitoring", "monitoring")],
            arguments=arguments,
        )
    return Pipeline(
        name=config.monitoring_pipeline_name,
        parameters=list(p.values()),
        steps=[monitor],
        sagemaker_session=build.session,
    )
