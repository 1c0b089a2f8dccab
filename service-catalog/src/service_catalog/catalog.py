"""The stack a platform team deploys once per template version: the Studio-visible portfolio and
product, the bucket of product assets (seed code), and the bucket of S3-route Studio templates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jsii
from aws_cdk import (
    Aspects,
    Aws,
    CfnCondition,
    CfnOutput,
    CfnParameter,
    CfnResource,
    Fn,
    IAspect,
    Stack,
    Tags,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_servicecatalog as servicecatalog
from constructs import Construct, IConstruct
from project_infra.buckets import access_log_bucket, secure_bucket
from project_infra.settings import Settings

from service_catalog import nag, studio
from service_catalog.launch_role import LaunchRole
from service_catalog.product import ProjectProduct

# Empty (the default: the stack creates the launch role) or a role name without path, as
# LocalRoleName takes it.
ROLE_NAME_PATTERN = r"^([\w+=,.@-]{1,64})?$"
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$"


@dataclass(frozen=True)
class Release:
    """What is being published: the rendered project and the names derived from it."""

    settings: Settings
    project: Path  # the rendered project folder (seed code)
    version: str  # product version name; changes when the rendered template changes
    commit: str  # the template's git commit, shown in the version description


@jsii.implements(IAspect)
class AfterBucket:
    """Copies the product's assets only once their bucket exists (the product stack adds the copy
    while it synthesizes, hence an aspect)."""

    def __init__(self, bucket: s3.Bucket) -> None:
        self.bucket = bucket

    def visit(self, node: IConstruct) -> None:
        if (
            isinstance(node, CfnResource)
            and node.cfn_resource_type == "Custom::CDKBucketDeployment"
        ):
            node.node.add_dependency(self.bucket)


def asset_bucket_name(settings: Settings) -> str:
    """``sm-<slug>-<account>-<region>``: at most 63 characters for a 32-character slug."""
    return f"sm-{settings.slug.lower()}-{Aws.ACCOUNT_ID}-{Aws.REGION}"


def catalog_stack_name(settings: Settings) -> str:
    return f"sagemaker-{settings.slug}-studio-catalog"


class CatalogStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, release: Release) -> None:
        settings = release.settings
        super().__init__(
            scope,
            construct_id,
            stack_name=catalog_stack_name(settings),
            description=f"SageMaker Studio template {settings.slug} ({settings.size}), "
            f"version {release.version}",
        )
        launch_role_name = CfnParameter(
            self,
            "LaunchRoleName",
            type="String",
            default="",
            allowed_pattern=ROLE_NAME_PATTERN,
            description="Empty: this stack creates the role that creates a project's resources, "
            "derived from the product template. Or the name of an existing role to use instead "
            "(no path; it must be able to create everything the product template holds).",
        ).value_as_string
        own_launch_role = CfnCondition(
            self, "CreateLaunchRole", expression=Fn.condition_equals(launch_role_name, "")
        )
        studio_role_arn = CfnParameter(
            self,
            "StudioExecutionRoleArn",
            type="String",
            allowed_pattern=ROLE_ARN_PATTERN,
            description="Execution role of the SageMaker Studio domain (or user profile) that may "
            "create projects from this template.",
        ).value_as_string

        logs = access_log_bucket(self)
        nag.acknowledge_log_bucket(logs)
        # The product template is a separate template: it names this bucket by a value both
        # templates compute the same way (pseudo parameters, not a reference into this stack).
        assets_name = asset_bucket_name(settings)
        assets = secure_bucket(
            self,
            "ProductAssets",
            bucket_name=assets_name,
            server_access_logs_bucket=logs,
            server_access_logs_prefix="product-assets/",
        )
        templates = secure_bucket(
            self,
            "StudioTemplates",
            server_access_logs_bucket=logs,
            server_access_logs_prefix="studio-templates/",
            cors=[
                s3.CorsRule(
                    allowed_origins=list(studio.CORS_ORIGINS),
                    allowed_methods=[s3.HttpMethods(m) for m in studio.CORS_METHODS],
                    allowed_headers=list(studio.CORS_ALLOWED_HEADERS),
                    exposed_headers=list(studio.CORS_EXPOSED_HEADERS),
                )
            ],
        )
        studio_role = iam.Role.from_role_arn(self, "StudioRole", studio_role_arn, mutable=False)
        # Studio lists and reads the templates with the user's role; CloudFormation (running as the
        # launch role) reads the product's assets.
        templates.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion"],
                principals=[iam.ArnPrincipal(studio_role_arn)],
                resources=[templates.arn_for_objects(f"{studio.TEMPLATE_PREFIX}*")],
            )
        )
        templates.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                principals=[iam.ArnPrincipal(studio_role_arn)],
                resources=[templates.bucket_arn],
            )
        )

        product_stack = ProjectProduct(
            self,
            "Product",
            settings=settings,
            project=release.project,
            asset_bucket=s3.Bucket.from_bucket_name(self, "ProductAssetsByName", assets_name),
        )
        launch = LaunchRole(
            self,
            "LaunchRole",
            product=product_stack,
            asset_bucket=assets_name,
            studio_role_arn=studio_role_arn,
        )
        launch_role_arn = Fn.condition_if(
            own_launch_role.logical_id,
            launch.role.role_arn,
            Fn.sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${LaunchRoleName}"),
        ).to_string()
        # CloudFormation, running as the launch role on the S3 route, reads the template too.
        templates.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                principals=[iam.ArnPrincipal(launch_role_arn)],
                resources=[templates.arn_for_objects(f"{studio.TEMPLATE_PREFIX}*")],
            )
        )
        s3_route_user = studio_s3_route_user(self, launch_role_arn)
        portfolio = servicecatalog.CfnPortfolio(
            self,
            "Portfolio",
            display_name=f"SageMaker MLOps templates ({settings.owner})"[:100],
            provider_name=settings.owner[:50],
            description="Project templates SageMaker Studio lists under Organization templates.",
        )
        product = servicecatalog.CloudFormationProduct(
            self,
            "CloudFormationProduct",
            product_name=f"{settings.slug} MLOps ({settings.size})",
            owner=settings.owner,
            description=settings.description[:8191],
            distributor="sagemaker-mlops-template",
            product_versions=[
                servicecatalog.CloudFormationProductVersion(
                    product_version_name=release.version,
                    description=f"Rendered from template commit {release.commit}",
                    cloud_formation_template=servicecatalog.CloudFormationTemplate.from_product_stack(
                        product_stack
                    ),
                    validate_template=True,
                )
            ],
        )
        for taggable in (portfolio, product):
            Tags.of(taggable).add(*studio.VISIBILITY_TAG)
        association = servicecatalog.CfnPortfolioProductAssociation(
            self, "PortfolioProduct", portfolio_id=portfolio.ref, product_id=product.product_id
        )
        constraint = servicecatalog.CfnLaunchRoleConstraint(
            self,
            "LaunchRoleConstraint",
            portfolio_id=portfolio.ref,
            product_id=product.product_id,
            local_role_name=Fn.condition_if(
                own_launch_role.logical_id, launch.role.role_name, launch_role_name
            ).to_string(),
            description="Creates the project's resources with the template's launch role",
        )
        # A constraint needs the product in the portfolio first.
        constraint.node.add_dependency(association)
        servicecatalog.CfnPortfolioPrincipalAssociation(
            self,
            "StudioAccess",
            portfolio_id=portfolio.ref,
            principal_arn=studio_role.role_arn,
            principal_type="IAM",
        )
        Aspects.of(self).add(nag.AssetDeploymentFindings())
        Aspects.of(self).add(AfterBucket(assets))

        for name, value, description in (
            ("PortfolioId", portfolio.ref, "Service Catalog portfolio"),
            ("ProductId", product.product_id, "Service Catalog product"),
            ("ProductVersion", release.version, "product version name"),
            ("StudioTemplatesBucketName", templates.bucket_name, "S3-route template bucket"),
            (
                "StudioTemplatesLocation",
                f"s3://{templates.bucket_name}/{studio.TEMPLATE_PREFIX}",
                f"value of the domain tag {studio.DOMAIN_TEMPLATES_TAG}",
            ),
            ("ProductAssetsBucketName", assets.bucket_name, "seed code and other product assets"),
            ("LaunchRoleArn", launch_role_arn, "S3 route: the Role ARN to enter in Studio"),
            (
                "StudioS3RoutePolicyArn",
                s3_route_user.managed_policy_arn,
                "S3 route: attach to the Studio execution role",
            ),
        ):
            CfnOutput(self, name, value=value, description=description)


def studio_s3_route_user(scope: Construct, launch_role_arn: str) -> iam.ManagedPolicy:
    """What the Studio user's role needs on the S3 route, where SageMaker creates the project's
    stack (SP-...) with the user's credentials and hands over the launch role: what AWS's S3-route
    sample grants (s3_templates/mlops-github-actions: pass-role-policy.json, cfn-stack-sm-projects.json
    in https://github.com/aws-samples/sagemaker-custom-project-templates). PassRole is on the launch
    role only and, as there, without an ``iam:PassedToService`` condition: AWS documents neither
    which service SageMaker passes the role to on this route nor that it is CloudFormation alone.
    Not attached here: CloudFormation cannot take the name of a role with a path (Studio's default
    execution roles live under /service-role/) from its ARN; the README gives the command."""
    stacks = [f"arn:{Aws.PARTITION}:cloudformation:{Aws.REGION}:{Aws.ACCOUNT_ID}:stack/SP-*/*"]
    policy = iam.ManagedPolicy(
        scope,
        "StudioS3RouteUser",
        description="SageMaker Studio users: create projects from the S3 templates",
        statements=[
            iam.PolicyStatement(actions=["iam:PassRole"], resources=[launch_role_arn]),
            iam.PolicyStatement(
                actions=[
                    "cloudformation:CreateStack",
                    "cloudformation:UpdateStack",
                    "cloudformation:DeleteStack",
                    "cloudformation:DescribeStacks",
                    "cloudformation:DescribeStackEvents",
                ],
                resources=stacks,
            ),
            iam.PolicyStatement(
                actions=["cloudformation:TagResource", "cloudformation:UntagResource"],
                resources=stacks,
                conditions={"Null": {"aws:ResourceTag/sagemaker:project-name": "false"}},
            ),
        ],
    )
    nag.acknowledge_project_stacks(policy)
    return policy
