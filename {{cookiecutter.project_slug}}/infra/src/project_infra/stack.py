"""The stack a hand deploy (``cdk deploy``) creates: the project's CI/CD construct, tagged."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Stack, Tags
from constructs import Construct

from project_infra.cicd import ProjectCiCd
from project_infra.nag import acknowledge_wildcards
from project_infra.settings import Settings


def stack_name(settings: Settings) -> str:
    return f"sagemaker-{settings.slug}-cicd"


class ProjectStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, repo_root: Path
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=stack_name(settings),
            description=f"CI/CD of SageMaker project {settings.slug} ({settings.size})",
        )
        ProjectCiCd(self, "CiCd", settings=settings, repo_root=repo_root)
        acknowledge_wildcards(self)
        for key, value in settings.tags.items():
            Tags.of(self).add(key, value)
