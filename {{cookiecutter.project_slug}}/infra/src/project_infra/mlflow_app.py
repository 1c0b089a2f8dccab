"""The project's MLflow tracking server: a SageMaker MLflow App (serverless MLflow) whose ARN the
model-build pipeline's Track and LinkRun steps use as their tracking URI, through the
``sagemaker-mlflow`` plugin in the image (model-build/README.md, "Experiment tracking").

On by default for medium and large projects (project.toml [tracking] mlflow_app). The app keeps its
artifacts under ``<bucket>/<project>-<id>/mlflow/`` in the project's artifact bucket; the clients
(the two steps) write them there with their own role, and call only the app's tracking API
(``sagemaker-mlflow:*`` actions on the app's ARN:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemakerwithmlflow.html).
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from project_infra.artifacts import Artifacts
from project_infra.settings import Settings
from project_names import Names

# What model_container.tracking calls: find or create the experiment, create runs, log a batch of
# params and metrics, tag and end runs, and find its runs again (the parent, by its tag).
CLIENT_ACTIONS = (
    "sagemaker-mlflow:CreateExperiment",
    "sagemaker-mlflow:GetExperiment",
    "sagemaker-mlflow:GetExperimentByName",
    "sagemaker-mlflow:CreateRun",
    "sagemaker-mlflow:GetRun",
    "sagemaker-mlflow:UpdateRun",
    "sagemaker-mlflow:LogBatch",
    "sagemaker-mlflow:SetTag",
    "sagemaker-mlflow:SearchRuns",
    "sagemaker-mlflow:ListArtifacts",
)
ARTIFACT_PREFIX = "mlflow"  # <project>-<id>/mlflow/ in the artifact bucket


class MlflowTracking(Construct):
    """The MLflow App and the role it reaches the artifact store with."""

    def __init__(
        self, scope: Construct, construct_id: str, *, names: Names, artifacts: Artifacts
    ) -> None:
        super().__init__(scope, construct_id)
        prefix = f"{names.base}/{ARTIFACT_PREFIX}"
        role = iam.Role(
            self,
            "AppRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"MLflow App of {names.base}: its artifact store in the artifact bucket",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[artifacts.bucket.arn_for_objects(f"{prefix}/*")],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket", "s3:GetBucketLocation"],
                resources=[artifacts.bucket.bucket_arn],
            )
        )
        artifacts.key.grant_encrypt_decrypt(role)
        self.app = sagemaker.CfnMlflowApp(
            self,
            "App",
            name=names.base,
            artifact_store_uri=f"s3://{artifacts.bucket.bucket_name}/{prefix}",
            role_arn=role.role_arn,
            # The registry stays the pipeline's (Register): MLflow registers no second copy.
            model_registration_mode="AutoModelRegistrationDisabled",
        )
        self.app.node.add_dependency(role)

    @classmethod
    def create(
        cls,
        scope: Construct,
        settings: Settings,
        names: Names,
        artifacts: Artifacts,
        *,
        client: iam.IRole,
    ) -> MlflowTracking | None:
        """The app, which ``client`` may log to, when project.toml [tracking] mlflow_app is on;
        else None."""
        if not settings.mlflow_app:
            return None
        tracking = cls(scope, "Tracking", names=names, artifacts=artifacts)
        tracking.grant_client(client)
        return tracking

    def variables(self, names: Names) -> dict[str, str]:
        """The pipeline build's MLflow variables (model_build.options.TRACKING_VARIABLES): this
        app, and the pipeline's name as the experiment (as locally)."""
        return {"MLFLOW_TRACKING_URI": self.arn, "MLFLOW_EXPERIMENT_NAME": names.build_pipeline}

    @property
    def arn(self) -> str:
        """The tracking URI (MLFLOW_TRACKING_URI) of the pipeline's tracking steps."""
        return self.app.attr_arn

    def grant_client(self, role: iam.IRole) -> None:
        """``role`` may log runs to the app (the pipeline role: the Track and LinkRun jobs)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(CLIENT_ACTIONS), resources=[self.arn])
        )
