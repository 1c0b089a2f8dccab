"""The two CodePipeline (V2) pipelines: model-build (source -> image -> SageMaker pipeline) and
model-deploy (source -> stack parameters -> staging -> endpoint tests -> approval -> prod)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_iam as iam
from constructs import Construct

from project_infra.artifacts import Artifacts
from project_infra.builds import STAGES
from project_infra.source import Source
from project_names import Names

IMAGE_ARTIFACT = "ImageArtifact"  # model-build/buildspec.yml reads CODEBUILD_SRC_DIR_ImageArtifact
# The deploy build's output; model-deploy/buildspec-endpoint-test.yml reads CODEBUILD_SRC_DIR_BuildArtifact.
BUILD_ARTIFACT = "BuildArtifact"
BUILD_PATHS = ["model-build/**"]
DEPLOY_PATHS = ["model-deploy/**"]
RELEASE_SUFFIX = "-release-export.json"  # model_deploy.release writes <stage>-release-export.json


@dataclass(frozen=True)
class StageDeployment:
    """How CloudFormation reaches one stage: the action's role (None = the pipeline's own, tooling
    account) and the role CloudFormation runs as."""

    action_role: iam.IRole | None
    deployment_role: iam.IRole | None
    deployment_statements: list[iam.PolicyStatement]


def _pipeline(
    scope: Construct, construct_id: str, name: str, artifacts: Artifacts
) -> codepipeline.Pipeline:
    return codepipeline.Pipeline(
        scope,
        construct_id,
        pipeline_name=name,
        pipeline_type=codepipeline.PipelineType.V2,
        artifact_bucket=artifacts.bucket,
        restart_execution_on_update=False,
    )


def model_build(
    scope: Construct,
    *,
    names: Names,
    artifacts: Artifacts,
    source: Source,
    image_build: codebuild.IProject,
    pipeline_run: codebuild.IProject,
) -> codepipeline.Pipeline:
    pipeline = _pipeline(scope, "ModelBuild", f"{names.model_package_group}-build", artifacts)
    code = codepipeline.Artifact("SourceArtifact")
    image = codepipeline.Artifact(IMAGE_ARTIFACT)
    source_action = source.action(code)
    pipeline.add_stage(stage_name="Source", actions=[source_action])
    pipeline.add_stage(
        stage_name="Image",
        actions=[
            actions.CodeBuildAction(
                action_name="BuildImage",
                project=image_build,
                input=code,
                outputs=[image],
                variables_namespace="Image",
            )
        ],
    )
    pipeline.add_stage(
        stage_name="Train",
        actions=[
            actions.CodeBuildAction(
                action_name="RunSageMakerPipeline",
                project=pipeline_run,
                input=code,
                extra_inputs=[image],
                environment_variables={
                    "IMAGE_URI": codebuild.BuildEnvironmentVariable(value="#{Image.IMAGE_URI}")
                },
            )
        ],
    )
    for trigger in source.triggers(source_action, BUILD_PATHS) or []:
        pipeline.add_trigger(**_trigger_kwargs(trigger))
    return pipeline


def model_deploy(
    scope: Construct,
    *,
    names: Names,
    artifacts: Artifacts,
    source: Source,
    deploy_build: codebuild.IProject,
    endpoint_tests: codebuild.IProject,
    stages: dict[str, StageDeployment],
) -> codepipeline.Pipeline:
    pipeline = _pipeline(scope, "ModelDeploy", f"{names.model_package_group}-deploy", artifacts)
    code = codepipeline.Artifact("SourceArtifact")
    build = codepipeline.Artifact(BUILD_ARTIFACT)
    source_action = source.action(code)
    pipeline.add_stage(stage_name="Source", actions=[source_action])
    pipeline.add_stage(
        stage_name="Build",
        actions=[
            actions.CodeBuildAction(
                action_name="StackParameters", project=deploy_build, input=code, outputs=[build]
            )
        ],
    )
    # Each stage: the release (an autoscaled endpoint's scalable target goes before its instance
    # type changes; otherwise the same deploy), then the deploy (model_deploy.release).
    # Both actions of a stage deploy the same stack, so with the same CloudFormation role.
    roles = {
        stage: stages[stage].deployment_role or _deployment_role(pipeline, names, stage)
        for stage in STAGES
    }
    for stage in STAGES:
        for statement in stages[stage].deployment_statements:
            roles[stage].add_to_principal_policy(statement)
    release = {
        stage: _deploy_action(names, stage, build, stages[stage], roles[stage], release=True)
        for stage in STAGES
    }
    deploy = {
        stage: _deploy_action(names, stage, build, stages[stage], roles[stage]) for stage in STAGES
    }
    pipeline.add_stage(stage_name="DeployStaging", actions=[release["staging"], deploy["staging"]])
    pipeline.add_stage(
        stage_name="TestStaging",
        actions=[
            actions.CodeBuildAction(
                action_name="EndpointTests",
                project=endpoint_tests,
                input=code,
                extra_inputs=[build],  # examples.csv of the package deployed
            )
        ],
    )
    pipeline.add_stage(
        stage_name="Approve",
        actions=[
            actions.ManualApprovalAction(
                action_name="ApproveProd",
                notification_topic=artifacts.topic,
                additional_information=f"Staging endpoint {names.endpoint('staging')} passed its "
                "tests. Approve to deploy the same model package to prod.",
            )
        ],
    )
    pipeline.add_stage(stage_name="DeployProd", actions=[release["prod"], deploy["prod"]])
    for trigger in source.triggers(source_action, DEPLOY_PATHS) or []:
        pipeline.add_trigger(**_trigger_kwargs(trigger))
    return pipeline


def _deploy_action(
    names: Names,
    stage: str,
    build: codepipeline.Artifact,
    how: StageDeployment,
    deployment_role: iam.IRole,
    *,
    release: bool = False,
) -> actions.CloudFormationCreateUpdateStackAction:
    return actions.CloudFormationCreateUpdateStackAction(
        action_name=f"{'Release' if release else 'Deploy'}{stage.capitalize()}",
        run_order=1 if release else 2,
        stack_name=names.deploy_stack(stage),
        template_path=build.at_path("endpoint.yml"),
        template_configuration=build.at_path(
            f"{stage}{RELEASE_SUFFIX}" if release else f"{stage}-config-export.json"
        ),
        admin_permissions=False,
        replace_on_failure=False,
        role=how.action_role,
        deployment_role=deployment_role,
    )


def _deployment_role(scope: Construct, names: Names, stage: str) -> iam.Role:
    """The role CloudFormation deploys a stage's endpoint stack with, in this account."""
    return iam.Role(
        scope,
        f"{stage.capitalize()}DeploymentRole",
        assumed_by=iam.ServicePrincipal("cloudformation.amazonaws.com"),
        description=f"CloudFormation deploys {names.deploy_stack(stage)} with it",
    )


def _trigger_kwargs(trigger: codepipeline.TriggerProps) -> dict[str, object]:
    return {"provider_type": trigger.provider_type, "git_configuration": trigger.git_configuration}
