"""The cleanup custom resource in the synthesized template: its code is the handler module, it is
told the project's own pipelines and stacks, it answers within a bounded time, and CloudFormation's
deletion order runs it after what starts deploys and before the roles it needs."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Synthesized

from project_infra.cleanup import FUNCTION_TIMEOUT, RESOURCE_TYPE, STARTERS, handler_source
from project_infra.parameters import HAND_DEPLOY_PROJECT_ID

STARTER_TYPES = ("AWS::CodePipeline::Pipeline", "AWS::Scheduler::Schedule", "AWS::Events::Rule")


@pytest.fixture(scope="module")
def cleanup(synthesized: Synthesized) -> tuple[str, dict[str, Any]]:
    (found,) = synthesized.resources(RESOURCE_TYPE).items()
    return found


def _depends(body: dict[str, Any]) -> set[str]:
    depends = body.get("DependsOn", [])
    return {depends} if isinstance(depends, str) else set(depends)


def _function(synthesized: Synthesized, cleanup: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    logical = cleanup[1]["Properties"]["ServiceToken"]["Fn::GetAtt"]
    assert logical[1] == "Arn"
    return synthesized.template["Resources"][logical[0]]


def test_the_function_runs_the_handler_module_inline(
    synthesized: Synthesized, cleanup: tuple[str, dict[str, Any]]
) -> None:
    function = _function(synthesized, cleanup)["Properties"]
    assert function["Code"] == {"ZipFile": handler_source()}  # no asset: a Studio product has none
    assert function["Handler"] == "index.handler"
    assert function["Runtime"].startswith("python3.")


def test_cloudformation_stops_waiting_soon_after_the_function_times_out(
    synthesized: Synthesized, cleanup: tuple[str, dict[str, Any]]
) -> None:
    timeout = _function(synthesized, cleanup)["Properties"]["Timeout"]
    assert timeout == FUNCTION_TIMEOUT.to_seconds() == 900
    assert timeout < int(cleanup[1]["Properties"]["ServiceTimeout"]) <= timeout + 120


def test_it_is_told_the_projects_pipelines_and_endpoint_stacks(
    synthesized: Synthesized, cleanup: tuple[str, dict[str, Any]]
) -> None:
    names = synthesized.settings.names(HAND_DEPLOY_PROJECT_ID)
    properties = synthesized.resolver.resolve(cleanup[1]["Properties"])
    expected = [names.build_pipeline, names.batch_pipeline]
    if synthesized.settings.monitored:
        expected.append(names.monitoring_pipeline)
    assert properties["Pipelines"] == expected
    stacks = {s["StackName"]: s["RoleArn"] for s in properties["Stacks"]}
    project = synthesized.lowercase_name
    if synthesized.settings.account_layout == "multi":
        settings = synthesized.settings
        assert stacks == {
            names.deploy_stack("staging"): (
                f"arn:aws:iam::{settings.staging_account}:role/{project}-pipeline-action"
            ),
            names.deploy_stack("prod"): (
                f"arn:aws:iam::{settings.prod_account}:role/{project}-pipeline-action"
            ),
        }
    else:
        assert stacks == {names.deploy_stack("staging"): "", names.deploy_stack("prod"): ""}


def test_what_starts_deploys_and_runs_is_deleted_before_it(
    synthesized: Synthesized, cleanup: tuple[str, dict[str, Any]]
) -> None:
    assert {t.CFN_RESOURCE_TYPE_NAME for t in STARTERS} == set(STARTER_TYPES)
    starters = {
        logical: body
        for logical, body in synthesized.template["Resources"].items()
        if body["Type"] in STARTER_TYPES
    }
    expected = set(STARTER_TYPES)
    if synthesized.settings.ci.external:  # GitHub Actions / GitLab CI: no CodePipeline here
        expected -= {"AWS::CodePipeline::Pipeline"}
    assert {body["Type"] for body in starters.values()} == expected
    assert {k for k, body in starters.items() if cleanup[0] not in _depends(body)} == set()


def _roles_deploying_stacks(synthesized: Synthesized) -> set[str]:
    return {
        logical
        for logical, body in synthesized.resources("AWS::IAM::Role").items()
        if "cloudformation.amazonaws.com" in str(body["Properties"]["AssumeRolePolicyDocument"])
    }


def test_the_roles_it_deletes_with_outlive_it(
    synthesized: Synthesized, cleanup: tuple[str, dict[str, Any]]
) -> None:
    depends = _depends(cleanup[1])
    function = _function(synthesized, cleanup)
    own_role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    assert own_role in depends
    policies = {
        logical
        for logical, body in synthesized.resources("AWS::IAM::Policy").items()
        if {"Ref": own_role} in body["Properties"]["Roles"]
    }
    assert len(policies) == 2 and policies <= depends  # the grants, and the log group's
    deploying = _roles_deploying_stacks(synthesized)
    if synthesized.settings.account_layout == "multi":
        assert deploying == set()  # the target accounts' cfn-exec roles (bootstrap) outlive it
    else:
        assert len(deploying) == 2 and deploying <= depends


def _statements(synthesized: Synthesized, role: str) -> list[dict[str, Any]]:
    found = []
    for body in synthesized.resources("AWS::IAM::Policy").values():
        if {"Ref": role} in body["Properties"]["Roles"]:
            found += body["Properties"]["PolicyDocument"]["Statement"]
    return found


def test_its_role_can_do_only_the_cleanup(
    synthesized: Synthesized, cleanup: tuple[str, dict[str, Any]]
) -> None:
    role = _function(synthesized, cleanup)["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = _statements(synthesized, role)
    actions = set()
    for statement in statements:
        listed = statement["Action"]
        actions |= {listed} if isinstance(listed, str) else set(listed)
        resources = statement["Resource"]
        assert "*" not in (resources if isinstance(resources, list) else [resources])
    multi = synthesized.settings.account_layout == "multi"
    expected = {
        "cloudformation:DescribeStacks",
        "sagemaker:ListPipelineExecutions",
        "sagemaker:DescribePipeline",
        "sagemaker:DeletePipeline",
        "sagemaker:StopPipelineExecution",
        "sagemaker:DescribePipelineExecution",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        *(["sts:AssumeRole"] if multi else ["cloudformation:DeleteStack", "iam:PassRole"]),
    }
    assert actions == expected
