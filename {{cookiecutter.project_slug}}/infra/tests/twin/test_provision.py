"""Provisioning into the emulator: moto's CloudFormation creates what it supports, the twin the rest
through the service APIs, with every reference resolved across the two."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Synthesized

from project_infra.twin import protection
from project_infra.twin.emulator import TOOLING_ACCOUNT, Emulator
from project_infra.twin.interpreters import DELETERS, INTERPRETERS, NOT_EMULATED
from project_infra.twin.intrinsics import ResolveError, Resolver, references
from project_infra.twin.provision import MOTO, TWIN, ProvisionError, deploy


@pytest.fixture(scope="session")
def synthesized(codepipeline_synthesized: Synthesized) -> Synthesized:
    """The twin's CodePipeline and CodeBuild emulation reads this project's stack with [ci] system
    codepipeline (test_ci_jobs.py covers what the twin does for GitHub Actions / GitLab CI)."""
    return codepipeline_synthesized


REGION = "us-east-1"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    started = Emulator(REGION).start()
    yield started
    started.stop()


def _deploy(emulator: Emulator, template: dict[str, Any], name: str, **parameters: str) -> Any:
    return deploy(
        template,
        stack_name=name,
        parameters=parameters,
        clients=emulator.client,
        account=TOOLING_ACCOUNT,
        region=REGION,
        interpreters=INTERPRETERS,
        not_emulated=NOT_EMULATED,
    )


def test_references_finds_ref_getatt_and_sub_names() -> None:
    value = {
        "A": {"Ref": "Bucket"},
        "B": {"Fn::GetAtt": ["Role", "Arn"]},
        "C": {"Fn::Sub": "arn:${AWS::Partition}:x:${Topic}/${Key.Arn}"},
        "D": {"Fn::Sub": ["${Local}-${Param}", {"Local": {"Ref": "Queue"}}]},
    }
    assert references(value) == {
        "Bucket",
        "Role",
        "AWS::Partition",
        "Topic",
        "Key",
        "Param",
        "Queue",
    }


def test_resolver_handles_the_functions_cdk_and_endpoint_yml_use() -> None:
    values = {"Stage": "prod", "AWS::Region": "eu-west-1", "List": "a,b"}
    resolver = Resolver(
        values.__getitem__, lambda logical, name: f"{logical}.{name}", {"IsProd": True}
    )
    assert resolver.resolve({"Fn::Join": ["-", ["x", {"Ref": "Stage"}]]}) == "x-prod"
    assert (
        resolver.resolve({"Fn::Sub": "${Stage}-${Role.Arn}-${!Literal}"})
        == "prod-Role.Arn-${Literal}"
    )
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [",", {"Ref": "List"}]}]}) == "b"
    assert resolver.resolve({"Fn::If": ["IsProd", 1, 2]}) == 1
    assert resolver.resolve({"K": {"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, 2]}}) == {}
    with pytest.raises(ResolveError, match="Fn::FindInMap: not supported"):
        resolver.resolve({"Fn::FindInMap": ["M", "a", "b"]})


def test_references_across_moto_and_the_twin_resolve_both_ways(emulator: Emulator) -> None:
    template = {
        "Parameters": {"Name": {"Type": "String", "Default": "demo"}},
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
                    # moto's part refers to the twin's: substituted before moto sees it
                    "Description": {"Fn::GetAtt": ["Group", "ModelPackageGroupArn"]},
                },
            },
            "Group": {
                "Type": "AWS::SageMaker::ModelPackageGroup",
                "Properties": {
                    "ModelPackageGroupName": {"Fn::Sub": "${Name}-group"},
                    # the twin's part refers to moto's: resolved by moto itself
                    "ModelPackageGroupDescription": {"Fn::GetAtt": ["Role", "Arn"]},
                },
            },
        },
        "Outputs": {"GroupName": {"Value": {"Ref": "Group"}}},
    }
    stack = _deploy(emulator, template, "cross-refs")
    assert stack.resources["Role"].how == MOTO and stack.resources["Group"].how == TWIN
    group = emulator.client("sagemaker").describe_model_package_group(
        ModelPackageGroupName="demo-group"
    )
    role = emulator.client("iam").get_role(RoleName=stack.resources["Role"].physical_id)["Role"]
    assert group["ModelPackageGroupDescription"] == role["Arn"]
    assert role["Description"].endswith(":model-package-group/demo-group")
    assert stack.outputs == {"GroupName": "demo-group"}


def test_a_resource_type_nobody_emulates_fails_with_one_line(emulator: Emulator) -> None:
    template = {"Resources": {"Thing": {"Type": "AWS::Made::Up", "Properties": {}}}}
    with pytest.raises(
        ProvisionError, match=r"AWS::Made::Up is neither emulated by moto nor interpreted"
    ):
        _deploy(emulator, template, "unknown-type")


def test_a_comma_delimited_list_parameter_refs_as_a_list(emulator: Emulator) -> None:
    """CloudFormation's Ref of a CommaDelimitedList parameter is a list (endpoint.yml's SubnetIds
    become the Model's VpcConfig.Subnets, which SageMaker's API takes only as a list)."""
    template = {
        "Parameters": {
            "SubnetIds": {"Type": "CommaDelimitedList"},
            "GroupIds": {"Type": "CommaDelimitedList"},
        },
        "Resources": {
            "Model": {
                "Type": "AWS::SageMaker::Model",
                "Properties": {
                    "ModelName": "in-vpc",
                    "ExecutionRoleArn": "arn:aws:iam::123456789012:role/model",
                    "PrimaryContainer": {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m"},
                    "VpcConfig": {
                        "Subnets": {"Ref": "SubnetIds"},
                        "SecurityGroupIds": {"Ref": "GroupIds"},
                    },
                },
            }
        },
    }
    stack = _deploy(
        emulator, template, "list-parameters", SubnetIds="subnet-0a,subnet-0b", GroupIds="sg-0a"
    )
    assert stack.parameters["SubnetIds"] == "subnet-0a,subnet-0b"  # as the stack reports it
    model = emulator.client("sagemaker").describe_model(ModelName="in-vpc")
    assert model["VpcConfig"] == {
        "Subnets": ["subnet-0a", "subnet-0b"],
        "SecurityGroupIds": ["sg-0a"],
    }


def test_the_service_api_rejects_what_aws_rejects(emulator: Emulator) -> None:
    """A pipeline whose role does not exist: CodePipeline's own API (moto's) says no."""
    template = {
        "Resources": {
            "Pipeline": {
                "Type": "AWS::CodePipeline::Pipeline",
                "Properties": {
                    "Name": "p",
                    "RoleArn": "arn:aws:iam::123456789012:role/missing",
                    "ArtifactStore": {"Type": "S3", "Location": "bucket"},
                    "Stages": [],
                },
            }
        }
    }
    with pytest.raises(ProvisionError, match=r"Pipeline \(AWS::CodePipeline::Pipeline\): .*"):
        _deploy(emulator, template, "bad-pipeline")


def test_the_synthesized_stack_provisions_with_every_type_accounted_for(
    emulator: Emulator, synthesized: Synthesized
) -> None:
    parameters = (
        {"RepositoryOwner": "owner"}
        if "RepositoryOwner" in synthesized.template["Parameters"]
        else {}
    )
    if (
        "CodeConnectionArn" in synthesized.template["Parameters"]
        and not synthesized.settings.codeconnection_arn
    ):
        parameters["CodeConnectionArn"] = (
            "arn:aws:codeconnections:us-east-1:123456789012:connection/12345678-1234-1234-1234-123456789012"
        )
    emulator.client("ssm").put_parameter(
        Name="/cdk-bootstrap/hnb659fds/version", Value="21", Type="String", Overwrite=True
    )
    stack = _deploy(emulator, synthesized.template, "synthesized", **parameters)
    kinds = {r["Type"] for r in synthesized.template["Resources"].values()}
    assert {kind for kind, _, _ in stack.coverage()} == kinds
    codepipeline = emulator.client("codepipeline")
    names = {p["name"] for p in codepipeline.list_pipelines()["pipelines"]}
    assert {stack.outputs["BuildPipelineName"], stack.outputs["DeployPipelineName"]} <= names
    # What the twin resolved is what CloudFormation would: real names, no tokens left.
    for res in stack.of_type("AWS::CodeBuild::Project").values():
        text = str(res.properties)
        assert "Ref" not in text and "Fn::" not in text
    # The jobs' network the twin checks every job against (large): moto's subnet and group ids.
    network = protection.stack_network(
        {k: (r.type, r.physical_id) for k, r in stack.resources.items()}
    )
    if not synthesized.settings.creates_job_vpc:  # no VPC, or the one project.toml [network] gives
        assert network is None
    else:
        assert network is not None and len(network.subnets) == 2
        assert all(s.startswith("subnet-") for s in network.subnets)
        assert [g[:3] for g in network.security_groups] == ["sg-"]


def test_a_mixed_case_project_name_provisions_with_lowercase_where_aws_wants_it(
    emulator: Emulator, synthesized: Synthesized
) -> None:
    """Custom::ProjectName's handler runs in the twin; moto's ECR takes only its lower-case name."""
    parameters = {"SageMakerProjectName": "Churn-Model2"}
    if "RepositoryOwner" in synthesized.template["Parameters"]:
        parameters["RepositoryOwner"] = "owner"
    if (
        "CodeConnectionArn" in synthesized.template["Parameters"]
        and not synthesized.settings.codeconnection_arn
    ):
        parameters["CodeConnectionArn"] = (
            "arn:aws:codeconnections:us-east-1:123456789012:connection/12345678-1234-1234-1234-123456789012"
        )
    emulator.client("ssm").put_parameter(
        Name="/cdk-bootstrap/hnb659fds/version", Value="21", Type="String", Overwrite=True
    )
    stack = _deploy(emulator, synthesized.template, "mixed-case", **parameters)
    (custom,) = stack.of_type("Custom::ProjectName").values()
    assert (custom.how, custom.physical_id) == (TWIN, "churn-model2")
    repositories = emulator.client("ecr").describe_repositories()["repositories"]
    assert "sagemaker-churn-model2" in {r["repositoryName"] for r in repositories}
    groups = emulator.client("sagemaker").list_model_package_groups()[
        "ModelPackageGroupSummaryList"
    ]
    assert "Churn-Model2-manual" in {g["ModelPackageGroupName"] for g in groups}

    DELETERS["Custom::ProjectName"](emulator.client, custom)  # Delete answers SUCCESS
