"""The project's model-build SageMaker pipeline (its names and defaults: ``model_build.config``).

Every step runs the project's own image (``ImageUri`` parameter; the build passes a digest-pinned URI)
with the entry points of its contract (model-build/container/README.md). SageMaker runs the JSON this
produces; ``model_build.local`` runs the same JSON on this machine, so nothing here may depend on where
it runs. The step factories
are in ``model_build.steps``; the monitoring and batch-inference pipelines in their own modules.
"""

# The SDK takes ~3 s to import and must see the offline environment first (model_build.offline), so
# it is imported inside the functions that build, never when a CLI merely parses its arguments.
# ruff: noqa: PLC0415

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from model_build.config import MONITORED_SIZES, SIZES, PipelineConfig
from model_build.offline import no_metadata_credentials, pipeline_session
from model_build.steps import StepBuilder, output_uri

__all__ = ["MONITORED_SIZES", "SIZES", "PipelineConfig", "get_definition", "get_pipeline"]

if TYPE_CHECKING:
    from sagemaker.mlops.workflow.pipeline import Pipeline

# The steps of a definition without tracking; with it (PipelineConfig.tracking) also Track and LinkRun.
STEP_NAMES = (
    "Preprocess",
    "Champion",
    "Train",
    "Evaluate",
    "Baselines",
    "Bias",
    "QualityGate",
    "ChampionGate",
    "Register",
    "AucBelowThreshold",
    "WorseThanChampion",
)
# The champion comparison's modes (ChampionComparison; model_container.comparison decides).
CHAMPION_MODES = ("off", "report", "enforce")


def get_definition(config: PipelineConfig) -> str:
    """The model-build pipeline definition JSON, built without any AWS call (see model_build.offline)."""
    with no_metadata_credentials():
        return get_pipeline(config).definition()


def get_pipeline(config: PipelineConfig) -> Pipeline:
    """Build the model-build pipeline: seven job steps, the two gates and a FailStep for each (and,
    with tracking, the Track and LinkRun steps).

    Call it inside ``no_metadata_credentials()`` (or use get_definition) when no AWS credentials are
    configured, so boto3 does not probe the EC2 metadata endpoint.
    """
    session = pipeline_session(config.region, config.bucket)
    from sagemaker.core.workflow.conditions import ConditionEquals, ConditionGreaterThanOrEqualTo
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.pipeline import Pipeline

    build = StepBuilder(config, session, _parameters(config))
    p = build.params
    with warnings.catch_warnings():
        # "Running within a PipelineSession, there will be No Wait ..." is expected on every step.
        warnings.filterwarnings("ignore", message="Running within a PipelineSession")
        # The one processing step that scales out: its instances split the raw objects by S3 key,
        # each writes its rows' splits under its own file names, and the steps after it read every
        # part. Those steps need a whole split (test metrics, baselines, bias) and run on one instance.
        preprocess = build.processing(
            "Preprocess",
            "model_container.preprocess",
            inputs=[("raw", p["InputDataUrl"], "input/raw")],
            outputs=[
                (name, f"output/{name}")
                for name in ("train", "validation", "test", "baseline", "tracking")
            ],
            arguments=["--seed", p["Seed"].to_string()],
            instance_count=p["ProcessingInstanceCount"],
            sharded=("raw",),
        )
        # The newest Approved package of the group, looked up when the run starts (not a parameter:
        # the retraining triggers start runs with the defaults); no Approved package, no champion.
        champion = build.processing(
            "Champion",
            "model_container.champion",
            inputs=[],
            outputs=[("champion", "champion")],
            arguments=["--model-package-group", config.resolved_group],
        )
        train = build.training(preprocess)
        model_data = train.properties.ModelArtifacts.S3ModelArtifacts
        evaluation_file = PropertyFile(
            name="EvaluationReport", output_name="evaluation", path="evaluation.json"
        )
        evaluate = build.processing(
            "Evaluate",
            "model_container.evaluate",
            inputs=[
                ("model", model_data, "model"),
                ("test", output_uri(preprocess, "test"), "test"),
                ("champion", output_uri(champion, "champion"), "champion"),
            ],
            outputs=[("evaluation", "evaluation"), ("tracking", "tracking")],
            arguments=[
                "--champion-comparison",
                p["ChampionComparison"],
                "--absolute-tolerance",
                p["ChampionAbsoluteTolerance"].to_string(),
                "--relative-tolerance",
                p["ChampionRelativeTolerance"].to_string(),
            ],
            property_files=[evaluation_file],
        )
        baselines = build.processing(
            "Baselines",
            "model_container.baselines",
            inputs=[
                ("model", model_data, "model"),
                ("train", output_uri(preprocess, "baseline"), "train"),
            ],
            outputs=[("baselines", "baselines"), ("explainability", "explainability")],
        )
        # SageMaker Clarify's bias metrics of the facet the model folder names (project_model.BIAS):
        # the training labels (pre-training) and the model's test predictions (post-training).
        bias = build.processing(
            "Bias",
            "model_container.bias",
            inputs=[
                ("model", model_data, "model"),
                ("train", output_uri(preprocess, "train"), "train"),
                ("test", output_uri(preprocess, "test"), "test"),
            ],
            outputs=[("bias", "bias")],
        )
        metadata = {
            # How the gate compared it with the champion; both scores are in its model metrics
            # (evaluation.json, ModelQuality statistics: the champion section).
            "champion_comparison": p["ChampionComparison"],
            "champion_absolute_tolerance": p["ChampionAbsoluteTolerance"].to_string(),
            "champion_relative_tolerance": p["ChampionRelativeTolerance"].to_string(),
            **config.source_git,
        }
        # MLflow (model-build/README.md, "Experiment tracking"): Track publishes what the isolated
        # steps recorded before the gates (a rejected candidate is tracked too); the package
        # records the run's id, and LinkRun tags the run with the package.
        track, run_id = (
            build.track(preprocess, train, evaluate) if config.tracking else (None, None)
        )
        if run_id is not None:
            metadata["mlflow_run_id"] = run_id
        register = build.register(model_data, evaluate, baselines, bias, metadata=metadata)
        after_register = [build.link_run(run_id, register)] if run_id is not None else []

    def evaluation(path: str) -> JsonGet:
        return JsonGet(step_name=evaluate.name, property_file=evaluation_file, json_path=path)

    auc = evaluation("binary_classification_metrics.auc.value")
    message = ["Quality gate: binary_classification_metrics.auc.value", auc]
    fail = FailStep(
        "AucBelowThreshold",
        error_message=Join(
            on=" ", values=[*message, "is below the AucThreshold", p["AucThreshold"]]
        ),
    )
    # evaluation.json's champion section: gate "fail" only when ChampionComparison=enforce and the
    # candidate is worse than the champion by more than a tolerance (report mode says so and passes).
    worse = FailStep(
        "WorseThanChampion",
        error_message=Join(
            on=" ",
            values=[
                "Champion gate: candidate AUC",
                evaluation("champion.candidate_auc"),
                "is worse than the champion's",
                evaluation("champion.auc"),
                "by more than the tolerance:",
                evaluation("champion.reason"),
            ],
        ),
    )
    champion_gate = ConditionStep(
        "ChampionGate",
        conditions=[ConditionEquals(left=evaluation("champion.gate"), right="pass")],
        if_steps=[register, *after_register],
        else_steps=[worse],
    )
    gate = ConditionStep(
        "QualityGate",
        conditions=[ConditionGreaterThanOrEqualTo(left=auc, right=p["AucThreshold"])],
        if_steps=[champion_gate],
        else_steps=[fail],
        depends_on=[baselines, bias, *([track] if track is not None else [])],
    )
    return Pipeline(
        name=config.resolved_pipeline_name,
        parameters=list(p.values()),
        steps=[
            preprocess,
            champion,
            train,
            evaluate,
            baselines,
            bias,
            *([track] if track is not None else []),
            gate,
        ],
        sagemaker_session=session,
    )


def _parameters(config: PipelineConfig) -> list[Any]:
    from sagemaker.core.workflow.parameters import (
        ParameterFloat,
        ParameterInteger,
        ParameterString,
    )

    return [
        ParameterString("ImageUri", default_value=config.image_uri),
        ParameterString("InputDataUrl", default_value=config.resolved_input_url),
        ParameterString("ProcessingInstanceType", default_value=config.processing_instance_type),
        # Preprocess's instances (the raw objects split among them; model-build/README.md, "Scale-out").
        ParameterInteger("ProcessingInstanceCount", default_value=1),
        ParameterString("TrainingInstanceType", default_value=config.training_instance_type),
        ParameterInteger("TrainingInstanceCount", default_value=1),
        ParameterInteger("Seed", default_value=42),
        # REPLACE: the hyperparameters a run may override (steps.py passes them to training by name;
        # project_model.Hyperparameters holds the rest of the defaults).
        ParameterInteger("MaxDepth", default_value=3),
        ParameterFloat("Eta", default_value=0.1),
        ParameterInteger("NumRound", default_value=100),
        ParameterInteger("EarlyStoppingRounds", default_value=20),
        # REPLACE: the quality gate, the held-out AUC a model needs to be registered.
        ParameterFloat("AucThreshold", default_value=0.83),
        # REPLACE: the champion comparison (model-build/README.md, "The quality gate", says why
        # these): enforce blocks a candidate whose test AUC is below the approved model's by more
        # than 0.05 AUC points or 10 % of it; report only records the comparison.
        ParameterString(
            "ChampionComparison", default_value="enforce", enum_values=list(CHAMPION_MODES)
        ),
        ParameterFloat("ChampionAbsoluteTolerance", default_value=0.05),
        ParameterFloat("ChampionRelativeTolerance", default_value=0.1),
        ParameterString("ModelApprovalStatus", default_value="PendingManualApproval"),
        # Where the Track and LinkRun steps publish (empty: nowhere); only with tracking.
        *(
            [ParameterString("MlflowTrackingUri", default_value=config.tracking_uri)]
            if config.tracking
            else []
        ),
    ]
