"""Every resource of the issue, asserted on the synthesized template (aws_cdk.assertions)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from conftest import Synthesized

from project_infra.roles import NETWORK_DESCRIBE_ACTIONS


@pytest.fixture(scope="session")
def synthesized(codepipeline_synthesized: Synthesized) -> Synthesized:
    """The CodePipeline and CodeBuild resources: this project's stack with [ci] system
    codepipeline (conftest.codepipeline_synthesized)."""
    return codepipeline_synthesized


@pytest.fixture(scope="module")
def template(synthesized: Synthesized) -> Template:
    return Template.from_json(synthesized.template)


def _multi(synthesized: Synthesized) -> bool:
    return synthesized.settings.account_layout == "multi"


def test_artifact_bucket_is_encrypted_versioned_private_tls_only_and_retained(
    template: Template, synthesized: Synthesized
) -> None:
    buckets = synthesized.resources("AWS::S3::Bucket")
    (artifact,) = [b for b in buckets.values() if "KMSMasterKeyID" in str(b)]
    props = artifact["Properties"]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert "LoggingConfiguration" in props
    # ACLs off: the bucket's account owns what the stage accounts' endpoints write (data capture).
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert artifact["DeletionPolicy"] == "Retain"
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_ecr_repository(template: Template, synthesized: Synthesized) -> None:
    (repo,) = synthesized.resources("AWS::ECR::Repository").values()
    props = repo["Properties"]
    assert props["ImageTagMutability"] == "IMMUTABLE"
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert "LifecyclePolicyText" in props["LifecyclePolicy"]
    assert synthesized.resolver.resolve(props["RepositoryName"]) == (
        f"sagemaker-{synthesized.lowercase_name}"
    )
    if _multi(synthesized):
        policy = str(props["RepositoryPolicyText"])
        assert synthesized.settings.staging_account in policy
        assert synthesized.settings.prod_account in policy
    else:
        assert "RepositoryPolicyText" not in props


def test_model_package_group(synthesized: Synthesized) -> None:
    (group,) = synthesized.resources("AWS::SageMaker::ModelPackageGroup").values()
    name = synthesized.resolver.resolve(group["Properties"]["ModelPackageGroupName"])
    assert name == f"{synthesized.project_name}-manual"
    policy = group["Properties"].get("ModelPackageGroupPolicy")
    assert (policy is not None) == _multi(synthesized)
    if policy is not None:
        principals = synthesized.resolver.resolve(policy["Statement"][0]["Principal"]["AWS"])
        assert principals == [
            f"arn:aws:iam::{a}:root"
            for a in sorted(
                {synthesized.settings.staging_account, synthesized.settings.prod_account}
            )
        ]


def test_topic_is_encrypted_and_subscribed_when_an_email_is_given(
    template: Template, synthesized: Synthesized
) -> None:
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    email = synthesized.settings.notification_email
    template.resource_count_is("AWS::SNS::Subscription", 1 if email else 0)
    if email:
        template.has_resource_properties(
            "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": email}
        )


def test_only_the_image_build_is_privileged(synthesized: Synthesized) -> None:
    privileged = {
        p["Properties"]["Source"]["BuildSpec"]: p["Properties"]["Environment"].get(
            "PrivilegedMode", False
        )
        for p in synthesized.resources("AWS::CodeBuild::Project").values()
    }
    assert privileged == {
        "model-build/container/buildspec.yml": True,
        "model-build/buildspec.yml": False,
        "model-deploy/buildspec.yml": False,
        "model-deploy/buildspec-endpoint-test.yml": False,
    }


def _stages(synthesized: Synthesized, suffix: str) -> list[dict[str, Any]]:
    (pipeline,) = [
        p
        for p in synthesized.resources("AWS::CodePipeline::Pipeline").values()
        if synthesized.resolver.resolve(p["Properties"]["Name"]).endswith(suffix)
    ]
    assert pipeline["Properties"]["PipelineType"] == "V2"
    return pipeline["Properties"]["Stages"]


def test_build_pipeline_runs_source_image_then_sagemaker_pipeline(synthesized: Synthesized) -> None:
    stages = _stages(synthesized, "-build")
    assert [s["Name"] for s in stages] == ["Source", "Image", "Train"]
    (train,) = stages[2]["Actions"]
    assert [a["Name"] for a in train["InputArtifacts"]] == ["SourceArtifact", "ImageArtifact"]
    assert "#{Image.IMAGE_URI}" in train["Configuration"]["EnvironmentVariables"]


def test_deploy_pipeline_stages_and_cross_account_roles(synthesized: Synthesized) -> None:
    stages = _stages(synthesized, "-deploy")
    assert [s["Name"] for s in stages] == [
        "Source",
        "Build",
        "DeployStaging",
        "TestStaging",
        "Approve",
        "DeployProd",
    ]
    settings = synthesized.settings
    for stage, account in (("staging", settings.staging_account), ("prod", settings.prod_account)):
        # The release (model_deploy.release), then the deploy: same stack, roles and template.
        release, action = sorted(
            next(s for s in stages if s["Name"] == f"Deploy{stage.capitalize()}")["Actions"],
            key=lambda a: a["RunOrder"],
        )
        assert (release["Name"], release["RunOrder"], action["RunOrder"]) == (
            f"Release{stage.capitalize()}",
            1,
            2,
        )
        assert release["Configuration"]["TemplateConfiguration"] == (
            f"BuildArtifact::{stage}-release-export.json"
        )
        config = action["Configuration"]
        for key in ("StackName", "TemplatePath", "RoleArn", "ActionMode"):
            assert release["Configuration"][key] == config[key], key
        if _multi(synthesized):  # else each action has its own CodePipeline action role
            assert release["RoleArn"] == action["RoleArn"]
        assert synthesized.resolver.resolve(config["StackName"]) == (
            f"sagemaker-{synthesized.lowercase_name}-deploy-{stage}"
        )
        assert config["TemplatePath"] == "BuildArtifact::endpoint.yml"
        assert config["TemplateConfiguration"] == f"BuildArtifact::{stage}-config-export.json"
        role = synthesized.resolver.resolve(action["RoleArn"])
        deployment_role = synthesized.resolver.resolve(config["RoleArn"])
        if _multi(synthesized):
            assert (
                role == f"arn:aws:iam::{account}:role/{synthesized.lowercase_name}-pipeline-action"
            )
            assert (
                deployment_role
                == f"arn:aws:iam::{account}:role/{synthesized.lowercase_name}-cfn-exec"
            )
        else:
            assert isinstance(role, dict) and "Fn::GetAtt" in role  # a role of this stack


def test_connection_sources_trigger_on_their_folder_only(synthesized: Synthesized) -> None:
    pipelines = synthesized.resources("AWS::CodePipeline::Pipeline").values()
    if synthesized.settings.git_provider == "codecommit":
        assert all("Triggers" not in p["Properties"] for p in pipelines)
        (repository,) = synthesized.resources("AWS::CodeCommit::Repository").values()
        assert repository["DeletionPolicy"] == "Retain"  # the code outlives the project
        return
    paths = sorted(
        t["GitConfiguration"]["Push"][0]["FilePaths"]["Includes"][0]
        for p in pipelines
        for t in p["Properties"]["Triggers"]
    )
    assert paths == ["model-build/**", "model-deploy/**"]
    for p in pipelines:
        source = p["Properties"]["Stages"][0]["Actions"][0]
        assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
        assert source["Configuration"]["ConnectionArn"] == {"Ref": "CodeConnectionArn"}


def test_retraining_schedule_starts_the_sagemaker_pipeline(synthesized: Synthesized) -> None:
    (schedule,) = [
        s
        for key, s in synthesized.resources("AWS::Scheduler::Schedule").items()
        if key.startswith("CiCdRetraining")
    ]
    target = synthesized.resolver.resolve(schedule["Properties"]["Target"]["Arn"])
    region = synthesized.settings.region
    assert target == (
        f"arn:aws:sagemaker:{region}:123456789012:pipeline/{synthesized.lowercase_name}-manual-model-build"
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(synthesized: Synthesized) -> list[dict[str, Any]]:
    found = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::Role"):
        for resource in synthesized.resources(kind).values():
            props = resource["Properties"]
            documents = [props["PolicyDocument"]] if "PolicyDocument" in props else []
            documents += [p["PolicyDocument"] for p in props.get("Policies", [])]
            found += [s for d in documents for s in d["Statement"]]
    return found


def test_no_statement_allows_every_action(synthesized: Synthesized) -> None:
    for statement in _statements(synthesized):
        actions = _as_list(statement["Action"])
        assert not any(a == "*" or a.endswith(":*") for a in actions), statement


def _in_project(resource: str, slug: str) -> bool:
    """A resource of this project: named after it, a pipeline job, its jobs' log groups, or (large)
    the network interfaces SageMaker creates for the jobs in the project's VPC."""
    return (
        slug in resource
        or resource.endswith(":network-interface/*")
        or ":processing-job/pipelines-" in resource
        or (":training-job/pipelines-" in resource)
        or (":transform-job/pipelines-" in resource)
        or ":log-group:/aws/sagemaker/" in resource
    )


def test_sagemaker_pipeline_role_is_scoped_to_the_project(synthesized: Synthesized) -> None:
    (role_id,) = [
        k for k in synthesized.resources("AWS::IAM::Role") if "SageMakerPipelineRole" in k
    ]
    (policy,) = [
        p
        for p in synthesized.resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    unscopable = {
        "ecr:GetAuthorizationToken",
        "cloudwatch:PutMetricData",
        "sagemaker:ListModelPackages",
        *NETWORK_DESCRIBE_ACTIONS,  # large: attaching the jobs to the project's VPC
    }
    network = [
        k
        for k, r in synthesized.template["Resources"].items()
        if r["Type"].startswith("AWS::EC2::")
    ]
    given = synthesized.settings.network  # project.toml [network]: ids the stack does not create
    if given is not None:
        network += [given.vpc_id, *given.subnet_ids, *given.security_group_ids]
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        for raw in _as_list(statement["Resource"]):
            if any(part in str(raw) for part in network):  # the jobs' subnets and groups
                continue
            resource = synthesized.resolver.resolve(raw)
            if "Fn::GetAtt" in str(resource):  # this stack's own bucket, key or repository
                continue
            if resource == "*":
                assert set(_as_list(statement["Action"])) <= unscopable, statement
            else:
                assert _in_project(resource, synthesized.lowercase_name), resource


def _project_key(synthesized: Synthesized) -> tuple[str, dict[str, Any]]:
    ((key_id, key),) = synthesized.resources("AWS::KMS::Key").items()
    return key_id, key


def test_model_build_gets_the_project_key_for_its_jobs(synthesized: Synthesized) -> None:
    """The model-build's CodeBuild project passes the key (KMS_KEY_ARN) the pipelines' jobs encrypt
    their volumes and outputs with."""
    key_id, _ = _project_key(synthesized)
    (build,) = [
        p
        for p in synthesized.resources("AWS::CodeBuild::Project").values()
        if p["Properties"]["Source"]["BuildSpec"] == "model-build/buildspec.yml"
    ]
    variables = {
        v["Name"]: v["Value"] for v in build["Properties"]["Environment"]["EnvironmentVariables"]
    }
    assert variables["KMS_KEY_ARN"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_pipeline_role_may_encrypt_job_volumes_with_the_project_key_only(
    synthesized: Synthesized,
) -> None:
    """Volume encryption needs kms:CreateGrant, for an AWS resource only, on the one key; output
    encryption the key's data-key actions (from the bucket grant); the key policy leaves the rest to
    IAM (the account principal)."""
    key_id, key = _project_key(synthesized)
    (role_id,) = [
        k for k in synthesized.resources("AWS::IAM::Role") if "SageMakerPipelineRole" in k
    ]
    statements = [
        s
        for p in synthesized.resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    on_key = [s for s in statements if s["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}]
    grants = [s for s in on_key if "kms:CreateGrant" in _as_list(s["Action"])]
    assert grants == [
        {
            "Action": "kms:CreateGrant",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [key_id, "Arn"]},
        }
    ]
    data_keys = {a for s in on_key for a in _as_list(s["Action"])}
    assert {"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*"} <= data_keys
    assert not any(
        "kms:CreateGrant" in _as_list(s["Action"]) for s in statements if s not in on_key
    )
    # The account's IAM policies decide who uses the key (no key-policy change per role).
    admin = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if _as_list(s["Action"]) == ["kms:*"]
    ]
    assert len(admin) == 1 and "root" in str(admin[0]["Principal"])
