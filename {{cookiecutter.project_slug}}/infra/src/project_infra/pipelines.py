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
BUILD_ARTIFACT = "BuildArtifact"
BUILD_PATHS = ["model-build/**"]
DEPLOY_PATHS = ["model-deploy/**"]


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
    deploy = {stage: _deploy_action(names, stage, build, stages[stage]) for stage in STAGES}
    pipeline.add_stage(stage_name="DeployStaging", actions=[deploy["staging"]])
    pipeline.add_stage(
        stage_name="TestStaging",
        actions=[
            actions.CodeBuildAction(action_name="EndpointTests", project=endpoint_tests, input=code)
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
    pipeline.add_stage(stage_name="DeployProd", actions=[deploy["prod"]])
    # CloudFormation's role exists only once its action is in a pipeline.
    for stage, action in deploy.items():
        for statement in stages[stage].deployment_statements:
            action.add_to_deployment_role_policy(statement)
    for trigger in source.triggers(source_action, DEPLOY_PATHS) or []:
        pipeline.add_trigger(**_trigger_kwargs(trigger))
    return pipeline


def _deploy_action(
    names: Names, stage: str, build: codepipeline.Artifact, how: StageDeployment
) -> actions.CloudFormationCreateUpdateStackAction:
    return actions.CloudFormationCreateUpdateStackAction(
        action_name=f"Deploy{stage.capitalize()}",
        stack_name=names.deploy_stack(stage),
        template_path=build.at_path("endpoint.yml"),
        template_configuration=build.at_path(f"{stage}-config-export.json"),
        admin_permissions=False,
        replace_on_failure=False,
        role=how.action_role,
        deployment_role=how.deployment_role,
    )


def _trigger_kwargs(trigger: codepipeline.TriggerProps) -> dict[str, object]:
    return {"provider_type": trigger.provider_type, "git_configuration": trigger.git_configuration}
