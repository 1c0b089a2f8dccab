"""The twin's Custom::ProjectCleanup and stack deletion: the handler runs in-process on Create (touching
nothing) and on Delete, after what depends on it and before moto's part; retained resources stay."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from project_infra import cleanup_handler
from project_infra.cleanup import handler_source
from project_infra.twin import cleanup
from project_infra.twin.emulator import TOOLING_ACCOUNT, Emulator
from project_infra.twin.interpreters import DELETERS, INTERPRETERS, NOT_EMULATED
from project_infra.twin.provision import TWIN, Stack, deploy

REGION = "us-east-1"
PIPELINE = "demo-p-1-model-build"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}},
        "Function": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.14",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": handler_source()},
            },
        },
        "Cleanup": {
            "Type": "Custom::ProjectCleanup",
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": ["Function", "Arn"]},
                "Pipelines": [PIPELINE],
                "Stacks": [],
            },
        },
        "Schedule": {
            "Type": "AWS::Scheduler::Schedule",
            "DependsOn": ["Cleanup"],
            "Properties": {
                "ScheduleExpression": "rate(1 day)",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "Target": {
                    "Arn": f"arn:aws:sagemaker:{REGION}:{TOOLING_ACCOUNT}:pipeline/{PIPELINE}",
                    "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                },
            },
        },
        "Group": {
            "Type": "AWS::SageMaker::ModelPackageGroup",
            "DeletionPolicy": "Retain",
            "Properties": {"ModelPackageGroupName": "demo-p-1"},
        },
    }
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    started = Emulator(REGION).start()
    yield started
    started.stop()


def _deploy(emulator: Emulator, template: dict[str, Any], name: str) -> Stack:
    return deploy(
        template,
        stack_name=name,
        parameters={},
        clients=emulator.client,
        account=TOOLING_ACCOUNT,
        region=REGION,
        interpreters=INTERPRETERS,
        not_emulated=NOT_EMULATED,
    )


def _delete(
    emulator: Emulator, stack: Stack, template: dict[str, Any], log: Callable[[str], None]
) -> list[str]:
    """The project's deletion of ``stack`` as the twin's last stage runs it."""
    return cleanup.delete_stack(
        stack,
        template,
        emulator.client,
        cleanup.handler_clients(emulator, {}, DELETERS),
        deleters=DELETERS,
        log=log,
    )


def test_create_runs_the_handler_and_delete_cleans_up_in_cloudformations_order(
    emulator: Emulator,
) -> None:
    stack = _deploy(emulator, TEMPLATE, "demo-cicd")
    res = stack.resources["Cleanup"]
    assert res.how == TWIN
    assert res.physical_id.startswith("Cleanup-")  # what the handler answered Create
    assert "same module" in res.note
    # CodeBuild upserts the pipeline after the stack exists.
    emulator.client("sagemaker").create_pipeline(
        PipelineName=PIPELINE,
        PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
        RoleArn=f"arn:aws:iam::{TOOLING_ACCOUNT}:role/pipeline",
    )
    order: list[str] = []

    retained = _delete(emulator, stack, TEMPLATE, order.append)

    assert retained == ["AWS::SageMaker::ModelPackageGroup demo-p-1"]
    assert order == [f"  Cleanup Delete: deleted SageMaker pipeline {PIPELINE}"]
    assert emulator.client("sagemaker").list_pipelines()["PipelineSummaries"] == []
    assert emulator.client("scheduler").list_schedules()["Schedules"] == []
    emulator.client("sagemaker").describe_model_package_group(ModelPackageGroupName="demo-p-1")
    stacks = emulator.client("cloudformation").list_stacks()["StackSummaries"]
    assert {s["StackStatus"] for s in stacks if s["StackName"] == "demo-cicd"} == {
        "DELETE_COMPLETE"
    }


def test_a_failed_cleanup_stops_the_deletion_with_its_reason(emulator: Emulator) -> None:
    template = json.loads(json.dumps(TEMPLATE))
    template["Resources"]["Cleanup"]["Properties"]["Stacks"] = [
        {"StackName": "sagemaker-demo-deploy-prod", "RoleArn": "not-an-arn"}
    ]
    stack = _deploy(emulator, template, "demo-failing")

    with pytest.raises(cleanup.CleanupError, match="NOT deleted stack sagemaker-demo-deploy-prod"):
        _delete(emulator, stack, template, lambda _line: None)


STAGE_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Model": {
            "Type": "AWS::SageMaker::Model",
            "Properties": {
                "ModelName": "demo-prod-model",
                "ExecutionRoleArn": f"arn:aws:iam::{TOOLING_ACCOUNT}:role/model-exec",
                "PrimaryContainer": {
                    "Image": f"{TOOLING_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/x:1"
                },
            },
        },
        "Config": {
            "Type": "AWS::SageMaker::EndpointConfig",
            "Properties": {
                "EndpointConfigName": "demo-prod-config",
                "ProductionVariants": [
                    {
                        "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                        "VariantName": "AllTraffic",
                        "InitialInstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                    }
                ],
            },
        },
        "Endpoint": {
            "Type": "AWS::SageMaker::Endpoint",
            "Properties": {
                "EndpointName": "demo-prod",
                "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]},
            },
        },
    }
}


def test_the_handlers_delete_stack_deletes_both_parts_of_a_stage_stack(emulator: Emulator) -> None:
    """The twin creates a stage stack's SageMaker resources itself: CloudFormation's DeleteStack,
    as the handler calls it in the twin, deletes them too (and the twin keeps its record)."""
    stage = _deploy(emulator, STAGE_TEMPLATE, "sagemaker-demo-deploy-prod")
    deployed = {stage.name: stage}
    sagemaker = emulator.client("sagemaker")
    assert [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]] == ["demo-prod"]
    clients = cleanup.handler_clients(emulator, deployed, DELETERS)
    properties = {"Stacks": [{"StackName": stage.name, "RoleArn": ""}]}

    outcome = cleanup_handler.cleanup(properties, clients, float("inf"), sleep=lambda _: None)

    assert outcome.deleted == [f"stack {stage.name}"]
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.list_models()["Models"] == []
    assert deployed == {stage.name: stage}


def test_every_type_the_twin_creates_through_the_apis_it_can_delete() -> None:
    """Deleting the project (and redeploying a stage stack) deletes what the twin created itself;
    a type it can create but not delete fails the flow's last stage only."""
    deletable = set(DELETERS) | set(cleanup.CICD_DELETERS) | {cleanup.RESOURCE_TYPE}
    # DeletionPolicy Retain: the registry's versions outlive the project (deletion.py checks it).
    retained = {"AWS::SageMaker::ModelPackageGroup"}
    assert sorted(set(INTERPRETERS) - deletable - retained) == []


def test_a_stack_with_a_private_vpc_and_its_endpoints_is_deleted_whole(emulator: Emulator) -> None:
    """The large jobs' network as CDK declares it (subnet, route table and its association, an S3
    gateway endpoint on that table, an interface endpoint): the project's deletion leaves no VPC,
    although moto's own DeleteStack keeps the endpoints and route tables."""
    vpc = {"Ref": "Vpc"}
    template: dict[str, Any] = {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.64.0.0/16"}},
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": vpc, "CidrBlock": "10.64.0.0/20"},
            },
            "Table": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": vpc}},
            "Association": {
                "Type": "AWS::EC2::SubnetRouteTableAssociation",
                "Properties": {"SubnetId": {"Ref": "Subnet"}, "RouteTableId": {"Ref": "Table"}},
            },
            "Group": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {"GroupDescription": "endpoints", "VpcId": vpc},
            },
            "S3": {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {
                    "ServiceName": f"com.amazonaws.{REGION}.s3",
                    "VpcEndpointType": "Gateway",
                    "VpcId": vpc,
                    "RouteTableIds": [{"Ref": "Table"}],
                },
            },
            "Api": {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {
                    "ServiceName": f"com.amazonaws.{REGION}.sagemaker.api",
                    "VpcEndpointType": "Interface",
                    "VpcId": vpc,
                    "SubnetIds": [{"Ref": "Subnet"}],
                    "SecurityGroupIds": [{"Fn::GetAtt": ["Group", "GroupId"]}],
                },
            },
        }
    }
    stack = _deploy(emulator, template, "demo-network")
    vpc_id = stack.resources["Vpc"].physical_id
    ec2 = emulator.client("ec2")
    _delete(emulator, stack, template, lambda _line: None)
    assert vpc_id not in {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
