"""The project's SageMaker pipeline. The only module that builds it with the SageMaker Python SDK.

Every step runs the project's own image (``ImageUri`` parameter; the build passes a digest-pinned URI)
with the entry points fixed in docs/design.md. SageMaker runs the JSON this produces; ``model_build.local``
runs the same JSON on this machine, so nothing here may depend on where it runs.
"""

# The SDK takes ~3 s to import and must see the offline environment first (model_build.offline), so
# it is imported inside the functions that build, never when a CLI merely parses its arguments.
# ruff: noqa: PLC0415

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from model_build.offline import no_metadata_credentials, pipeline_session

if TYPE_CHECKING:
    from sagemaker.mlops.workflow.pipeline import Pipeline

# Container paths of the step contract (docs/design.md, "The container contract").
PROCESSING = "/opt/ml/processing"
STEP_NAMES = (
    "Preprocess",
    "Train",
    "Evaluate",
    "Baselines",
    "QualityGate",
    "Register",
    "AucBelowThreshold",
)


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
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def base_name(self) -> str:
        """``<project>-<id>``: the prefix SageMaker Projects give every resource of the project."""
        return f"{self.project_name}-{self.project_id}"

    @property
    def resolved_pipeline_name(self) -> str:
        return self.pipeline_name or f"{self.base_name}-model-build"

    @property
    def resolved_group(self) -> str:
        return self.model_package_group or self.base_name

    @property
    def resolved_input_url(self) -> str:
        return self.input_data_url or f"s3://{self.bucket}/{self.base_name}/data/raw/"

    @property
    def all_tags(self) -> dict[str, str]:
        # Plain keys: SageMaker Projects add their own sagemaker:project-* tags to what a project creates.
        return {"project-name": self.project_name, "project-id": self.project_id, **self.tags}


def get_definition(config: PipelineConfig) -> str:
    """The pipeline definition JSON, built without any AWS call (see model_build.offline)."""
    with no_metadata_credentials():
        return get_pipeline(config).definition()


def get_pipeline(config: PipelineConfig) -> Pipeline:
    """Build the six-step model-build pipeline (plus the FailStep of the quality gate).

    Call it inside ``no_metadata_credentials()`` (or use get_definition) when no AWS credentials are
    configured, so boto3 does not probe the EC2 metadata endpoint.
    """
    session = pipeline_session(config.region, config.bucket)
    from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.pipeline import Pipeline

    build = _Builder(config, session)
    p = build.params
    with warnings.catch_warnings():
        # "Running within a PipelineSession, there will be No Wait ..." is expected on every step.
        warnings.filterwarnings("ignore", message="Running within a PipelineSession")
        preprocess = build.processing(
            "Preprocess",
            "model_container.preprocess",
            inputs=[("raw", p["InputDataUrl"], "input/raw")],
            outputs=[
                (name, f"output/{name}") for name in ("train", "validation", "test", "baseline")
            ],
            arguments=["--seed", p["Seed"].to_string()],
        )
        train = build.training(preprocess)
        model_data = train.properties.ModelArtifacts.S3ModelArtifacts
        evaluation_file = PropertyFile(
            name="EvaluationReport", output_name="evaluation", path="evaluation.json"
        )
        evaluate = build.processing(
            "Evaluate",
            "model_container.evaluate",
            inputs=[("model", model_data, "model"), ("test", _output(preprocess, "test"), "test")],
            outputs=[("evaluation", "evaluation")],
            property_files=[evaluation_file],
        )
        baselines = build.processing(
            "Baselines",
            "model_container.baselines",
            inputs=[
                ("model", model_data, "model"),
                ("train", _output(preprocess, "baseline"), "train"),
            ],
            outputs=[("baselines", "baselines"), ("explainability", "explainability")],
        )
        register = build.register(model_data, evaluate, baselines)

    auc = JsonGet(
        step_name=evaluate.name,
        property_file=evaluation_file,
        json_path="binary_classification_metrics.auc.value",
    )
    message = ["Quality gate: binary_classification_metrics.auc.value", auc]
    fail = FailStep(
        "AucBelowThreshold",
        error_message=Join(
            on=" ", values=[*message, "is below the AucThreshold", p["AucThreshold"]]
        ),
    )
    gate = ConditionStep(
        "QualityGate",
        conditions=[ConditionGreaterThanOrEqualTo(left=auc, right=p["AucThreshold"])],
        if_steps=[register],
        else_steps=[fail],
        depends_on=[baselines],
    )
    return Pipeline(
        name=config.resolved_pipeline_name,
        parameters=list(p.values()),
        steps=[preprocess, train, evaluate, baselines, gate],
        sagemaker_session=session,
    )


class _Builder:
    """Step factories sharing the session, names and parameters of one pipeline."""

    def __init__(self, config: PipelineConfig, session: Any) -> None:
        from sagemaker.core.workflow.parameters import (
            ParameterFloat,
            ParameterInteger,
            ParameterString,
        )

        self.config = config
        self.session = session
        self.params: dict[str, Any] = {
            param.name: param
            for param in (
                ParameterString("ImageUri", default_value=config.image_uri),
                ParameterString("InputDataUrl", default_value=config.resolved_input_url),
                ParameterString(
                    "ProcessingInstanceType", default_value=config.processing_instance_type
                ),
                ParameterString(
                    "TrainingInstanceType", default_value=config.training_instance_type
                ),
                ParameterInteger("TrainingInstanceCount", default_value=1),
                ParameterInteger("Seed", default_value=42),
                ParameterInteger("MaxDepth", default_value=3),
                ParameterFloat("Eta", default_value=0.1),
                ParameterInteger("NumRound", default_value=100),
                ParameterInteger("EarlyStoppingRounds", default_value=20),
                ParameterFloat("AucThreshold", default_value=0.83),
                ParameterString("ModelApprovalStatus", default_value="PendingManualApproval"),
            )
        }

    def s3_uri(self, *parts: str) -> Any:
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
    ) -> Any:
        """A ProcessingStep running ``python3 -m <module>`` in the image; paths under /opt/ml/processing."""
        from sagemaker.core.processing import Processor
        from sagemaker.core.shapes import (
            ProcessingInput,
            ProcessingOutput,
            ProcessingS3Input,
            ProcessingS3Output,
        )
        from sagemaker.mlops.workflow.steps import ProcessingStep

        processor = Processor(
            role=self.config.role_arn,
            image_uri=self.params["ImageUri"],
            instance_count=1,
            instance_type=self.params["ProcessingInstanceType"],
            entrypoint=["python3", "-m", module],
            sagemaker_session=self.session,
            base_job_name=f"{self.config.base_name}-{name.lower()}",
            tags=_tag_list(self.config.all_tags),
        )
        step_args = processor.run(
            inputs=[
                ProcessingInput(
                    input_name=input_name,
                    s3_input=ProcessingS3Input(
                        s3_uri=source,
                        s3_data_type="S3Prefix",
                        s3_input_mode="File",
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
        return ProcessingStep(name, step_args=step_args, property_files=property_files)

    def training(self, preprocess: Any) -> Any:
        """The TrainingStep: SageMaker runs ``<image> train`` on the train/validation channels."""
        from sagemaker.core.shapes import Tag
        from sagemaker.mlops.workflow.steps import TrainingStep
        from sagemaker.train.configs import Compute, InputData, OutputDataConfig, StoppingCondition
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
                instance_type=p["TrainingInstanceType"], instance_count=p["TrainingInstanceCount"]
            ),
            stopping_condition=StoppingCondition(max_runtime_in_seconds=3600),
            output_data_config=OutputDataConfig(s3_output_path=self.s3_uri("train")),
            hyperparameters={key: p[name].to_string() for key, name in names.items()},
            tags=[Tag(key=key, value=value) for key, value in sorted(self.config.all_tags.items())],
        )
        channels = [
            InputData(
                channel_name=name, data_source=_output(preprocess, name), content_type="text/csv"
            )
            for name in ("train", "validation")
        ]
        return TrainingStep("Train", step_args=trainer.train(input_data_config=channels))

    def register(self, model_data: Any, evaluate: Any, baselines: Any) -> Any:
        """The RegisterModel step: package with metrics, drift baselines, approval status and tags."""
        from sagemaker.core.drift_check_baselines import DriftCheckBaselines
        from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
        from sagemaker.core.workflow.functions import Join
        from sagemaker.mlops.workflow.model_step import ModelStep
        from sagemaker.serve.model_builder import ModelBuilder

        def json_file(step: Any, output: str, file_name: str) -> MetricsSource:
            uri = Join(on="/", values=[_output(step, output), file_name])
            return MetricsSource(content_type="application/json", s3_uri=uri)

        statistics = json_file(baselines, "baselines", "statistics.json")
        constraints = json_file(baselines, "baselines", "constraints.json")
        explainability = json_file(baselines, "explainability", "explainability.json")
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
                model_data_statistics=statistics,
                model_data_constraints=constraints,
                explainability=explainability,
            ),
            drift_check_baselines=DriftCheckBaselines(
                model_data_statistics=statistics,
                model_data_constraints=constraints,
                explainability_constraints=explainability,
            ),
            customer_metadata_properties={"image_uri": self.params["ImageUri"]},
        )
        request = step_args.create_model_package_request
        # ModelBuilder.register has no tags argument; CreateModelPackage accepts them.
        request["Tags"] = _tag_list(self.config.all_tags)
        # ModelBuilder adds script-mode variables (empty SAGEMAKER_PROGRAM, ...) our image does not read.
        for container in request["InferenceSpecification"]["Containers"]:
            container.pop("Environment", None)
        # ModelMetrics always carries an empty Bias section; leave out what we do not report.
        request["ModelMetrics"] = {
            key: value for key, value in request["ModelMetrics"].items() if value
        }
        return ModelStep("Register", step_args=step_args)


def _output(step: Any, name: str) -> Any:
    return step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
