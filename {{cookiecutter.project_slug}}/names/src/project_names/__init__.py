"""Every resource name the project derives from its SageMaker project name and id.

The infra stack creates the resources under these names, model-build's CLIs and pipelines find them
(and write under the S3 prefixes), model-deploy names the endpoints: all three import this module,
so a name cannot drift between the code that creates a resource and the code that uses it.

SageMaker Projects give a project a name (Studio: up to 32 letters, digits and hyphens) and an id
(``p-`` and 12 characters in Studio; ``local`` for local runs, ``manual`` for a stack deployed by
hand) and prefix the project's resources with ``<name>-<id>``. Studio accepts upper case in the name
(``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}``); names that AWS requires in lower case (ECR repositories)
or writes lowercased into ARNs (SageMaker's endpoints, pipelines, model package groups) use the
lowercase name, and IAM policies match SageMaker ARNs in the form :meth:`Names.in_arn` gives.
"""

from __future__ import annotations

from dataclasses import dataclass

STAGES = ("staging", "prod")
# The jobs of GitHub Actions / GitLab CI projects ([ci] system): each has its own role and environment.
CI_JOBS = ("image", "pipeline", "deploy-config", "staging", "prod")


@dataclass(frozen=True)
class Names:
    slug: str  # the SageMaker project name (the project slug unless Studio named it)
    project_id: str = "local"

    @property
    def lowercase(self) -> str:
        """The project name in lower case (the CDK stack overrides this: its name is a token)."""
        return self.slug.lower()

    def in_arn(self, name: str) -> str:
        """``name`` (one of these names, so it starts with the project name) as SageMaker writes it
        into an ARN: lower case. IAM compares ARNs case-sensitively. The rest of ``name`` (the id
        and fixed suffixes) is lowercase already and left as it is (in the stack it holds a token)."""
        if not name.startswith(self.slug):
            raise ValueError(
                f"name {name!r} does not start with project name {self.slug!r}; "
                "allowed: the names this class derives"
            )
        return self.lowercase + name[len(self.slug) :]

    @property
    def base(self) -> str:
        """``<name>-<id>``: the prefix SageMaker Projects give the project's resources."""
        return f"{self.slug}-{self.project_id}"

    @property
    def model_package_group(self) -> str:  # ModelPackageGroupName: up to 63 characters
        return self.base

    @property
    def build_pipeline(self) -> str:  # PipelineName: up to 256 characters
        return f"{self.base}-model-build"

    @property
    def monitoring_pipeline(self) -> str:  # medium and large only
        return f"{self.base}-monitoring"

    @property
    def batch_pipeline(self) -> str:
        return f"{self.base}-batch-inference"

    @property
    def raw_data_prefix(self) -> str:  # below the artifact bucket: the training data
        return f"{self.base}/data/raw/"

    @property
    def batch_input_prefix(self) -> str:  # below the artifact bucket: the batch pipeline's input
        return f"{self.base}/batch/input/"

    @property
    def deploy_prefix(self) -> str:  # below the artifact bucket: the deploy build's outputs
        return f"{self.slug}/model-deploy/"

    @property
    def drift_alarm(self) -> str:  # AlarmName: up to 255 characters
        return f"{self.base}-data-drift"

    @property
    def drift_namespace(self) -> str:  # CloudWatch namespace of the monitor's drift metrics
        return f"{self.lowercase}/DataDrift"

    @property
    def quality_alarm(self) -> str:  # AlarmName: up to 255 characters
        return f"{self.base}-model-quality"

    @property
    def quality_namespace(self) -> str:  # CloudWatch namespace of the model-quality metrics
        return f"{self.lowercase}/ModelQuality"

    @property
    def ecr_repository(self) -> str:  # ECR names are lower case
        return f"sagemaker-{self.lowercase}"

    @property
    def endpoint_prefix(self) -> str:
        """What model-deploy/endpoint.yml's SageMakerProjectName parameter receives."""
        return self.lowercase

    def endpoint(self, stage: str) -> str:  # endpoint.yml: <SageMakerProjectName>-<StageName>
        return f"{self.endpoint_prefix}-{stage}"

    def deploy_stack(self, stage: str) -> str:
        """Lowercase: CloudFormation keeps a stack name's case in its ARN, and the bootstrap role's
        stack pattern (``bootstrap/target-account.yml``) holds the lowercase name."""
        return f"sagemaker-{self.lowercase}-deploy-{stage}"

    def ci_role(self, job: str) -> str:
        """The IAM role a GitHub Actions / GitLab CI job of ``job`` assumes (RoleName: up to 64
        characters; the workflows build its ARN from the project slug and this suffix)."""
        return f"{self.slug}-ci-{self._ci_job(job)}"

    def ci_environment(self, job: str) -> str:
        """The SSM parameter holding the ``KEY=value`` lines of ``job``'s environment
        (ci/job-env.sh reads it)."""
        return f"/{self.slug}/ci/{self._ci_job(job)}"

    @staticmethod
    def _ci_job(job: str) -> str:
        if job not in CI_JOBS:
            raise ValueError(f"CI job {job!r}: allowed: {', '.join(CI_JOBS)}")
        return job

    @staticmethod
    def capture_prefix(stage: str) -> str:  # below the artifact bucket: a stage's data capture
        return f"data-capture/{stage}"

    def capture_folder(self, stage: str) -> str:
        """Where SageMaker writes the stage endpoint's capture files (``yyyy/mm/dd/hh/`` below)."""
        return f"{self.capture_prefix(stage)}/{self.endpoint(stage)}/AllTraffic/"

    @staticmethod
    def ground_truth_prefix(stage: str) -> str:  # below the artifact bucket: a stage's labels
        return f"ground-truth/{stage}"

    def ground_truth_folder(self, stage: str) -> str:
        """Where the stage endpoint's ground-truth labels go (Model Monitor's record format, in
        ``yyyy/mm/dd/hh/`` folders of the time the labels were collected); the model-quality job
        reads them."""
        return f"{self.ground_truth_prefix(stage)}/{self.endpoint(stage)}/"
