"""Which IAM wildcards the design accepts: a wildcard outside the table is never acknowledged."""

from __future__ import annotations

from project_infra.nag import UNSCOPABLE_ACTIONS, findings, render

BUCKET_OBJECTS = {"Fn::Join": ["", [{"Fn::GetAtt": ["CiCdArtifactBucketA9F74772", "Arn"]}, "/*"]]}


def test_render_matches_cdk_nag_names() -> None:
    assert render(BUCKET_OBJECTS) == "<CiCdArtifactBucketA9F74772.Arn>/*"
    assert render({"Ref": "SageMakerProjectName"}) == "<SageMakerProjectName>"


def test_bucket_objects_and_key_families_are_accepted() -> None:
    accepted = findings(
        [
            {"Action": ["s3:GetObject*", "kms:GenerateDataKey*"], "Resource": BUCKET_OBJECTS},
        ]
    )
    assert set(accepted) == {
        "Action::s3:GetObject*",
        "Action::kms:GenerateDataKey*",
        "Resource::<CiCdArtifactBucketA9F74772.Arn>/*",
    }


def test_star_resource_only_for_unscopable_actions() -> None:
    assert "Resource::*" in findings([{"Action": sorted(UNSCOPABLE_ACTIONS), "Resource": "*"}])
    mixed = [
        {"Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Action": "s3:GetObject", "Resource": "*"},
    ]
    assert "Resource::*" not in findings(mixed)


def test_unknown_wildcards_are_not_accepted() -> None:
    statements = [
        {"Action": "s3:*", "Resource": "arn:aws:s3:::someone-elses-bucket/*"},
        {"Action": "iam:*", "Resource": "*"},
        {"Action": "sagemaker:CreateEndpoint", "Resource": "arn:aws:sagemaker:*:*:endpoint/*"},
    ]
    assert findings(statements) == {}


def test_batch_pipeline_wildcards_are_accepted() -> None:
    """The transform jobs, their logs and the models the batch pipeline creates."""
    arn = "arn:<AWS::Partition>:{}:<AWS::Region>:<AWS::AccountId>:{}"
    resources = [
        arn.format("sagemaker", "transform-job/pipelines-*"),
        arn.format("logs", "log-group:/aws/sagemaker/TransformJobs*"),
        arn.format("sagemaker", "model/<ProjectName.Lowercase>-*"),
    ]
    accepted = findings([{"Action": "sagemaker:CreateModel", "Resource": resources}])
    assert sorted(accepted) == sorted(f"Resource::{r}" for r in resources)
    assert "batch pipeline" in accepted[f"Resource::{resources[2]}"]
    # Another project's models, or any model, stay findings.
    # The name as Studio gave it is not the lower-case one SageMaker writes into the ARN.
    other = [
        arn.format("sagemaker", "model/*"),
        arn.format("sagemaker", "model/other-*"),
        arn.format("sagemaker", "model/<SageMakerProjectName>-*"),
    ]
    assert findings([{"Action": "sagemaker:CreateModel", "Resource": other}]) == {}
