"""The one offline recipe: build pipeline definitions with the real SDK without calling AWS.

The SDK reaches AWS in a few places unless told not to: ``import sagemaker.mlops`` needs a region,
telemetry posts on decorated calls, ``default_bucket()`` creates/looks up a bucket, and ``ModelTrainer``
validates the role through IAM. Everything that builds a definition (the CLIs, the local runner, the
tests) goes through :func:`prepare_environment` and :func:`pipeline_session`.
"""

# The SDK is imported inside functions: it needs the environment set here before it loads.
# ruff: noqa: PLC0415

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the SDK is heavy to import; only load it when a session is built
    from sagemaker.core.workflow.pipeline_context import PipelineSession

# SDK defaults config that opts out of telemetry (SageMaker.PythonSDK.Modules.TelemetryOptOut).
SDK_CONFIG: dict[str, Any] = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}

# Placeholder identity for offline builds (documentation account id; never used to call AWS).
OFFLINE_ACCOUNT = "111122223333"
OFFLINE_ROLE_ARN = f"arn:aws:iam::{OFFLINE_ACCOUNT}:role/offline-pipeline-role"


def prepare_environment(region: str) -> None:
    """Set the environment the SDK reads at import/build time, before it is imported."""
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ.setdefault("AWS_REGION", region)
    # ModelTrainer would call iam:GetRole on the execution role; the role is passed explicitly.
    os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"


@contextmanager
def no_metadata_credentials() -> Iterator[None]:
    """Within the block, boto3 never asks the EC2 metadata endpoint for credentials.

    The SDK creates boto3 clients while importing and while building steps (e.g. each ProcessingStep
    builds a local-mode client just to read a method name); with no credentials configured, boto3
    then asks the EC2 metadata endpoint (network; two ~1 s timeouts off EC2). Only the build runs
    inside this block, so real calls afterwards (run-pipeline) use the normal credential chain.
    """
    previous = os.environ.get("AWS_EC2_METADATA_DISABLED")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("AWS_EC2_METADATA_DISABLED", None)
        else:
            os.environ["AWS_EC2_METADATA_DISABLED"] = previous


def import_sdk(region: str, *, quiet: bool = False) -> None:
    """Import the SDK packages the pipeline uses, offline; ``quiet`` keeps only their error logs.

    The SDK logs every default it applies and every field it pops at INFO/WARNING, on loggers it
    configures while importing, so quieting has to follow the import.
    """
    prepare_environment(region)
    with no_metadata_credentials():
        import sagemaker.mlops.workflow.pipeline
        import sagemaker.serve.model_builder
        import sagemaker.train.model_trainer  # noqa: F401
    if quiet:
        for name in list(logging.root.manager.loggerDict):
            if name.startswith("sagemaker"):
                logging.getLogger(name).setLevel(logging.ERROR)


def pipeline_session(region: str, bucket: str) -> PipelineSession:
    """A PipelineSession with an explicit bucket and telemetry off: building steps makes no call."""
    import_sdk(region)
    _validate_config_with_checked_schema()
    import boto3
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    # Building a definition needs no identity, but boto3 resolves credentials when the SDK creates its
    # clients, which falls through to the EC2 metadata endpoint (network, ~1 s timeouts) when none are
    # configured. Placeholder keys stop that, and make any call the SDK would wrongly make fail to
    # authenticate instead of acting as the caller.
    offline_boto = boto3.Session(
        region_name=region, aws_access_key_id="OFFLINE", aws_secret_access_key="OFFLINE"
    )
    session = PipelineSession(
        boto_session=offline_boto,
        default_bucket=bucket,
        sagemaker_config=SDK_CONFIG,
    )
    # default_bucket() would still list/head/create the bucket (s3:ListAllMyBuckets) on first use even
    # though it is given; the bucket is the project's artifact bucket, which the infra stack owns.
    session._default_bucket = bucket
    return session


def _validate_config_with_checked_schema() -> None:
    """Make the SDK's config validation check its (constant) schema once instead of on every lookup.

    ``SageMakerConfig.validate_sagemaker_config`` calls ``jsonschema.validate``, which re-validates the
    SDK's large schema against the meta-schema each time; building the pipeline looks config values up
    ~60 times, which took 5-6 s of the ~7 s build. The config is still validated on every call.
    """
    import jsonschema
    from sagemaker.core.config import config_manager
    from sagemaker.core.config.config_schema import SAGEMAKER_PYTHON_SDK_CONFIG_SCHEMA as SCHEMA

    if getattr(
        config_manager.SageMakerConfig.validate_sagemaker_config, "_schema_checked_once", False
    ):
        return
    validator_class = jsonschema.validators.validator_for(SCHEMA)
    validator_class.check_schema(SCHEMA)
    validator = validator_class(SCHEMA)

    def validate_sagemaker_config(sagemaker_config: dict[str, Any] | None = None) -> None:
        error = jsonschema.exceptions.best_match(validator.iter_errors(sagemaker_config))
        if error is not None:
            raise error

    validate_sagemaker_config._schema_checked_once = True  # type: ignore[attr-defined]
    config_manager.SageMakerConfig.validate_sagemaker_config = staticmethod(
        validate_sagemaker_config
    )
