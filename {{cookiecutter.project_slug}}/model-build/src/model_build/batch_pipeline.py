"""The batch-inference pipeline (every size): score a batch with the newest Approved model, but only
after the batch passed the drift check against that model's baselines.

LatestApprovedModel (creates a SageMaker Model from the newest Approved package) -> CheckBatchInput
(the monitor on the batch's CSV rows) -> BatchInputClean (violations == 0) -> BatchTransform, else
the FailStep BatchInputDrift, whose failure the infra turns into retraining + a notification.
"""

# ruff: noqa: PLC0415

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from model_build.steps import StepBuilder, output_uri

if TYPE_CHECKING:
    from sagemaker.mlops.workflow.pipeline import Pipeline

    from model_build.config import PipelineConfig

# Model names are at most 63 characters; the execution id (12) makes each run's model its own.
MODEL_NAME_PREFIX_LENGTH = 40


def vpc_arguments(config: PipelineConfig) -> list[str]:
    """approved_model's ``--subnet-ids``/``--security-group-ids`` (none without a job VPC)."""
    if not config.job_subnets:
        return []
    return [
        "--subnet-ids",
        ",".join(config.job_subnets),
        "--security-group-ids",
        ",".join(config.job_security_groups),
    ]


def get_batch_inference_pipeline(config: PipelineConfig) -> Pipeline:
    """Build ``<project>-<id>-batch-inference``; call it inside ``no_metadata_credentials()``."""
    # The builder first: its session imports the SDK offline (the SDK's import needs a region).
    build = StepBuilder.scheduled(
        config,
        {
            "TransformInstanceType": "ml.m5.large",
            "TransformInstanceCount": 1,
            "BatchInputUrl": config.batch_input_url,
        },
    )
    from sagemaker.core.workflow.conditions import ConditionEquals
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.pipeline import Pipeline

    p = build.params
    model_name = Join(
        on="-",
        values=[
            config.base_name[:MODEL_NAME_PREFIX_LENGTH].rstrip("-"),
            ExecutionVariables.PIPELINE_EXECUTION_ID,
        ],
    )
    approved_file = PropertyFile(
        name="ApprovedModel", output_name="approved", path="model-package.json"
    )
    summary_file = PropertyFile(
        name="BatchInputSummary", output_name="monitoring", path="summary.json"
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Running within a PipelineSession")
        approved = build.processing(
            "LatestApprovedModel",
            "model_container.approved_model",
            inputs=[],
            outputs=[("approved", "approved")],
            arguments=[
                "--model-package-group",
                config.resolved_group,
                "--model-name",
                model_name,
                "--execution-role-arn",
                config.role_arn,
                # The Model's VpcConfig, which the transform job runs in (large).
                *vpc_arguments(config),
            ],
            property_files=[approved_file],
        )
        baselines = Join(on="/", values=[output_uri(approved, "approved"), "baselines"])
        check = build.processing(
            "CheckBatchInput",
            "model_container.monitor",
            inputs=[
                ("batch", p["BatchInputUrl"], "input/batch"),
                ("baselines", baselines, "baselines"),
            ],
            outputs=[("monitoring", "monitoring")],
            arguments=[
                "--input-format",
                "csv",
                "--capture-dir",
                "/opt/ml/processing/input/batch",
                "--violation-status",
                "0",
            ],
            property_files=[summary_file],
        )
        transform = build.transform(
            "BatchTransform",
            # The name LatestApprovedModel was told to create (a Join of literals and the execution
            # id), not a JsonGet of its property file: step arguments then hold only what
            # SageMaker documents as resolvable there. The condition step orders the two.
            model_name=model_name,
            data=p["BatchInputUrl"],
            output_path=build.s3_uri("batchtransform", "output"),
        )

    def summary(path: str) -> JsonGet:
        return JsonGet(step_name=check.name, property_file=summary_file, json_path=path)

    drift = FailStep(
        "BatchInputDrift",
        error_message=Join(
            on=" ",
            values=[
                "Batch input drift:",
                summary("violations"),
                "baseline constraint violations in",
                summary("rows"),
                "rows of",
                p["BatchInputUrl"],
                "(report: the CheckBatchInput step's monitoring output)",
            ],
        ),
    )
    clean = ConditionStep(
        "BatchInputClean",
        conditions=[ConditionEquals(left=summary("violations"), right=0)],
        if_steps=[transform],
        else_steps=[drift],
    )
    return Pipeline(
        name=config.batch_pipeline_name,
        parameters=list(p.values()),
        steps=[approved, check, clean],
        sagemaker_session=build.session,
    )
