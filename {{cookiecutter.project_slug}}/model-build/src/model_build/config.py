"""The project's names and defaults (PipelineConfig): every pipeline module and CLI builds from it.

Resource names come from ``project_names``, which the CI/CD stack (infra) uses to create them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from project_names import Names

SIZES = ("small", "medium", "large")  # project.toml [project] size
MONITORED_SIZES = ("medium", "large")  # sizes that get the monitoring pipeline


@dataclass(frozen=True)
class PipelineConfig:
    """Names and defaults that differ between projects; the CLIs fill it from args, env or project.toml."""

    region: str
    role_arn: str
    bucket: str
    project_name: str
    project_id: str = "local"
    image_uri: str = "model-container:local"
    model_package_group: str | None = None
    pipeline_name: str | None = None
    input_data_url: str | None = None
    processing_instance_type: str = "ml.m5.large"
    training_instance_type: str = "ml.m5.large"
    size: str = "small"
    tags: dict[str, str] = field(default_factory=dict)
    # The project's KMS key (infra: the artifact bucket's key; CodeBuild's KMS_KEY_ARN): every job's
    # volumes and outputs are encrypted with it. None (local runs): the fields are left out.
    kms_key_arn: str | None = None
    # The jobs' VPC (large; infra: the JobNetwork's private subnets and its security group;
    # CodeBuild's JOB_SUBNET_IDS / JOB_SECURITY_GROUP_IDS). Empty (local runs, small, medium): the
    # jobs run in SageMaker's own network, no VpcConfig.
    job_subnets: tuple[str, ...] = ()
    job_security_groups: tuple[str, ...] = ()
    # MLflow tracking (model_container.tracking): the Track and LinkRun steps publish what
    # Preprocess, Train and Evaluate record. On when the build gives a tracking URI (the
    # MlflowTrackingUri parameter's default) and always locally (run-local sets the parameter);
    # their environment besides the URI: MLFLOW_EXPERIMENT_NAME, SOURCE_GIT_*.
    # The repository, branch and commit the build was built from (source_git_* keys): recorded in
    # every registered model package; empty locally (run-local adds them after the run).
    source_git: dict[str, str] = field(default_factory=dict)
    tracking: bool = False
    tracking_uri: str = ""
    tracking_environment: dict[str, str] = field(default_factory=dict)

    @property
    def job_vpc(self) -> dict[str, list[str]] | None:
        """The jobs' VpcConfig (botocore's VpcConfig shape), or None when no VPC is given."""
        if not self.job_subnets:
            return None
        return {
            "SecurityGroupIds": list(self.job_security_groups),
            "Subnets": list(self.job_subnets),
        }

    @property
    def encrypts_inter_container_traffic(self) -> bool:
        """Training encrypts traffic between its hosts for large projects only: it slows distributed
        training (https://docs.aws.amazon.com/sagemaker/latest/dg/train-encrypt.html)."""
        return self.size == "large"

    @property
    def names(self) -> Names:
        return Names(self.project_name, self.project_id)

    @property
    def base_name(self) -> str:
        """``<project>-<id>``: the prefix SageMaker Projects give every resource of the project."""
        return self.names.base

    @property
    def resolved_pipeline_name(self) -> str:
        return self.pipeline_name or self.names.build_pipeline

    @property
    def monitoring_pipeline_name(self) -> str:
        return self.names.monitoring_pipeline

    @property
    def batch_pipeline_name(self) -> str:
        return self.names.batch_pipeline

    @property
    def has_monitoring(self) -> bool:
        return self.size in MONITORED_SIZES

    @property
    def resolved_group(self) -> str:
        return self.model_package_group or self.names.model_package_group

    @property
    def resolved_input_url(self) -> str:
        return self.input_data_url or f"s3://{self.bucket}/{self.names.raw_data_prefix}"

    def endpoint_name(self, stage: str) -> str:
        return self.names.endpoint(stage)

    @property
    def drift_namespace(self) -> str:
        """The CloudWatch namespace of the drift metrics (the infra alarm watches it)."""
        return self.names.drift_namespace

    @property
    def capture_url(self) -> str:
        """Where the prod endpoint's data capture lands: the folder above ``yyyy/mm/dd/hh/``."""
        return f"s3://{self.bucket}/{self.names.capture_folder('prod')}"

    @property
    def ground_truth_url(self) -> str:
        """Where the prod endpoint's ground-truth labels go: the folder above ``yyyy/mm/dd/hh/``."""
        return f"s3://{self.bucket}/{self.names.ground_truth_folder('prod')}"

    @property
    def quality_namespace(self) -> str:
        """The CloudWatch namespace of the model-quality metrics (the infra alarm watches it)."""
        return self.names.quality_namespace

    @property
    def batch_input_url(self) -> str:
        return f"s3://{self.bucket}/{self.names.batch_input_prefix}"

    @property
    def all_tags(self) -> dict[str, str]:
        # Plain keys: SageMaker Projects add their own sagemaker:project-* tags to what a project creates.
        return {"project-name": self.project_name, "project-id": self.project_id, **self.tags}
