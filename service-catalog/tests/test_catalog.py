"""The synthesized catalog and product templates: what Studio needs (assertions on the resources),
cdk-nag with zero unacknowledged findings, cfn-lint with zero errors."""

from __future__ import annotations

import json

import pytest
import yaml
from aws_cdk.assertions import Match, Template
from conftest import Published
from project_infra.synth_checks import lint_errors, nag_violations
from service_catalog.studio import (
    CORS_EXPOSED_HEADERS,
    CORS_METHODS,
    CORS_ORIGINS,
    VISIBILITY_TAG,
)
from service_catalog.studio_requirements import catalog_problems, name_problems, product_problems

VISIBLE = Match.array_with([{"Key": VISIBILITY_TAG[0], "Value": VISIBILITY_TAG[1]}])


def test_no_unacknowledged_nag_findings_and_no_lint_errors(published: Published) -> None:
    assert nag_violations(published.outdir) == []
    for template in (published.catalog_file, published.product_file, published.studio.file):
        assert lint_errors(template, published.region) == [], template.name


def test_sagemaker_projects_requirements(published: Published) -> None:
    assert catalog_problems(published.catalog) == []
    assert product_problems(published.product) == []


def test_portfolio_product_constraint_and_association(published: Published) -> None:
    catalog = Template.from_json(published.catalog)
    catalog.resource_count_is("AWS::ServiceCatalog::Portfolio", 1)
    catalog.has_resource_properties("AWS::ServiceCatalog::Portfolio", {"Tags": VISIBLE})
    catalog.has_resource_properties(
        "AWS::ServiceCatalog::CloudFormationProduct",
        {
            "Tags": VISIBLE,
            "ProvisioningArtifactParameters": [
                Match.object_like({"Name": Match.string_like_regexp(r"^v-[0-9a-f]{16}$")})
            ],
        },
    )
    # The catalog's own launch role unless LaunchRoleName names an existing one.
    catalog.has_resource_properties(
        "AWS::ServiceCatalog::LaunchRoleConstraint",
        {
            "LocalRoleName": {
                "Fn::If": [
                    "CreateLaunchRole",
                    {"Ref": Match.string_like_regexp("^LaunchRole")},
                    {"Ref": "LaunchRoleName"},
                ]
            }
        },
    )
    assert published.catalog["Conditions"]["CreateLaunchRole"] == {
        "Fn::Equals": [{"Ref": "LaunchRoleName"}, ""]
    }
    catalog.has_resource(
        "AWS::ServiceCatalog::LaunchRoleConstraint",
        {"DependsOn": Match.array_with(["PortfolioProduct"])},
    )
    catalog.has_resource_properties(
        "AWS::ServiceCatalog::PortfolioPrincipalAssociation",
        {"PrincipalARN": {"Ref": "StudioExecutionRoleArn"}, "PrincipalType": "IAM"},
    )
    catalog.has_parameter("LaunchRoleName", {"Default": ""})
    catalog.has_parameter("StudioExecutionRoleArn", {"AllowedPattern": Match.any_value()})


def test_studio_template_bucket(published: Published) -> None:
    catalog = Template.from_json(published.catalog)
    catalog.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "CorsConfiguration": {
                "CorsRules": [
                    Match.object_like(
                        {
                            "AllowedOrigins": list(CORS_ORIGINS),
                            "AllowedMethods": list(CORS_METHODS),
                            "AllowedHeaders": ["*"],
                            "ExposedHeaders": list(CORS_EXPOSED_HEADERS),
                        }
                    )
                ]
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": Match.object_like({"BlockPublicPolicy": True}),
        },
    )
    catalog.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": Match.array_with(["s3:GetObject", "s3:GetObjectTagging"]),
                                "Principal": {"AWS": {"Ref": "StudioExecutionRoleArn"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_s3_route_roles(published: Published) -> None:
    """As AWS's S3-template sample sets them up: the Studio role may pass the launch role (that role
    only, to any service: no iam:PassedToService condition) and create SP-* stacks; the launch role
    (CloudFormation on that route) may read the templates; both ARNs are outputs."""
    catalog = Template.from_json(published.catalog)
    launch_role_arn = {
        "Fn::If": [
            "CreateLaunchRole",
            {"Fn::GetAtt": [Match.string_like_regexp("^LaunchRole"), "Arn"]},
            {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${LaunchRoleName}"},
        ]
    }
    catalog.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {"Action": "iam:PassRole", "Effect": "Allow", "Resource": launch_role_arn},
                        Match.object_like(
                            {
                                "Action": Match.array_with(["cloudformation:CreateStack"]),
                                "Resource": {"Fn::Join": ["", Match.array_with([":stack/SP-*/*"])]},
                            }
                        ),
                    ]
                )
            }
        },
    )
    catalog.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                                "Principal": {"AWS": launch_role_arn},
                            }
                        )
                    ]
                )
            }
        },
    )
    pass_role = [
        statement
        for policy in catalog.find_resources("AWS::IAM::ManagedPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "iam:PassRole" in statement["Action"]
    ]
    (only,) = pass_role  # and unconditioned: the statement holds nothing else
    assert sorted(only) == ["Action", "Effect", "Resource"]
    condition, created, existing = only["Resource"]["Fn::If"]
    assert (condition, existing) == ("CreateLaunchRole", launch_role_arn["Fn::If"][2])
    assert created["Fn::GetAtt"][0].startswith("LaunchRole")
    catalog.has_output("LaunchRoleArn", {"Value": launch_role_arn})
    catalog.has_output("StudioS3RoutePolicyArn", {"Value": {"Ref": Match.any_value()}})


def test_studio_template_is_the_product_template(published: Published) -> None:
    text = published.studio.file.read_text(encoding="utf-8")
    assert yaml.safe_load(text) == published.product
    assert text.index("\nParameters:") < text.index("\nResources:")
    assert published.studio.key == "sagemaker-project-templates/mammography-severity.yaml"
    assert published.studio.tagging() == "sagemaker:studio-visibility=true"


def test_product_is_the_projects_construct(published: Published) -> None:
    """The product template holds the project's CI/CD (the construct hand deploys use)."""
    product = Template.from_json(published.product)
    product.resource_count_is("AWS::CodePipeline::Pipeline", 2)
    product.has_resource_properties("AWS::SageMaker::ModelPackageGroup", Match.object_like({}))
    codecommit = "CodeConnectionArn" not in published.product["Parameters"]
    product.resource_count_is("AWS::CodeCommit::Repository", 1 if codecommit else 0)
    catalog = json.dumps(published.catalog)
    # A CodeCommit seed is copied into the product's asset bucket; connections need no assets.
    assert ("Custom::CDKBucketDeployment" in catalog) is codecommit
    if codecommit:
        (repository,) = [
            r
            for r in published.product["Resources"].values()
            if r["Type"] == "AWS::CodeCommit::Repository"
        ]
        location = repository["Properties"]["Code"]["S3"]
        assert location["Bucket"]["Fn::Join"][1][0].startswith("sm-")
        # The seed zip is the rendered project, staged as a folder that cdk-assets zips.
        seed = published.outdir / f"asset.{location['Key'].removesuffix('.zip')}"
        files = {p.relative_to(seed).as_posix() for p in seed.rglob("*") if p.is_file()}
        assert {"project.toml", "model-build/buildspec.yml", "infra/app.py"} <= files
        assert not [f for f in files if ".egg-info" in f or "__pycache__" in f]


@pytest.mark.parametrize("name", ["SageMakerProjectName", "SageMakerProjectId"])
def test_product_problems_catch_a_missing_parameter(published: Published, name: str) -> None:
    product = published.product
    del product["Parameters"][name]
    assert product_problems(product) == [f"parameter {name} (String) missing"]


def test_catalog_problems_catch_a_missing_tag_and_constraint(published: Published) -> None:
    catalog = published.catalog
    for key, resource in list(catalog["Resources"].items()):
        if resource["Type"] == "AWS::ServiceCatalog::Portfolio":
            resource["Properties"]["Tags"] = []
        if resource["Type"] == "AWS::ServiceCatalog::LaunchRoleConstraint":
            del catalog["Resources"][key]
    assert catalog_problems(catalog) == [
        "portfolio lacks the tag sagemaker:studio-visibility=true",
        "no launch-role constraint on the product in the portfolio",
    ]


# Names Studio can give (CreateProject's ProjectName): mixed case, the longest, digits first.
STUDIO_NAMES = ["Churn-Model2", "Ab" * 16, "7Up-Forecast"]
STUDIO_ID = "p-1a2b3c4d5e6f"  # p- and 12 characters, as Studio makes them


@pytest.mark.parametrize("name", STUDIO_NAMES)
def test_studio_names_launch_with_valid_derived_names(published: Published, name: str) -> None:
    assert name_problems(published.product, published.region, name, STUDIO_ID) == []


def test_name_problems_catch_a_name_not_lowercased(published: Published) -> None:
    """The product as it was before Custom::ProjectName: the name as given, where lower case is due."""

    def as_given(value: object) -> object:
        if value == {"Fn::GetAtt": ["ProjectName", "Lowercase"]}:
            return {"Ref": "SageMakerProjectName"}
        if isinstance(value, dict):
            return {k: as_given(v) for k, v in value.items()}
        if isinstance(value, list):
            return [as_given(v) for v in value]
        return value

    problems = name_problems(
        as_given(published.product), published.region, "Churn-Model2", STUDIO_ID
    )  # type: ignore[arg-type]
    assert any("ECR::Repository" in p and "'sagemaker-Churn-Model2'" in p for p in problems)
    assert any(":pipeline/Churn-Model2-" in p for p in problems)


@pytest.mark.parametrize("name", ["", "-a", "a_b", "A" * 33])
def test_name_problems_catch_a_name_studio_cannot_give(published: Published, name: str) -> None:
    (problem,) = name_problems(published.product, published.region, name, STUDIO_ID)
    assert problem.startswith(f"parameter SageMakerProjectName refuses {name!r}")
