"""The one definition of a project's CI/CD: a construct that declares the SageMaker Projects
parameters in its stack, so the same code serves a Studio project (Service Catalog or S3 template)
and a project deployed by hand with `cdk deploy`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_events as eventbridge
from aws_cdk import aws_events_targets as rule_targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from project_infra import arns, artifacts, builds, events, monitoring, nag, pipelines, roles
from project_infra.builds import STAGES, Targets
from project_infra.cleanup import ProjectCleanup, deployment_roles
from project_infra.external_ci import (
    MODEL_PACKAGE_DECISION,
    RELEASE_IMAGE_PUSH,
    ExternalCi,
    StageTarget,
)
from project_infra.mlflow_app import MlflowTracking
from project_infra.network import GivenVpc, JobNetwork, JobsVpc
from project_infra.parameters import Parameters, StackNames, declare
from project_infra.pipelines import StageDeployment
from project_infra.project_name import ProjectName
from project_infra.settings import Settings
from project_infra.source import Source


class ProjectCiCd(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        repo_root: Path,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        parameters = declare(stack, settings)
        lowercase = ProjectName(self, "ProjectName", project_name=parameters.project_name)
        names = StackNames(
            parameters.project_name, parameters.project_id, lowercase_token=lowercase.lowercase
        )
        shared = artifacts.create(self, settings, names)
        pipeline_role = roles.pipeline_execution(self, names, shared, monitored=settings.monitored)
        scheduled = monitoring.upserted_pipelines(names, settings.monitored)
        source = Source(self, "Source", parameters, repo_root)
        # GitHub Actions / GitLab CI ([ci] system): the same steps as CI jobs with OIDC roles.
        external = (
            ExternalCi(self, "Ci", ci=settings.ci, names=names, parameters=parameters)
            if settings.ci.external
            else None
        )
        runner = {} if external is None else {"runner": external.runner()}

        # Large (Settings.job_vpc): the pipelines' jobs run in the project's own VPC (network.py), or
        # in the one project.toml [network] gives (any size).
        network: JobsVpc | None = None
        if settings.network is not None:
            network = GivenVpc(settings.network)
        elif settings.creates_job_vpc:
            network = JobNetwork(self, "JobNetwork", artifacts=shared, tracking=settings.mlflow_app)
        stage_networks: dict[str, JobsVpc] = {
            stage: GivenVpc(given) for stage, given in settings.endpoint_networks.items()
        }
        if network is not None and settings.endpoints_in_job_vpc:
            stage_networks = {stage: stage_networks.get(stage, network) for stage in STAGES}

        # The role each stage's endpoint stack is deleted through when the project is ("": the
        # tooling account's, by the cleanup function itself).
        stage_roles = dict.fromkeys(STAGES, "")
        if settings.account_layout == "multi":
            accounts = {"staging": settings.staging_account, "prod": settings.prod_account}
            stage_roles = {
                s: arns.bootstrap_role(names, accounts[s], "pipeline-action") for s in STAGES
            }
            targets = Targets(
                {s: arns.bootstrap_role(names, accounts[s], "model-exec") for s in STAGES},
                {s: arns.bootstrap_role(names, accounts[s], "api-handler") for s in STAGES},
                endpoint_test_role_arn=arns.bootstrap_role(
                    names, accounts["staging"], "endpoint-test"
                ),
                pipeline_action_role_arns=stage_roles,
                # Their model-exec role's network permissions: the bootstrap's Endpoint* parameters.
                endpoint_networks=stage_networks,
            )
            deployments = {
                stage: StageDeployment(
                    action_role=iam.Role.from_role_arn(
                        self,
                        f"{stage.capitalize()}ActionRole",
                        arns.bootstrap_role(names, accounts[stage], "pipeline-action"),
                        mutable=False,
                    ),
                    deployment_role=iam.Role.from_role_arn(
                        self,
                        f"{stage.capitalize()}CfnExecRole",
                        arns.bootstrap_role(names, accounts[stage], "cfn-exec"),
                        mutable=False,
                    ),
                    deployment_statements=[],
                )
                for stage in STAGES
            }
        else:
            # One role for both endpoints: it may attach either to its stage's VPC, if it has one.
            model_role = roles.model_execution(
                self, names, shared, list(dict.fromkeys(stage_networks.values()))
            )
            api_role = roles.api_handler(self, names)
            targets = Targets(
                dict.fromkeys(STAGES, model_role.role_arn),
                dict.fromkeys(STAGES, api_role.role_arn),
                endpoint_networks=stage_networks,
            )
            statements = roles.deployment_statements(names, model_role, api_role, shared)
            deployments = {stage: StageDeployment(None, None, statements) for stage in STAGES}

        image_build = builds.image_build(self, names, shared, **runner)
        if network is not None:
            roles.network_interface_access(pipeline_role, network)
        # MLflow (medium and large by default): the build's definition gets the Track and LinkRun
        # steps, which log to the app with the pipeline role.
        tracking = MlflowTracking.create(self, settings, names, shared, client=pipeline_role)
        pipeline_run = builds.pipeline_run(
            self,
            names,
            shared,
            pipeline_role,
            scheduled,
            network=network,
            variables={
                **source.git_variables(),
                **(tracking.variables(names) if tracking is not None else {}),
            },
            **runner,
        )
        deploy_build = builds.deploy_build(self, names, shared, targets, **runner)
        endpoint_tests = builds.endpoint_tests(self, names, shared, targets, **runner)
        if external is None:
            wiring = _codepipelines(
                self,
                names,
                shared,
                source,
                steps=(image_build, pipeline_run, deploy_build, endpoint_tests),
                stages=deployments,
            )
        else:
            wiring = _external_ci(
                external, parameters, _stage_targets(settings, names), deployments
            )
        events.wire(
            self,
            names,
            shared,
            deploy=wiring.starts_deploy,
            build=wiring.starts_build,
            codepipelines=wiring.codepipelines,
            # The batch pipeline's failures notify per step (monitoring.wire): its drift FailStep
            # sends its own message, and one failure must make one e-mail.
            sagemaker_pipelines=[
                p for p in (names.build_pipeline, *scheduled) if p != names.batch_pipeline
            ],
        )
        monitoring.wire(self, names, parameters, shared, settings.monitored)
        cleanup = ProjectCleanup(
            self,
            "Cleanup",
            names=names,
            pipelines=[names.build_pipeline, *scheduled],
            stage_roles=stage_roles,
        )
        cleanup.deletes_with(wiring.stack_roles)
        cleanup.runs_after_deleting(self)

        _outputs(
            stack,
            names=names,
            shared=shared,
            pipeline_role=pipeline_role,
            wiring=wiring,
            tracking=tracking,
            source=source,
        )


@dataclass(frozen=True)
class Wiring:
    """What the CI path hands the rest of the stack: what the model package decisions and the
    release image pushes start, the CodePipeline pipelines whose failures notify, the roles the
    tooling account's stage stacks are deployed with (the cleanup deletes with them) and outputs."""

    starts_deploy: eventbridge.IRuleTarget
    starts_build: eventbridge.IRuleTarget
    codepipelines: list[str]
    stack_roles: list[iam.IRole]
    outputs: list[tuple[str, str, str]]


def _codepipelines(
    scope: Construct,
    names: StackNames,
    shared: artifacts.Artifacts,
    source: Source,
    *,
    steps: tuple[iam.IGrantable, ...],
    stages: dict[str, StageDeployment],
) -> Wiring:
    projects = [step for step in steps if isinstance(step, codebuild.PipelineProject)]
    if len(projects) != len(steps):
        raise TypeError(
            f"{steps!r}: CodePipeline runs CodeBuild projects; allowed: PipelineProject"
        )
    image_build, pipeline_run, deploy_build, endpoint_tests = projects
    build = pipelines.model_build(
        scope,
        names=names,
        artifacts=shared,
        source=source,
        image_build=image_build,
        pipeline_run=pipeline_run,
    )
    deploy = pipelines.model_deploy(
        scope,
        names=names,
        artifacts=shared,
        source=source,
        deploy_build=deploy_build,
        endpoint_tests=endpoint_tests,
        stages=stages,
    )
    nag.acknowledge_privileged_build(image_build)
    return Wiring(
        starts_deploy=rule_targets.CodePipeline(deploy),
        starts_build=rule_targets.CodePipeline(build),
        codepipelines=[build.pipeline_name, deploy.pipeline_name],
        stack_roles=deployment_roles(deploy),
        outputs=[
            ("BuildPipelineName", build.pipeline_name, "CodePipeline: model-build"),
            ("DeployPipelineName", deploy.pipeline_name, "CodePipeline: model-deploy"),
        ],
    )


def _stage_targets(settings: Settings, names: StackNames) -> dict[str, StageTarget]:
    """Each stage's roles: in another account (multi layout) the bootstrap's; in this one none yet
    (ExternalCi.stage_deployment creates the CloudFormation role)."""
    if settings.account_layout != "multi":
        return {stage: StageTarget(cfn_role_arn="") for stage in STAGES}
    accounts = {"staging": settings.staging_account, "prod": settings.prod_account}
    return {
        stage: StageTarget(
            cfn_role_arn=arns.bootstrap_role(names, accounts[stage], "cfn-exec"),
            action_role_arn=arns.bootstrap_role(names, accounts[stage], "pipeline-action"),
        )
        for stage in STAGES
    }


def _external_ci(
    external: ExternalCi,
    parameters: Parameters,
    stage_targets: dict[str, StageTarget],
    stages: dict[str, StageDeployment],
) -> Wiring:
    for stage in STAGES:
        external.stage_deployment(stage, stage_targets[stage], stages[stage].deployment_statements)
    external.publish_environments()
    triggers = external.triggers(parameters)
    field = eventbridge.EventField.from_path
    return Wiring(
        starts_deploy=triggers.target(
            MODEL_PACKAGE_DECISION,
            {
                "MODEL_PACKAGE_ARN": field("$.detail.ModelPackageArn"),
                "MODEL_APPROVAL_STATUS": field("$.detail.ModelApprovalStatus"),
            },
        ),
        starts_build=triggers.target(
            RELEASE_IMAGE_PUSH, {"IMAGE_TAG": field("$.detail.image-tag")}
        ),
        codepipelines=[],
        stack_roles=deployment_roles(external),
        outputs=[
            (
                f"Ci{job.title().replace('-', '')}RoleArn",
                role.role_arn,
                f"{external.ci.system} job {job}",
            )
            for job, role in external.roles.items()
        ],
    )


def _outputs(
    stack: Stack,
    *,
    names: StackNames,
    shared: artifacts.Artifacts,
    pipeline_role: iam.IRole,
    wiring: Wiring,
    tracking: MlflowTracking | None,
    source: Source,
) -> None:
    for name, value, description in (
        ("ArtifactBucketName", shared.bucket.bucket_name, "bootstrap: ArtifactBucketName"),
        ("ArtifactKeyArn", shared.key.key_arn, "bootstrap: ArtifactKeyArn"),
        ("RepositoryUri", shared.repository.repository_uri, "the project's image repository"),
        ("ModelPackageGroupName", names.model_package_group, "the model registry group"),
        ("SageMakerPipelineRoleArn", pipeline_role.role_arn, "runs the SageMaker pipeline"),
        *wiring.outputs,
        ("NotificationTopicArn", shared.topic.topic_arn, "failures and approvals"),
        ("TrainingDataPrefix", names.raw_data_prefix, "new .csv files here start retraining"),
        ("BatchInputPrefix", names.batch_input_prefix, "input of the batch pipeline"),
    ):
        CfnOutput(stack, name, value=value, description=description)
    if tracking is not None:
        CfnOutput(stack, "MlflowAppArn", value=tracking.arn, description="MLflow tracking URI")
    if source.repository is not None:
        CfnOutput(
            stack,
            "RepositoryCloneUrl",
            value=source.repository.repository_clone_url_grc,
            description="git remote (git-remote-codecommit)",
        )
