"""The role CloudFormation deploys a stage's endpoint stack as: ``roles.deployment_statements`` (stages
in the tooling account) and the ``cfn-exec`` role of ``bootstrap/target-account.yml`` (stages in their
own accounts) grant the same, and both cover the calls CloudFormation makes for the resources of
``model-deploy/endpoint.yml``'s API front door (each type's resource schema, as cfn-lint ships it).
The API handler's role comes from outside the endpoint stack in both layouts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam
from cfnlint.decode import cfn_yaml
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from conftest import Synthesized

from project_infra import artifacts, roles
from project_infra.settings import Settings
from project_infra.synth_checks import lint_errors
from project_infra.twin.intrinsics import evaluate_conditions
from project_names import Names

PROJECT = Path(__file__).resolve().parents[2]
BOOTSTRAP = PROJECT / "infra" / "bootstrap" / "target-account.yml"
ENDPOINT = PROJECT / "model-deploy" / "endpoint.yml"
ACCOUNT = "123456789012"
BUCKET = "artifact-bucket"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"
# What the two copies may grant differently, and why.
BOOTSTRAP_ONLY_ACTIONS = {
    # A target account's first scalable target creates autoscaling's service-linked role; in the
    # tooling account the stack's own role is not given it.
    "iam:CreateServiceLinkedRole",
}
# Handler permissions for properties endpoint.yml does not set (CloudFormation calls them only then).
UNUSED_FEATURES = {
    # KmsKeyId, DataProtectionPolicy, FieldIndexPolicies, ResourcePolicyDocument, DeletionProtection,
    # BearerTokenAuthenticationEnabled, log delivery
    "logs:AssociateKmsKey",
    "logs:DisassociateKmsKey",
    "logs:PutDataProtectionPolicy",
    "logs:DeleteDataProtectionPolicy",
    "logs:PutIndexPolicy",
    "logs:DeleteIndexPolicy",
    "logs:PutResourcePolicy",
    "logs:DeleteResourcePolicy",
    "logs:PutLogGroupDeletionProtection",
    "logs:PutBearerTokenAuthentication",
    "logs:CreateLogDelivery",
    "s3:REST.PUT.OBJECT",
    "firehose:TagDeliveryStream",
    # ReservedConcurrentExecutions, VpcConfig, FileSystemConfigs, KmsKeyArn, CodeSigningConfigArn,
    # Layers, RuntimeManagementConfig, RecursiveLoop, capacity providers, S3ObjectVersion, versions
    "lambda:PutFunctionConcurrency",
    "lambda:DeleteFunctionConcurrency",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ec2:DescribeNetworkInterfaces",
    "elasticfilesystem:DescribeMountTargets",
    "s3files:ListMountTargets",
    "kms:CreateGrant",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "lambda:GetCodeSigningConfig",
    "lambda:PutFunctionCodeSigningConfig",
    "lambda:DeleteFunctionCodeSigningConfig",
    "lambda:GetLayerVersion",
    "lambda:PutRuntimeManagementConfig",
    "lambda:PutFunctionRecursionConfig",
    "lambda:PutFunctionScalingConfig",
    "lambda:PassCapacityProvider",
    "lambda:AssociateRuntimeAlias",
    "lambda:PublishVersion",
    "s3:GetObjectVersion",
    # RestApi Policy
    "apigateway:UpdateRestApiPolicy",
}


def _load(path: Path) -> dict[str, Any]:
    return cfn_yaml.load(str(path))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


Grant = tuple[str, str, str]  # (action, resource, condition as JSON)


def _grants(statements: list[dict[str, Any]], resolve: Any) -> set[Grant]:
    return {
        (action, resolve(resource), json.dumps(statement.get("Condition", {}), sort_keys=True))
        for statement in statements
        for action in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
    }


def _single_grants(settings: Settings) -> set[Grant]:
    """``roles.deployment_statements`` resolved with plain values (a throwaway stack)."""
    stack = Stack(App(), "Check", env=Environment(account=ACCOUNT, region=settings.region))
    names = Names(settings.slug.lower())
    shared = artifacts.create(stack, settings, names)
    role = f"arn:aws:iam::{ACCOUNT}:role/{names.lowercase}"
    model = iam.Role.from_role_arn(stack, "Model", f"{role}-model-exec", mutable=False)
    api = iam.Role.from_role_arn(stack, "Api", f"{role}-api-handler", mutable=False)
    statements = [
        stack.resolve(s.to_statement_json())
        for s in roles.deployment_statements(names, model, api, shared)
    ]
    logical = {
        stack.resolve(shared.bucket.bucket_arn)["Fn::GetAtt"][0]: f"arn:aws:s3:::{BUCKET}",
        stack.resolve(shared.key.key_arn)["Fn::GetAtt"][0]: KEY,
    }
    pseudo = {"AWS::Partition": "aws", "AWS::Region": settings.region, "AWS::AccountId": ACCOUNT}

    def resolve(value: Any) -> str:
        if isinstance(value, str):
            return value
        ((function, argument),) = value.items()
        if function == "Ref":
            return pseudo[argument]
        if function == "Fn::GetAtt":
            return logical[argument[0]]
        assert function == "Fn::Join", value
        return argument[0].join(resolve(part) for part in argument[1])

    return _grants(statements, resolve)


def _bootstrap_grants(settings: Settings) -> set[Grant]:
    """The cfn-exec role's policy of target-account.yml, resolved for the same values."""
    template = _load(BOOTSTRAP)
    resources = template["Resources"]
    values = {
        "AWS::Partition": "aws",
        "AWS::Region": settings.region,
        "AWS::AccountId": ACCOUNT,
        "ToolingAccountId": ACCOUNT,
        "ProjectName": settings.slug.lower(),
        "ArtifactBucketName": BUCKET,
        "ArtifactKeyArn": KEY,
    }

    def sub(text: str) -> str:
        return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], text)

    def resolve(value: Any) -> str:
        if isinstance(value, str):
            return value
        ((function, argument),) = value.items()
        if function == "Fn::Sub":
            return sub(argument)
        if function == "Ref":
            return values[argument]
        assert function == "Fn::GetAtt" and argument[1] == "Arn", value
        name = resources[argument[0]]["Properties"]["RoleName"]
        return f"arn:aws:iam::{ACCOUNT}:role/{resolve(name)}"

    (policy,) = resources["CloudFormationExecutionRole"]["Properties"]["Policies"]
    return _grants(policy["PolicyDocument"]["Statement"], resolve)


def _model_packages(grants: set[Grant]) -> set[Grant]:
    """The bootstrap knows the project's name but not its id: the group's packages by name prefix."""
    return {g for g in grants if ":model-package/" in g[1]}


@pytest.mark.skipif(not BOOTSTRAP.is_file(), reason="single-account layout: no bootstrap template")
def test_the_bootstrap_cfn_exec_role_grants_what_the_single_layout_grants(
    synthesized: Synthesized,
) -> None:
    single = _single_grants(synthesized.settings)
    bootstrap = _bootstrap_grants(synthesized.settings)
    only_bootstrap = {g for g in bootstrap - single if g[0] not in BOOTSTRAP_ONLY_ACTIONS}
    only_single = single - bootstrap
    assert _model_packages(only_bootstrap) and _model_packages(only_single)
    assert only_bootstrap - _model_packages(only_bootstrap) == set()
    assert only_single - _model_packages(only_single) == set()


def _api_types() -> set[str]:
    template = _load(ENDPOINT)
    return {r["Type"] for r in template["Resources"].values() if r.get("Condition") == "HasApi"}


def _handler_calls(kind: str, region: str) -> set[str]:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, kind).schema
    return {
        permission
        for handler, spec in schema["handlers"].items()
        if handler != "list"  # a stack operation never lists a type
        for permission in spec["permissions"]
    }


def test_the_api_resources_are_the_expected_types() -> None:
    assert _api_types() == {
        "AWS::Logs::LogGroup",
        "AWS::Lambda::Function",
        "AWS::Lambda::Permission",
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Resource",
        "AWS::ApiGateway::Method",
        "AWS::ApiGateway::Deployment",
    }


def test_the_stage_role_may_make_every_call_of_the_api_resources(synthesized: Synthesized) -> None:
    """Every permission CloudFormation's handlers declare for the API's types, except those of
    properties endpoint.yml does not set, is granted (by both copies when both exist)."""
    settings = synthesized.settings
    needed = set().union(*(_handler_calls(k, settings.region) for k in _api_types()))
    needed -= UNUSED_FEATURES
    copies = [_single_grants(settings)]
    if BOOTSTRAP.is_file():
        copies.append(_bootstrap_grants(settings))
    for grants in copies:
        assert needed - {action for action, _, _ in grants} == set()


def test_the_code_the_stage_role_reads_is_the_deploy_builds_upload() -> None:
    """Lambda reads the packaged handler from where model-deploy/ci/build-config.sh uploads it
    (``--s3-prefix "${SAGEMAKER_PROJECT_NAME}/model-deploy"``), which the grants' "*/model-deploy/*"
    matches whatever the name's case."""
    script = (PROJECT / "model-deploy" / "ci" / "build-config.sh").read_text(encoding="utf-8")
    assert '--s3-prefix "${SAGEMAKER_PROJECT_NAME}/model-deploy"' in script


def test_the_api_handler_role_comes_from_outside_the_endpoint_stack(
    codepipeline_synthesized: Synthesized,
) -> None:
    """The deploy build gets each stage's handler role (<STAGE>_API_HANDLER_ROLE_ARN): the bootstrap's
    <project>-api-handler in a stage account, else this stack's role, trusted by Lambda, that may
    invoke the project's endpoints and write the handlers' log groups only."""
    (build,) = [
        p
        for p in codepipeline_synthesized.resources("AWS::CodeBuild::Project").values()
        if p["Properties"]["Source"]["BuildSpec"] == "model-deploy/buildspec.yml"
    ]
    variables = {
        v["Name"]: v["Value"] for v in build["Properties"]["Environment"]["EnvironmentVariables"]
    }
    settings = codepipeline_synthesized.settings
    name = codepipeline_synthesized.lowercase_name
    if BOOTSTRAP.is_file():
        for stage, account in (
            ("STAGING", settings.staging_account),
            ("PROD", settings.prod_account),
        ):
            arn = codepipeline_synthesized.resolver.resolve(
                variables[f"{stage}_API_HANDLER_ROLE_ARN"]
            )
            assert arn == f"arn:aws:iam::{account}:role/{name}-api-handler"
        bootstrap = _load(BOOTSTRAP)["Resources"]["ApiHandlerRole"]["Properties"]
        principal = bootstrap["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        assert principal == {"Service": "lambda.amazonaws.com"}
        (policy,) = bootstrap["Policies"]
        statements = policy["PolicyDocument"]["Statement"]
        resources = [
            r["Fn::Sub"].replace("${ProjectName}", name) for s in statements for r in s["Resource"]
        ]
        assert [s["Action"] for s in statements] == [
            "sagemaker:InvokeEndpoint",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
        ]
    else:
        (role_id,) = [
            k for k in codepipeline_synthesized.resources("AWS::IAM::Role") if "ApiHandlerRole" in k
        ]
        for stage in ("STAGING", "PROD"):
            assert variables[f"{stage}_API_HANDLER_ROLE_ARN"] == {"Fn::GetAtt": [role_id, "Arn"]}
        role = codepipeline_synthesized.template["Resources"][role_id]["Properties"]
        principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        assert principal == {"Service": "lambda.amazonaws.com"}
        (policy,) = [
            p
            for p in codepipeline_synthesized.resources("AWS::IAM::Policy").values()
            if p["Properties"]["Roles"] == [{"Ref": role_id}]
        ]
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert [s["Action"] for s in statements] == [
            "sagemaker:InvokeEndpoint",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
        ]
        resources = [
            codepipeline_synthesized.resolver.resolve(r)
            for s in statements
            for r in _as_list(s["Resource"])
        ]
    endpoints = [r for r in resources if ":endpoint/" in r]
    log_groups = [r for r in resources if ":log-group:" in r]
    assert [e.rsplit("/", 1)[1] for e in endpoints] == [f"{name}-staging", f"{name}-prod"]
    assert [g.rsplit(":log-group:", 1)[1] for g in log_groups] == [
        f"/aws/lambda/{name}-staging-api:*",
        f"/aws/lambda/{name}-prod-api:*",
    ]


# -- the endpoint's VPC in a stage account (project.toml [network.<stage>], bootstrap parameters) ----

NETWORK_PARAMETERS = ("EndpointVpcId", "EndpointSubnetIds", "EndpointSecurityGroupIds")
VPC = "vpc-0b1b2c3d4e5f60718"
SUBNETS = ["subnet-0b1b2c3d4e5f60719", "subnet-0b1b2c3d4e5f6071a"]
GROUPS = ["sg-0b1b2c3d4e5f6071c"]
needs_bootstrap = pytest.mark.skipif(
    not BOOTSTRAP.is_file(), reason="single-account layout: no bootstrap template"
)


@needs_bootstrap
def test_the_bootstrap_lints_clean(synthesized: Synthesized) -> None:
    assert lint_errors(BOOTSTRAP, synthesized.settings.region) == []


@needs_bootstrap
@pytest.mark.parametrize(
    ("given", "network"),
    [
        ({}, False),  # the defaults: no VPC
        (
            {
                "EndpointVpcId": VPC,
                "EndpointSubnetIds": SUBNETS,
                "EndpointSecurityGroupIds": GROUPS,
            },
            True,
        ),
        ({"EndpointVpcId": VPC}, False),
        ({"EndpointSubnetIds": SUBNETS, "EndpointSecurityGroupIds": GROUPS}, False),
    ],
)
def test_the_bootstrap_model_role_gets_network_permissions_only_with_a_vpc(
    given: dict[str, Any], network: bool
) -> None:
    template = _load(BOOTSTRAP)
    parameters = template["Parameters"]
    defaults = {
        name: [""] if parameters[name]["Type"] == "CommaDelimitedList" else ""
        for name in NETWORK_PARAMETERS
    }
    assert all(parameters[name]["Default"] == "" for name in NETWORK_PARAMETERS)
    conditional = [
        key for key, r in template["Resources"].items() if r.get("Condition") == "HasEndpointVpc"
    ]
    assert conditional == ["ModelExecutionNetworkPolicy"]
    # The twin's evaluator of CloudFormation conditions (what `make twin` deploys with).
    conditions = evaluate_conditions(template, (defaults | given).__getitem__)
    assert conditions["HasEndpointVpc"] is network


@needs_bootstrap
def test_the_bootstrap_network_policy_is_the_single_layouts_scoped_to_the_given_ids(
    synthesized: Synthesized,
) -> None:
    """The statements of roles.network_interface_access, on the bootstrap's model-exec role: the
    subnets and groups through their ID condition keys, the interfaces' permissions in the VPC."""
    template = _load(BOOTSTRAP)
    policy = template["Resources"]["ModelExecutionNetworkPolicy"]["Properties"]
    assert policy["RoleName"] == {"Ref": "ModelExecutionRole"}
    values = {
        "AWS::Partition": "aws",
        "AWS::Region": synthesized.settings.region,
        "AWS::AccountId": ACCOUNT,
        "EndpointVpcId": VPC,
    }

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
            return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], value["Fn::Sub"])
        if isinstance(value, dict) and set(value) == {"Ref"}:
            return {"EndpointSubnetIds": SUBNETS, "EndpointSecurityGroupIds": GROUPS}[value["Ref"]]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    statements = [resolve(s) for s in policy["PolicyDocument"]["Statement"]]
    ec2 = f"arn:aws:ec2:{synthesized.settings.region}:{ACCOUNT}"
    grants = {
        (action, resolve(statement["Resource"]), json.dumps(statement.get("Condition", {})))
        for statement in statements
        for action in _as_list(statement["Action"])
    }
    assert grants == {
        *((action, "*", "{}") for action in roles.NETWORK_DESCRIBE_ACTIONS),
        ("ec2:CreateNetworkInterface", f"{ec2}:network-interface/*", "{}"),
        (
            "ec2:CreateNetworkInterface",
            f"{ec2}:subnet/*",
            json.dumps({"StringEquals": {"ec2:SubnetID": SUBNETS}}),
        ),
        (
            "ec2:CreateNetworkInterface",
            f"{ec2}:security-group/*",
            json.dumps({"StringEquals": {"ec2:SecurityGroupID": GROUPS}}),
        ),
        *(
            (
                action,
                f"{ec2}:network-interface/*",
                json.dumps({"ArnEqualsIfExists": {"ec2:Vpc": f"{ec2}:vpc/{VPC}"}}),
            )
            for action in (
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            )
        ),
    }
