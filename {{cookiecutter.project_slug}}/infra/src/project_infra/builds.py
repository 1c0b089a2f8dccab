"""The build steps: each runs a buildspec from the repository in a CodeBuild project with its own role
that can do only what that buildspec does, or (GitHub Actions / GitLab CI: external_ci.py) is a CI
job whose role gets the same permissions and whose environment the same variables. Paths are
relative to the repository root (the project folder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from aws_cdk import Duration
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from constructs import Construct

from project_infra import arns
from project_infra.artifacts import Artifacts
from project_infra.events import RELEASE_TAG_PREFIX
from project_infra.network import JobsVpc
from project_names import Names

IMAGE_BUILDSPEC = "model-build/container/buildspec.yml"
PIPELINE_BUILDSPEC = "model-build/buildspec.yml"
DEPLOY_BUILDSPEC = "model-deploy/buildspec.yml"
ENDPOINT_TEST_BUILDSPEC = "model-deploy/buildspec-endpoint-test.yml"
BUILDSPECS = (IMAGE_BUILDSPEC, PIPELINE_BUILDSPEC, DEPLOY_BUILDSPEC, ENDPOINT_TEST_BUILDSPEC)
IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0  # Ubuntu 22.04 with Python 3.11 and Docker
STAGES = ("staging", "prod")


@dataclass(frozen=True)
class Targets:
    """Where each stage's endpoint runs and with which role."""

    model_execution_role_arns: dict[str, str]
    # The stage API's Lambda role (endpoint.yml ApiHandlerRoleArn; used when a stage enables `api`).
    api_handler_role_arns: dict[str, str]
    endpoint_test_role_arn: str = ""  # staging in another account: the role the tests assume
    # Stages in other accounts: the bootstrap role the deploy build reads each live stack through.
    pipeline_action_role_arns: dict[str, str] = field(default_factory=dict)
    # The stages whose endpoint runs in a VPC (project.toml [network.<stage>], in the stage's
    # account; or the jobs' VPC: Settings.endpoints_in_job_vpc).
    endpoint_networks: dict[str, JobsVpc] = field(default_factory=dict)


class Runner(Protocol):
    """Makes what runs one step (``construct_id`` names it): a CodeBuild project, or a CI job's
    role (external_ci.ExternalCi.runner). The step's permissions go to its grant principal."""

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
    ) -> iam.IGrantable: ...


def _allow(step: iam.IGrantable, statement: iam.PolicyStatement) -> None:
    step.grant_principal.add_to_principal_policy(statement)


def _variables(values: dict[str, str]) -> dict[str, codebuild.BuildEnvironmentVariable]:
    return {name: codebuild.BuildEnvironmentVariable(value=value) for name, value in values.items()}


def _project(
    scope: Construct,
    construct_id: str,
    *,
    artifacts: Artifacts,
    buildspec: str,
    description: str,
    environment: dict[str, str],
    privileged: bool = False,
    cache: codebuild.Cache | None = None,
) -> codebuild.PipelineProject:
    return codebuild.PipelineProject(
        scope,
        construct_id,
        description=description,
        build_spec=codebuild.BuildSpec.from_source_filename(buildspec),
        environment=codebuild.BuildEnvironment(
            build_image=IMAGE,
            compute_type=codebuild.ComputeType.SMALL,
            privileged=privileged,
        ),
        environment_variables=_variables(environment),
        encryption_key=artifacts.key,
        cache=cache,
        timeout=Duration.hours(2),
    )


def image_build(
    scope: Construct, names: Names, artifacts: Artifacts, runner: Runner = _project
) -> iam.IGrantable:
    """Builds and pushes the one image (Docker needs privileged mode)."""
    project = runner(
        scope,
        "ImageBuild",
        artifacts=artifacts,
        buildspec=IMAGE_BUILDSPEC,
        description=f"Build and push the image of {names.slug}",
        environment={
            "ECR_REPOSITORY_URI": artifacts.repository.repository_uri,
            "RELEASE_TAG_PREFIX": RELEASE_TAG_PREFIX,
        },
        privileged=True,
        cache=codebuild.Cache.local(codebuild.LocalCacheMode.DOCKER_LAYER),
    )
    artifacts.repository.grant_pull_push(project)
    _allow(
        project,
        iam.PolicyStatement(
            actions=["ecr:DescribeImages"], resources=[artifacts.repository.repository_arn]
        ),
    )
    return project


def pipeline_run(
    scope: Construct,
    names: Names,
    artifacts: Artifacts,
    pipeline_role: iam.IRole,
    upserted: list[str],
    *,
    network: JobsVpc | None = None,
    variables: dict[str, str] | None = None,
    runner: Runner = _project,
) -> iam.IGrantable:
    """Tests model-build, then upserts and starts the SageMaker pipeline, and upserts the
    ``upserted`` pipelines (the scheduled ones) without starting them. With ``network`` (large) the
    pipelines' jobs run in its subnets and security group. ``variables``: SOURCE_GIT_REPOSITORY
    and SOURCE_GIT_BRANCH (recorded in every model package) and, with MLflow, the variables that
    add the Track and LinkRun steps (model_build.options.TRACKING_VARIABLES)."""
    environment = {
        "SAGEMAKER_PROJECT_NAME": names.slug,
        "SAGEMAKER_PROJECT_ID": names.project_id,
        "ARTIFACT_BUCKET": artifacts.bucket.bucket_name,
        "SAGEMAKER_PIPELINE_ROLE_ARN": pipeline_role.role_arn,
        # The pipelines' jobs encrypt their volumes and outputs with the project's key.
        "KMS_KEY_ARN": artifacts.key.key_arn,
    }
    if network is not None:
        # The jobs' VpcConfig (model_build.options; not the endpoints' <STAGE>_SUBNET_IDS of
        # deploy_build).
        environment["JOB_SUBNET_IDS"] = network.subnet_ids
        environment["JOB_SECURITY_GROUP_IDS"] = network.security_group_ids
    environment.update(variables or {})
    project = runner(
        scope,
        "PipelineRun",
        artifacts=artifacts,
        buildspec=PIPELINE_BUILDSPEC,
        description=f"Upsert and start SageMaker pipeline {names.build_pipeline}",
        environment=environment,
    )
    pipeline = arns.build_pipeline(names)
    _allow(
        project,
        iam.PolicyStatement(
            actions=[
                "sagemaker:CreatePipeline",
                "sagemaker:UpdatePipeline",
                "sagemaker:DescribePipeline",
                "sagemaker:StartPipelineExecution",
                "sagemaker:AddTags",
                "sagemaker:ListTags",
            ],
            resources=[pipeline],
        ),
    )
    _allow(
        project,
        iam.PolicyStatement(
            actions=[
                "sagemaker:CreatePipeline",
                "sagemaker:UpdatePipeline",
                "sagemaker:DescribePipeline",
                "sagemaker:AddTags",
                "sagemaker:ListTags",
            ],
            resources=[arns.pipeline(names, name) for name in upserted],
        ),
    )
    _allow(
        project,
        iam.PolicyStatement(
            actions=["sagemaker:DescribePipelineExecution", "sagemaker:ListPipelineExecutionSteps"],
            resources=[f"{pipeline}/execution/*"],
        ),
    )
    _allow(
        project,
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[pipeline_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
    )
    # The SDK uploads step code and the input data under the bucket.
    artifacts.bucket.grant_read_write(project)
    return project


def deploy_build(
    scope: Construct,
    names: Names,
    artifacts: Artifacts,
    targets: Targets,
    runner: Runner = _project,
) -> iam.IGrantable:
    """Picks the newest approved model package and writes each stage's stack parameters (with its
    endpoint's subnets and security groups where ``targets`` gives the stage a VPC)."""
    environment = {
        "ARTIFACT_BUCKET": artifacts.bucket.bucket_name,
        "SAGEMAKER_PROJECT_NAME": names.slug,
        "SAGEMAKER_PROJECT_ID": names.project_id,
        "MODEL_PACKAGE_GROUP_NAME": names.model_package_group,
    }
    for stage in STAGES:
        prefix = stage.upper()
        environment[f"{prefix}_MODEL_EXECUTION_ROLE_ARN"] = targets.model_execution_role_arns[stage]
        environment[f"{prefix}_API_HANDLER_ROLE_ARN"] = targets.api_handler_role_arns[stage]
        environment[f"{prefix}_DATA_CAPTURE_URI"] = artifacts.bucket.s3_url_for_object(
            Names.capture_prefix(stage)
        )
        environment[f"{prefix}_STACK_NAME"] = names.deploy_stack(stage)
        if targets.pipeline_action_role_arns.get(stage):
            environment[f"{prefix}_PIPELINE_ACTION_ROLE_ARN"] = targets.pipeline_action_role_arns[
                stage
            ]
        network = targets.endpoint_networks.get(stage)
        if network is not None:
            # The stage's endpoint.yml SubnetIds / SecurityGroupIds (model_deploy.build reads them).
            environment[f"{prefix}_SUBNET_IDS"] = network.subnet_ids
            environment[f"{prefix}_SECURITY_GROUP_IDS"] = network.security_group_ids
    project = runner(
        scope,
        "DeployBuild",
        artifacts=artifacts,
        buildspec=DEPLOY_BUILDSPEC,
        description=f"Write the endpoint stack parameters of {names.slug}",
        environment=environment,
    )
    # `aws cloudformation package` uploads under the project's prefix.
    artifacts.bucket.grant_read_write(project, f"{names.deploy_prefix}*")
    # The approved package's example requests (model_deploy.build.package_examples): what the
    # model-build pipeline's Evaluate step writes, s3://<bucket>/<base>/<execution>/evaluate/...
    artifacts.bucket.grant_read(project, f"{names.base}/*/evaluate/evaluation/examples.csv")
    _allow(
        project,
        iam.PolicyStatement(
            # ListModelPackages takes no resource ARN; it is listed with the group it reads.
            actions=["sagemaker:ListModelPackages"],
            resources=["*"],
        ),
    )
    _allow(
        project,
        iam.PolicyStatement(
            actions=["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
            resources=[arns.model_package_group(names), arns.model_packages(names)],
        ),
    )
    # The live stage stacks (model_deploy.release): in another account through its bootstrap
    # pipeline-action role (which may describe them), else read here.
    roles = [
        targets.pipeline_action_role_arns[s]
        for s in STAGES
        if s in targets.pipeline_action_role_arns
    ]
    local = [s for s in STAGES if s not in targets.pipeline_action_role_arns]
    if roles:
        _allow(project, iam.PolicyStatement(actions=["sts:AssumeRole"], resources=roles))
    if local:
        _allow(
            project,
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStacks"],
                resources=[arns.deploy_stack(names, stage) for stage in local],
            ),
        )
    return project


def endpoint_tests(
    scope: Construct,
    names: Names,
    artifacts: Artifacts,
    targets: Targets,
    runner: Runner = _project,
) -> iam.IGrantable:
    """Runs the endpoint contract suite against the staging endpoint: directly in the tooling
    account, or through the staging account's ``<name>-endpoint-test`` role (bootstrap)."""
    environment = {"SAGEMAKER_PROJECT_NAME": names.slug}
    test_role = targets.endpoint_test_role_arn
    if test_role:
        environment["STAGING_TEST_ROLE_ARN"] = test_role
    project = runner(
        scope,
        "EndpointTests",
        artifacts=artifacts,
        buildspec=ENDPOINT_TEST_BUILDSPEC,
        description=f"Test endpoint {names.endpoint('staging')}",
        environment=environment,
    )
    if test_role:
        _allow(project, iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[test_role]))
    else:
        _allow(
            project,
            iam.PolicyStatement(
                actions=["sagemaker:InvokeEndpoint"], resources=[arns.endpoint(names, "staging")]
            ),
        )
    return project
