"""The monitoring pipeline (medium/large projects): a drift check of the prod endpoint's data capture
and a model-quality check of its predictions against ground truth (``quality_step``).

A schedule starts it (infra, ``WindowEnd`` = the scheduled time). The monitor compares the window's
captured requests with the newest Approved package's drift baselines (and the ranking of the
features by SHAP, explained by that package's model, with its explainability baseline) and publishes
the drift metrics to CloudWatch; it exits 0 on violations (``--violation-status 0``) so the run records the check, and
the CloudWatch alarm on ``ConstraintViolations`` (infra) starts retraining.
"""

# ruff: noqa: PLC0415

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from model_build import quality_step
from model_build.steps import StepBuilder

if TYPE_CHECKING:
    from sagemaker.mlops.workflow.pipeline import Pipeline

    from model_build.config import PipelineConfig

STEP_NAME = "MonitorDataCapture"
# The monitor also checks feature attribution drift (Clarify's nDCG of the global SHAP ranking against
# the package's explainability baseline; a violation counts in ConstraintViolations, so it starts
# retraining too). Clarify alarms below 0.90:
# https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-model-monitor-feature-attribution-drift.html
# REPLACE: raise it (e.g. 0.95) when your features' attributions are alike: nDCG then moves little
# even when their ranking changes (the sample model's shifted outliers batch scores about 0.96).
ATTRIBUTION_THRESHOLD = "0.90"


def get_monitoring_pipeline(config: PipelineConfig) -> Pipeline:
    """Build ``<project>-<id>-monitoring``; call it inside ``no_metadata_credentials()``."""
    # The builder first: its session imports the SDK offline (the SDK's import needs a region).
    build = StepBuilder.scheduled(
        config,
        {
            "WindowEnd": "",  # "" = now (the monitor's default); the schedule passes its time
            "WindowHours": 24,
            "CaptureUrl": config.capture_url,
            quality_step.PARAMETER: config.ground_truth_url,
        },
    )
    from sagemaker.mlops.workflow.pipeline import Pipeline

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
        "--feature-attribution",
        "--attribution-threshold",
        ATTRIBUTION_THRESHOLD,
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
        steps=[monitor, quality_step.model_quality_step(build, config)],
        sagemaker_session=build.session,
    )
