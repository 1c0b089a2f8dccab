"""Step factories every project pipeline shares: processing, training, register and transform steps.

Each runs the project's own image (``ImageUri`` parameter) with the entry points of its contract
(model-build/container/README.md); the pipeline modules (model-build in ``pipeline``, ``monitoring_pipeline``,
``batch_pipeline``) decide which steps exist and how they connect. What SageMaker retries and which
steps it may cache is set here, for all of them (RETRIES, CACHED_STEPS).
"""

# The SDK is imported inside the methods: callers load it through model_build.offline first.
# ruff: noqa: PLC0415

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from model_build.offline import pipeline_session

if TYPE_CHECKING:
    from model_build.config import PipelineConfig

# Container paths of the step contract (model-build/container/README.md, "The container contract").
PROCESSING = "/opt/ml/processing"


# -- What SageMaker retries and caches, for every step of the three pipelines ---------------------------


@dataclass(frozen=True)
class Retry:
    """One entry of a step's RetryPolicies: the faults it matches and its bounded backoff.

    ``max_attempts`` counts retries after the first attempt (SageMaker allows 0-20); the wait before
    retry n is ``interval_seconds * backoff_rate ** (n - 1)``.
    """

    exception_types: tuple[str, ...]
    interval_seconds: int
    max_attempts: int
    backoff_rate: float = 2.0


# https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-retry-policy.html: of our step types,
# Processing, Training, Transform and RegisterModel take RetryPolicies; Condition and Fail do not.
# Faults calling SageMaker's own services, which Pipelines retries anyway; bounded here: 10 s .. 160 s.
SERVICE_FAULTS = Retry(
    ("Step.SERVICE_FAULT", "Step.THROTTLING"), interval_seconds=10, max_attempts=5
)
# The job failed for SageMaker's reasons (InternalServerError, EC2 InsufficientCapacityError): a new
# job usually runs; 1, 2, 4, 8 min.
JOB_FAULTS = Retry(
    ("SageMaker.JOB_INTERNAL_ERROR", "SageMaker.CAPACITY_ERROR"),
    interval_seconds=60,
    max_attempts=4,
)
# An account quota (e.g. instances of a type) is in use, by the other pipelines' jobs too: 2 .. 32 min.
RESOURCE_LIMIT = Retry(("SageMaker.RESOURCE_LIMIT",), interval_seconds=120, max_attempts=5)
# The SageMaker.* types are about the job a step starts: RegisterModel starts none (the SDK's ModelStep
# refuses them), so it retries service faults only.
RETRIES: dict[str, tuple[Retry, ...]] = {
    "Processing": (SERVICE_FAULTS, JOB_FAULTS, RESOURCE_LIMIT),
    "Training": (SERVICE_FAULTS, JOB_FAULTS, RESOURCE_LIMIT),
    "Transform": (SERVICE_FAULTS, JOB_FAULTS, RESOURCE_LIMIT),
    "RegisterModel": (SERVICE_FAULTS,),
}

# https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-caching.html: a cached step reuses its latest
# successful run (of this pipeline, younger than ExpireAfter) whose key attributes are the same: image,
# arguments, environment and the inputs' S3 URIs
# (https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-default-keys.html), never the objects
# under a URI. So only steps whose inputs are other steps' outputs (written once, under their run's
# execution id) and that change nothing but their own outputs are cached. They hit when they get those
# same outputs again, e.g. a selective execution from an earlier run with another AucThreshold.
CACHED_STEPS = frozenset({"Train", "Evaluate", "Baselines", "Bias"})
# Not cached: Preprocess reads InputDataUrl, where new CSV files arrive under the same URI;
# Champion and LatestApprovedModel read the model registry (Evaluate, cached, takes Champion's
# output, written under its run's execution id: a reused evaluation compared with that run's
# champion); CheckBatchInput and BatchTransform read BatchInputUrl (the same URI, new batches);
# MonitorDataCapture reads the capture up to "now" and publishes metrics.
# Register, Condition and Fail steps cannot be cached. Run artifacts stay in the artifact bucket (it
# expires nothing), so a month-old run can still be reused.
CACHE_EXPIRE_AFTER = "P30D"

# Network isolation: the job's container may open no network connection; SageMaker still copies its
# S3 inputs in and its outputs out, and a training job's hosts still reach each other
# (EnableNetworkIsolation in https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html
# and https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_NetworkConfig.html). Decided per
# job step; a step not listed here fails the build (model-build/README.md, "Encryption and isolation").
NETWORK_ISOLATION: dict[str, bool] = {
    # Reads its inputs, writes its outputs; no AWS call from inside the container.
    "Preprocess": True,
    "Train": True,
    "Evaluate": True,  # the champion's model comes in as an input (Champion's output)
    "Baselines": True,
    "Bias": True,
    "CheckBatchInput": True,  # the batch and the baselines come in as inputs; publishes nothing
    # Call AWS APIs from inside the container:
    "Champion": False,  # the registry (newest Approved package) and S3 (its model)
    "LatestApprovedModel": False,  # the registry, S3 and CreateModel
    "MonitorDataCapture": False,  # the registry, S3 (capture) and CloudWatch (metrics)
    "MonitorModelQuality": False,  # the registry, S3 (capture, ground truth) and CloudWatch
    # The tracking server (model_container.track): the isolated steps record, these publish.
    "Track": False,
    "LinkRun": False,
}


def retry_policies(step_type: str) -> list[Any]:
    """The SDK retry policies of ``step_type`` (RETRIES), as the step constructors take them."""
    from sagemaker.mlops.workflow.retry import (
        SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy,
        StepExceptionTypeEnum,
        StepRetryPolicy,
    )

    # By value, not Enum(value): the SDK's enums return their first member for a positional value.
    step_types = {member.value: member for member in StepExceptionTypeEnum}
    job_types = {member.value: member for member in SageMakerJobExceptionTypeEnum}
    policies: list[Any] = []
    for retry in RETRIES[step_type]:
        timing = {
            "interval_seconds": retry.interval_seconds,
            "backoff_rate": retry.backoff_rate,
            "max_attempts": retry.max_attempts,
        }
        if all(kind in step_types for kind in retry.exception_types):
            kinds = [step_types[kind] for kind in retry.exception_types]
            policies.append(StepRetryPolicy(exception_types=kinds, **timing))
        else:
            jobs = [job_types[kind] for kind in retry.exception_types]
            policies.append(SageMakerJobStepRetryPolicy(exception_types=jobs, **timing))
    return policies


def cache_config(name: str) -> Any:
    """The CacheConfig of step ``name``: on for CACHED_STEPS, None (the SDK writes none) otherwise."""
    from sagemaker.mlops.workflow.steps import CacheConfig

    if name not in CACHED_STEPS:
        return None
    return CacheConfig(enable_caching=True, expire_after=CACHE_EXPIRE_AFTER)


def network_isolation(name: str) -> bool:
    """Whether job step ``name`` runs network-isolated (NETWORK_ISOLATION)."""
    if name not in NETWORK_ISOLATION:
        raise ValueError(
            f"step {name!r} has no network isolation decision; add it to "
            f"model_build.steps.NETWORK_ISOLATION (known: {', '.join(NETWORK_ISOLATION)})"
        )
    return NETWORK_ISOLATION[name]


def image_parameters(config: PipelineConfig) -> list[Any]:
    """The parameters the scheduled pipelines start with: the image and its processing instances."""
    from sagemaker.core.workflow.parameters import ParameterString

    return [
        ParameterString("ImageUri", default_value=config.image_uri),
        ParameterString("ProcessingInstanceType", default_value=config.processing_instance_type),
    ]


class StepBuilder:
    """Builds steps sharing one pipeline's session, names and parameters."""

    def __init__(self, config: PipelineConfig, session: Any, parameters: Iterable[Any]) -> None:
        self.config = config
        self.session = session
        self.params: dict[str, Any] = {param.name: param for param in parameters}

    @classmethod
    def scheduled(cls, config: PipelineConfig, defaults: Mapping[str, str | int]) -> StepBuilder:
        """The builder of a scheduled pipeline: its own session, the image parameters first, then
        one pipeline parameter per ``defaults`` item (an integer default makes a ParameterInteger)."""
        session = pipeline_session(config.region, config.bucket)  # first: it imports the SDK
        from sagemaker.core.workflow.parameters import ParameterInteger, ParameterString

        parameters = [
            ParameterInteger(name, default_value=default)
            if isinstance(default, int)
            else ParameterString(name, default_value=default)
            for name, default in defaults.items()
        ]
        return cls(config, session, [*image_parameters(config), *parameters])

    def tracking(self) -> dict[str, Any]:
        """The Track and LinkRun steps' environment (model_container.tracking): the build's MLflow
        variables, the tracking URI (the MlflowTrackingUri parameter) and the execution's ARN."""
        from sagemaker.core.workflow.execution_variables import ExecutionVariables

        return {
            **self.config.tracking_environment,
            "MLFLOW_TRACKING_URI": self.params["MlflowTrackingUri"],
            "PIPELINE_EXECUTION_ARN": ExecutionVariables.PIPELINE_EXECUTION_ARN,
        }

    def s3_uri(self, *parts: Any) -> Any:
        """``s3://<bucket>/<project>-<id>/<execution id>/...``: runs never mix artifacts."""
        from sagemaker.core.workflow.execution_variables import ExecutionVariables
        from sagemaker.core.workflow.functions import Join

        root = ["s3:/", self.config.bucket, self.config.base_name]
        return Join(on="/", values=[*root, ExecutionVariables.PIPELINE_EXECUTION_ID, *parts])

    def processing(
        self,
        name: str,
        module: str,
        inputs: list[tuple[str, Any, str]],
        outputs: list[tuple[str, str]],
        *,
        arguments: list[Any] | None = None,
        property_files: list[Any] | None = None,
        instance_count: Any = 1,
        sharded: tuple[str, ...] = (),
        env: Mapping[str, Any] | None = None,
    ) -> Any:
        """A ProcessingStep running ``python3 -m <module>`` in the image; paths under /opt/ml/processing.

        ``instance_count`` (an int or a ParameterInteger) instances run it; the inputs named in
        ``sharded`` are split across them by S3 key (ShardedByS3Key), the others copied to each
        (FullyReplicated). Every instance uploads its output folders to the same S3 prefixes, so a step
        run on several must write per-host file names (as model_container.preprocess does).
        """
        from sagemaker.core.network import NetworkConfig
        from sagemaker.core.processing import Processor
        from sagemaker.core.shapes import (
            ProcessingInput,
            ProcessingOutput,
            ProcessingS3Input,
            ProcessingS3Output,
        )
        from sagemaker.mlops.workflow.steps import ProcessingStep

        unknown = sorted(set(sharded) - {input_name for input_name, _, _ in inputs})
        if unknown:
            raise ValueError(f"{name}: sharded names {unknown}, which are not among its inputs")
        processor = Processor(
            role=self.config.role_arn,
            image_uri=self.params["ImageUri"],
            instance_count=instance_count,
            instance_type=self.params["ProcessingInstanceType"],
            entrypoint=["python3", "-m", module],
            sagemaker_session=self.session,
            base_job_name=f"{self.config.base_name}-{name.lower()}",
            tags=tag_list(self.config.all_tags),
            env=dict(env) if env else None,
            # ProcessingResources.ClusterConfig.VolumeKmsKeyId, ProcessingOutputConfig.KmsKeyId.
            volume_kms_key=self.config.kms_key_arn,
            output_kms_key=self.config.kms_key_arn,
            # NetworkConfig.VpcConfig when the project gives its jobs a VPC (large).
            network_config=NetworkConfig(
                enable_network_isolation=network_isolation(name),
                security_group_ids=list(self.config.job_security_groups) or None,
                subnets=list(self.config.job_subnets) or None,
            ),
        )
        step_args = processor.run(
            inputs=[
                ProcessingInput(
                    input_name=input_name,
                    s3_input=ProcessingS3Input(
                        s3_uri=source,
                        s3_data_type="S3Prefix",
                        s3_input_mode="File",
                        # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingS3Input.html
                        s3_data_distribution_type=(
                            "ShardedByS3Key" if input_name in sharded else "FullyReplicated"
                        ),
                        local_path=f"{PROCESSING}/{local}",
                    ),
                )
                for input_name, source, local in inputs
            ],
            outputs=[
                ProcessingOutput(
                    output_name=output_name,
                    s3_output=ProcessingS3Output(
                        s3_uri=self.s3_uri(name.lower(), output_name),
                        s3_upload_mode="EndOfJob",
                        local_path=f"{PROCESSING}/{local}",
                    ),
                )
                for output_name, local in outputs
            ],
            arguments=arguments,
        )
        return ProcessingStep(
            name,
            step_args=step_args,
            property_files=property_files,
            retry_policies=retry_policies("Processing"),
            cache_config=cache_config(name),
        )

    def training(self, preprocess: Any) -> Any:
        """The TrainingStep: SageMaker runs ``<image> train`` on the train/validation channels."""
        from sagemaker.core.shapes import Tag
        from sagemaker.mlops.workflow.steps import TrainingStep
        from sagemaker.train.configs import (
            Compute,
            InputData,
            Networking,
            OutputDataConfig,
            StoppingCondition,
        )
        from sagemaker.train.model_trainer import ModelTrainer

        p = self.params
        # CreateTrainingJob hyperparameters are strings: typed parameters go through to_string().
        names = {
            "max_depth": "MaxDepth",
            "eta": "Eta",
            "num_round": "NumRound",
            "early_stopping_rounds": "EarlyStoppingRounds",
            "seed": "Seed",
        }
        trainer = ModelTrainer(
            training_image=p["ImageUri"],
            role=self.config.role_arn,
            sagemaker_session=self.session,
            base_job_name=f"{self.config.base_name}-train",
            compute=Compute(
                instance_type=p["TrainingInstanceType"],
                instance_count=p["TrainingInstanceCount"],
                volume_kms_key_id=self.config.kms_key_arn,  # ResourceConfig.VolumeKmsKeyId
            ),
            # EnableNetworkIsolation, EnableInterContainerTrafficEncryption and, when the project
            # gives its jobs a VPC (large), VpcConfig.
            networking=Networking(
                enable_network_isolation=network_isolation("Train"),
                security_group_ids=list(self.config.job_security_groups) or None,
                subnets=list(self.config.job_subnets) or None,
                enable_inter_container_traffic_encryption=(
                    self.config.encrypts_inter_container_traffic
                ),
            ),
            stopping_condition=StoppingCondition(max_runtime_in_seconds=3600),
            output_data_config=OutputDataConfig(
                s3_output_path=self.s3_uri("train"), kms_key_id=self.config.kms_key_arn
            ),
            hyperparameters={key: p[name].to_string() for key, name in names.items()},
            tags=[Tag(key=key, value=value) for key, value in sorted(self.config.all_tags.items())],
        )
        channels = [
            InputData(
                channel_name=name, data_source=output_uri(preprocess, name), content_type="text/csv"
            )
            for name in ("train", "validation")
        ]
        return TrainingStep(
            "Train",
            step_args=trainer.train(input_data_config=channels),
            retry_policies=retry_policies("Training"),
            cache_config=cache_config("Train"),
        )

    def register(
        self,
        model_data: Any,
        evaluate: Any,
        baselines: Any,
        bias: Any,
        metadata: Mapping[str, Any] | None = None,
    ) -> Any:
        """The RegisterModel step: package with metrics, drift baselines, approval status and tags;
        ``metadata`` adds CustomerMetadataProperties (string values or pipeline variables)."""
        from sagemaker.core.drift_check_baselines import DriftCheckBaselines
        from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
        from sagemaker.core.workflow.functions import Join
        from sagemaker.mlops.workflow.model_step import ModelStep
        from sagemaker.serve.model_builder import ModelBuilder

        def json_file(step: Any, output: str, file_name: str) -> MetricsSource:
            uri = Join(on="/", values=[output_uri(step, output), file_name])
            return MetricsSource(content_type="application/json", s3_uri=uri)

        statistics = json_file(baselines, "baselines", "statistics.json")
        constraints = json_file(baselines, "baselines", "constraints.json")
        explainability = json_file(baselines, "explainability", "explainability.json")
        # The model-quality monitor's baseline (model_container.quality_constraints).
        quality = json_file(evaluate, "evaluation", "constraints.json")
        # Clarify's analysis.json shape, one section each (model_container.bias); the post-training
        # one is also the model-quality monitor's bias drift baseline.
        bias_pre = json_file(bias, "bias", "pre_training_bias.json")
        bias_post = json_file(bias, "bias", "post_training_bias.json")
        builder = ModelBuilder(
            image_uri=self.params["ImageUri"],
            s3_model_data_url=model_data,
            role_arn=self.config.role_arn,
            sagemaker_session=self.session,
            instance_type=self.config.processing_instance_type,
        )
        step_args = builder.register(
            model_package_group_name=self.config.resolved_group,
            content_types=["text/csv", "application/json"],
            response_types=["text/csv", "application/json"],
            inference_instances=["ml.t2.medium", "ml.m5.large", "ml.m5.xlarge"],
            transform_instances=["ml.m5.large", "ml.m5.xlarge"],
            approval_status=self.params["ModelApprovalStatus"],
            model_metrics=ModelMetrics(
                model_statistics=json_file(evaluate, "evaluation", "evaluation.json"),
                model_constraints=quality,
                model_data_statistics=statistics,
                model_data_constraints=constraints,
                explainability=explainability,
                bias_pre_training=bias_pre,
                bias_post_training=bias_post,
            ),
            # Every baseline a monitor compares with (DriftCheckBias has no ConfigFile: the facet
            # is the model folder's project_model.BIAS, which the image carries).
            drift_check_baselines=DriftCheckBaselines(
                model_constraints=quality,
                model_data_statistics=statistics,
                model_data_constraints=constraints,
                explainability_constraints=explainability,
                bias_pre_training_constraints=bias_pre,
                bias_post_training_constraints=bias_post,
            ),
            customer_metadata_properties={
                "image_uri": self.params["ImageUri"],
                # The HTML reports (self-contained pages) by S3 URI: ModelMetrics has no member for
                # an evaluation page and its Bias/Explainability reports are Clarify's JSON
                # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ModelMetrics.html);
                # values: up to 256 characters of letters, digits, spaces and _.:/=+-@
                # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackage.html).
                "evaluation_report": Join(
                    on="/", values=[output_uri(evaluate, "evaluation"), "report.html"]
                ),
                "bias_report": Join(on="/", values=[output_uri(bias, "bias"), "report.html"]),
                # The example requests Evaluate checked with this model (model_container.examples):
                # the endpoint tests of a stage send the examples of the package it runs.
                "endpoint_examples": Join(
                    on="/", values=[output_uri(evaluate, "evaluation"), "examples.csv"]
                ),
                **(metadata or {}),
            },
        )
        request = step_args.create_model_package_request
        # ModelBuilder.register has no tags argument; CreateModelPackage accepts them.
        request["Tags"] = tag_list(self.config.all_tags)
        # ModelBuilder adds script-mode variables (empty SAGEMAKER_PROGRAM, ...) our image does not read.
        for container in request["InferenceSpecification"]["Containers"]:
            container.pop("Environment", None)
        # ModelMetrics always carries its Bias and Explainability sections; leave out empty ones.
        request["ModelMetrics"] = {
            key: value for key, value in request["ModelMetrics"].items() if value
        }
        return ModelStep(
            "Register", step_args=step_args, retry_policies=retry_policies("RegisterModel")
        )

    def track(self, preprocess: Any, train: Any, evaluate: Any) -> tuple[Any, Any]:
        """The Track step (model_container.track publish): the three steps' records and the model
        in, the execution's MLflow run out; with the run id's JsonGet (``none`` untracked)."""
        from sagemaker.core.workflow.functions import Join, JsonGet
        from sagemaker.core.workflow.properties import PropertyFile

        # Train's record is in its output.tar.gz (what its container wrote to /opt/ml/output/data).
        train_output = Join(
            on="/",
            values=[
                train.properties.OutputDataConfig.S3OutputPath,
                train.properties.TrainingJobName,
                "output/output.tar.gz",
            ],
        )
        run = PropertyFile(name="TrackingRun", output_name="tracking", path="tracking.json")
        step = self.processing(
            "Track",
            "model_container.track",
            inputs=[
                ("preprocess", output_uri(preprocess, "tracking"), "records/preprocess"),
                ("train", train_output, "records/train"),
                ("evaluate", output_uri(evaluate, "tracking"), "records/evaluate"),
                ("model", train.properties.ModelArtifacts.S3ModelArtifacts, "model"),
            ],
            outputs=[("tracking", "tracking")],
            arguments=["publish"],
            property_files=[run],
            env=self.tracking(),
        )
        return step, JsonGet(step_name=step.name, property_file=run, json_path="run_id")

    def link_run(self, run_id: Any, register: Any) -> Any:
        """The LinkRun step (model_container.track link): tags the run with the package."""
        return self.processing(
            "LinkRun",
            "model_container.track",
            inputs=[],
            outputs=[],
            arguments=[
                "link",
                "--run-id",
                run_id,
                "--model-package-arn",
                register.properties.ModelPackageArn,
            ],
            env=self.tracking(),
        )

    def transform(self, name: str, model_name: Any, data: Any, output_path: Any) -> Any:
        """A TransformStep: CSV rows in, one score per line out (the server's text/csv contract).

        Input is split by line and sent many lines per request (MultiRecord, up to the 6 MB the
        server accepts by default); the output keeps the input's line order within each file.
        """
        from sagemaker.core.transformer import Transformer
        from sagemaker.mlops.workflow.steps import TransformStep

        instance_count = self.params["TransformInstanceCount"]

        class ParameterCountTransformStep(TransformStep):
            # The SDK's TransformResources model takes only a literal int instance count (sagemaker-core
            # 2.27); CreateTransformJob is given the pipeline parameter in its place.
            @property
            def arguments(self) -> dict[str, Any]:
                request: dict[str, Any] = super().arguments
                request["TransformResources"]["InstanceCount"] = instance_count
                return request

        transformer = Transformer(
            model_name=model_name,
            instance_count=1,  # replaced by the parameter, above
            instance_type=self.params["TransformInstanceType"],
            strategy="MultiRecord",
            assemble_with="Line",
            accept="text/csv",
            output_path=output_path,
            tags=tag_list(self.config.all_tags),
            base_transform_job_name=f"{self.config.base_name}-{name.lower()}",
            sagemaker_session=self.session,
            # TransformResources.VolumeKmsKeyId, TransformOutput.KmsKeyId. A transform job has no
            # network settings of its own: its Model's EnableNetworkIsolation and VpcConfig apply
            # (model_container.approved_model creates it; batch_pipeline passes the VPC).
            volume_kms_key=self.config.kms_key_arn,
            output_kms_key=self.config.kms_key_arn,
        )
        step_args = transformer.transform(data=data, content_type="text/csv", split_type="Line")
        return ParameterCountTransformStep(
            name,
            step_args=step_args,
            retry_policies=retry_policies("Transform"),
            cache_config=cache_config(name),
        )


def output_uri(step: Any, name: str) -> Any:
    """The S3 URI a processing step uploaded its output ``name`` to (a step property)."""
    return step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
