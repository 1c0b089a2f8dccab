"""The repository the pipelines build: a CodeConnections connection (GitHub, GitLab, Bitbucket) or
a CodeCommit repository that the stack creates and seeds with this project's files."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import RemovalPolicy
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_s3_assets as assets
from constructs import Construct

from project_infra.parameters import Parameters

# Not part of the seed: environments, caches and build output of a working copy.
SEED_EXCLUDES = [
    ".git",
    "**/.venv",
    "**/.venv-scan",
    "**/cdk.out",
    "**/.local",
    "**/__pycache__",
    "**/*.egg-info",
    "**/.pytest_cache",
    "**/.ruff_cache",
    "**/.hypothesis",
]


class Source(Construct):
    """Makes the source action of each pipeline (one repository holds model-build and model-deploy)."""

    def __init__(
        self, scope: Construct, construct_id: str, parameters: Parameters, repo_root: Path
    ) -> None:
        super().__init__(scope, construct_id)
        self.parameters = parameters
        self.repository: codecommit.Repository | None = None
        if not parameters.repository_owner:  # CodeCommit: the stack creates the repository
            seed = assets.Asset(self, "Seed", path=str(repo_root), exclude=SEED_EXCLUDES)
            self.repository = codecommit.Repository(
                self,
                "Repository",
                repository_name=f"sagemaker-{parameters.project_name}-{parameters.project_id}",
                description=f"Code of SageMaker project {parameters.project_name}",
                code=codecommit.Code.from_asset(seed, "main"),
            )
            # The project's code outlives the project: deleting the stack keeps the repository.
            self.repository.apply_removal_policy(RemovalPolicy.RETAIN)

    def action(self, output: codepipeline.Artifact) -> actions.Action:
        p = self.parameters
        if self.repository is not None:
            return actions.CodeCommitSourceAction(
                action_name="Source", repository=self.repository, branch=p.branch, output=output
            )
        return actions.CodeStarConnectionsSourceAction(
            action_name="Source",
            connection_arn=p.connection_arn,
            owner=p.repository_owner,
            repo=p.repository_name,
            branch=p.branch,
            output=output,
            # CodeBuild reads CODEBUILD_RESOLVED_SOURCE_VERSION (the commit) from a full clone.
            code_build_clone_output=True,
        )

    def git_variables(self) -> dict[str, str]:
        """SOURCE_GIT_REPOSITORY and SOURCE_GIT_BRANCH of what the pipelines build (the commit is
        the build's own: model-build/ci/start-pipelines.sh)."""
        p = self.parameters
        if self.repository is not None:
            repository = self.repository.repository_clone_url_http
        else:
            repository = f"{p.repository_owner}/{p.repository_name}"
        return {"SOURCE_GIT_REPOSITORY": repository, "SOURCE_GIT_BRANCH": p.branch}

    def triggers(
        self, action: actions.Action, paths: list[str]
    ) -> list[codepipeline.TriggerProps] | None:
        """Start on pushes that touch ``paths`` (CodeConnections only; CodeCommit sources start
        through CodePipeline's own EventBridge rule on every push to the branch)."""
        if self.repository is not None:
            return None
        return [
            codepipeline.TriggerProps(
                provider_type=codepipeline.ProviderType.CODE_STAR_SOURCE_CONNECTION,
                git_configuration=codepipeline.GitConfiguration(
                    source_action=action,
                    push_filter=[
                        codepipeline.GitPushFilter(
                            branches_includes=[self.parameters.branch],
                            file_paths_includes=paths,
                        )
                    ],
                ),
            )
        ]
