"""The Service Catalog product's stack: the SAME construct a baked project's ``infra/`` deploys
(``project_infra.cicd.ProjectCiCd``), so a Studio project and a hand-deployed one are identical."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Tags
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_servicecatalog as servicecatalog
from constructs import Construct
from project_infra.cicd import ProjectCiCd
from project_infra.nag import acknowledge_wildcards
from project_infra.settings import Settings


class ProjectProduct(servicecatalog.ProductStack):
    """One project's CI/CD as a product template. ``asset_bucket`` receives the stack's assets (the
    CodeCommit seed zip), which Service Catalog templates cannot take from the CDK bootstrap bucket."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        project: Path,
        asset_bucket: s3.IBucket,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            asset_bucket=asset_bucket,
            description=f"CI/CD of a SageMaker project from the {settings.slug} template",
            analytics_reporting=False,
        )
        # The jobs' own VPC as the size decides (Settings.job_vpc), as `make deploy-infra` builds it;
        # the launch role's EC2 scopes (launch_role.py) cover what its handlers call.
        ProjectCiCd(self, "CiCd", settings=settings, repo_root=project)
        acknowledge_wildcards(self)
        for key, value in settings.tags.items():
            Tags.of(self).add(key, value)
