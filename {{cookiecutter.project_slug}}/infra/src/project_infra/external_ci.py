"""GitHub Actions or GitLab CI instead of CodePipeline (project.toml [ci] system): the IAM identity
provider of the CI's OIDC tokens, one role per job (``project_names.CI_JOBS``) that only this
repository's tokens can assume, and each job's environment as an SSM parameter of ``KEY=value``
lines that ``ci/job-env.sh`` reads. No long-lived key exists anywhere.

The steps are the CodeBuild projects' (builds.py): :meth:`ExternalCi.runner` hands a step's
permissions to its job's role and its variables to its job's environment, so both CI paths grant
and pass exactly the same. The stage deploys are CodePipeline's CloudFormation actions in
``model-deploy/ci/deploy-stage.sh``: :meth:`ExternalCi.stage_deployment` gives the stage's role what
those actions' roles have.

Trust (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html): the
audience and the subject claim, compared with StringEquals. GitHub's subject names the branch, or
the environment of a job that declares one
(https://docs.github.com/en/actions/reference/security/oidc, "Example subject claims"), so the
stage roles trust only the ``staging`` and ``prod`` environments, whose reviewers gate prod. GitLab's
names the project and branch (``project_path:<group>/<project>:ref_type:branch:ref:<branch>``,
https://docs.gitlab.com/ci/secrets/id_token_authentication/); its protected environment gates prod.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from aws_cdk import SecretValue
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from project_infra import arns
from project_infra.artifacts import Artifacts
from project_infra.parameters import Parameters
from project_infra.settings import CiSettings
from project_names import CI_JOBS, Names

AUDIENCE = "sts.amazonaws.com"  # the `aud` the workflows ask for (GitHub's default for AWS)
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
# Which job runs each CodeBuild step (builds.py's construct ids). The endpoint tests run in the
# staging job, after its deploy.
STEP_JOBS = {
    "ImageBuild": "image",
    "PipelineRun": "pipeline",
    "DeployBuild": "deploy-config",
    "EndpointTests": "staging",
}
# CodeBuild's name of a variable -> the CI job's (the buildspec renames it the same way).
RENAMED = {"STAGING_TEST_ROLE_ARN": "TEST_ROLE_ARN"}
# The events that start the CI's workflows (the repository_dispatch types; on GitLab the value of
# the pipeline variable named here).
MODEL_PACKAGE_DECISION = "model-package-decision"
RELEASE_IMAGE_PUSH = "release-image-push"
TRIGGER_VARIABLES = {MODEL_PACKAGE_DECISION: "DEPLOY_TRIGGER", RELEASE_IMAGE_PUSH: "BUILD_TRIGGER"}
# What `aws cloudformation deploy` calls on a stage's stack (GetTemplateSummary before an update;
# a test reads the calls from the AWS CLI's own code), and what CodePipeline's actions call; the
# bootstrap's pipeline-action role has the same list for stages in other accounts.
STACK_ACTIONS = [
    "cloudformation:CreateStack",
    "cloudformation:UpdateStack",
    "cloudformation:DeleteStack",
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:CreateChangeSet",
    "cloudformation:DescribeChangeSet",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:DeleteChangeSet",
    "cloudformation:GetTemplate",
    "cloudformation:GetTemplateSummary",
]


def issuer(ci: CiSettings) -> str:
    return GITHUB_ISSUER if ci.system == "github-actions" else ci.gitlab_url


def condition_prefix(ci: CiSettings) -> str:
    """The issuer without its scheme: IAM's prefix of the token's condition keys."""
    parts = urlsplit(issuer(ci))
    return parts.netloc + parts.path


def subject(ci: CiSettings, parameters: Parameters, job: str) -> str:
    """The `sub` claim of the tokens that may assume ``job``'s role."""
    repository = f"{parameters.repository_owner}/{parameters.repository_name}"
    if ci.system == "github-actions":
        if job in ("staging", "prod"):
            return f"repo:{repository}:environment:{job}"
        return f"repo:{repository}:ref:refs/heads/{parameters.branch}"
    return f"project_path:{repository}:ref_type:branch:ref:{parameters.branch}"


@dataclass(frozen=True)
class StageTarget:
    """Where a stage's stack goes: the role CloudFormation deploys it with and, for a stage in
    another account, the role its job assumes there first (the bootstrap's)."""

    cfn_role_arn: str
    action_role_arn: str = ""


class ExternalCi(Construct):
    """The identity provider, one role per CI job and (publish_environments) each job's
    environment; the steps reach them through :meth:`runner`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        ci: CiSettings,
        names: Names,
        parameters: Parameters,
    ) -> None:
        super().__init__(scope, construct_id)
        self.ci = ci
        self.names = names
        if ci.oidc_provider_arn:
            self.provider_arn = ci.oidc_provider_arn
        else:
            # An account holds one provider per issuer URL: project.toml [ci] oidc_provider_arn
            # names an existing one instead.
            self.provider_arn = iam.CfnOIDCProvider(
                self, "IdentityProvider", url=issuer(ci), client_id_list=[AUDIENCE]
            ).attr_arn
        prefix = condition_prefix(ci)
        self.roles: dict[str, iam.Role] = {}
        self.environments: dict[str, dict[str, str]] = {}
        for job in CI_JOBS:
            self.roles[job] = iam.Role(
                self,
                f"{job.title().replace('-', '')}Role",
                role_name=names.ci_role(job),
                description=f"{ci.system} job {job} of {names.slug}",
                assumed_by=iam.FederatedPrincipal(
                    self.provider_arn,
                    conditions={
                        "StringEquals": {
                            f"{prefix}:aud": AUDIENCE,
                            f"{prefix}:sub": subject(ci, parameters, job),
                        }
                    },
                    assume_role_action="sts:AssumeRoleWithWebIdentity",
                ),
            )
            self.environments[job] = {"SAGEMAKER_PROJECT_NAME": names.slug}

    def runner(self, job_of: dict[str, str] = STEP_JOBS) -> _JobRunner:
        return _JobRunner(self, job_of)

    def stage_deployment(
        self, stage: str, target: StageTarget, statements: list[iam.PolicyStatement]
    ) -> None:
        """Lets ``stage``'s job deploy its stack as ``deploy-stage.sh`` does. ``statements``
        (single layout): what CloudFormation needs, for the CloudFormation role this creates
        (the cleanup finds it by its trust: cleanup.deployment_roles)."""
        role = self.roles[stage]
        cfn_role_arn = target.cfn_role_arn
        if not cfn_role_arn:
            created = iam.Role(
                self,
                f"{stage.capitalize()}DeploymentRole",
                assumed_by=iam.ServicePrincipal("cloudformation.amazonaws.com"),
                description=f"CloudFormation deploys {self.names.deploy_stack(stage)} with it",
            )
            for statement in statements:
                created.add_to_principal_policy(statement)
            cfn_role_arn = created.role_arn
        environment = self.environments[stage]
        environment["STAGE_STACK_NAME"] = self.names.deploy_stack(stage)
        environment["STAGE_CFN_ROLE_ARN"] = cfn_role_arn
        if target.action_role_arn:
            environment["STAGE_ACTION_ROLE_ARN"] = target.action_role_arn
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[target.action_role_arn])
            )
        else:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=STACK_ACTIONS, resources=[arns.deploy_stack(self.names, stage)]
                )
            )
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=[cfn_role_arn],
                    conditions={
                        "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
                    },
                )
            )

    def publish_environments(self) -> None:
        """One SSM parameter per job; only the job's role may read it."""
        for job in CI_JOBS:
            values = self.environments[job]
            parameter = ssm.StringParameter(
                self,
                f"{job.title().replace('-', '')}Environment",
                parameter_name=self.names.ci_environment(job),
                simple_name=False,  # a path: /<project>/ci/<job>
                description=f"{self.ci.system} job {job}: its KEY=value environment",
                string_value="\n".join(f"{key}={values[key]}" for key in sorted(values)),
            )
            parameter.grant_read(self.roles[job])

    def triggers(self, parameters: Parameters) -> Triggers:
        return Triggers(self, "Triggers", ci=self.ci, parameters=parameters)


class Triggers(Construct):
    """What CodePipeline's EventBridge targets start, started through the CI's API instead: an
    EventBridge API destination (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html)
    whose connection holds the token from the Secrets Manager secret [ci] dispatch_token_secret
    names (EventBridge keeps its own copy; the stack template holds only a dynamic reference).
    GitHub: a ``repository_dispatch`` event (POST /repos/{owner}/{repo}/dispatches, a fine-grained
    token with Contents: write on this repository; the secret holds the whole header value,
    ``Bearer <token>``). GitLab: a new pipeline (POST /projects/{id}/pipeline, a project access
    token with the api scope and the Developer role; the secret holds the token)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, ci: CiSettings, parameters: Parameters
    ) -> None:
        super().__init__(scope, construct_id)
        self.ci = ci
        self.branch = parameters.branch
        token = SecretValue.secrets_manager(ci.dispatch_token_secret)
        if ci.system == "github-actions":
            authorization = events.Authorization.api_key("Authorization", token)
            headers = {"Accept": events.HttpParameter.from_string("application/vnd.github+json")}
            endpoint = (
                f"https://api.github.com/repos/{parameters.repository_owner}/"
                f"{parameters.repository_name}/dispatches"
            )
        else:
            authorization = events.Authorization.api_key("PRIVATE-TOKEN", token)
            headers = {}
            endpoint = f"{ci.gitlab_url}/api/v4/projects/{parameters.gitlab_project_id}/pipeline"
        connection = events.Connection(
            self,
            "Connection",
            description=f"{ci.system}: the token of the secret {ci.dispatch_token_secret}",
            authorization=authorization,
            header_parameters=headers,
        )
        self.destination = events.ApiDestination(
            self,
            "Destination",
            connection=connection,
            endpoint=endpoint,
            http_method=events.HttpMethod.POST,
            rate_limit_per_second=1,
            description=f"{ci.system}: starts the project's workflows",
        )

    def target(self, trigger: str, variables: dict[str, str]) -> events.IRuleTarget:
        """Starts what listens for ``trigger`` (GitHub: the repository_dispatch type; GitLab: the
        pipeline variable TRIGGER_VARIABLES names), passing ``variables`` (event fields) along
        (GitHub: as the client payload's lowercase keys)."""
        if self.ci.system == "github-actions":
            body: dict[str, object] = {
                "event_type": trigger,
                "client_payload": {key.lower(): value for key, value in variables.items()},
            }
        else:
            pairs = {TRIGGER_VARIABLES[trigger]: trigger, **variables}
            body = {
                "ref": self.branch,
                "variables": [{"key": key, "value": value} for key, value in pairs.items()],
            }
        return targets.ApiDestination(
            self.destination, event=events.RuleTargetInput.from_object(body), retry_attempts=3
        )


class _JobRunner:
    """A :class:`project_infra.builds.Runner`: a step becomes its job's role and environment."""

    def __init__(self, ci: ExternalCi, job_of: dict[str, str]) -> None:
        self.ci = ci
        self.job_of = job_of

    def __call__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        artifacts: Artifacts,
        buildspec: str,
        description: str,
        environment: dict[str, str],
        privileged: bool = False,
        cache: codebuild.Cache | None = None,
    ) -> iam.IGrantable:
        job = self.job_of[construct_id]
        self.ci.environments[job].update(
            {RENAMED.get(key, key): value for key, value in environment.items()}
        )
        return self.ci.roles[job]
