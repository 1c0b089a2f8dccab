"""endpoint.yml: cfn-lint clean, parameters in step with build-deploy-config, deployable into moto's
CloudFormation for both stages (create, then a blue/green update), and what moto does not model
(alarms, autoscaling, rollback wiring) asserted on the template itself."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.api import ManualArgs, lint
from cfnlint.decode import cfn_yaml

from model_deploy.build import API_OFF, Project, StageTarget, stage_parameters
from model_deploy.stage_config import load as load_stage_config

HERE = Path(__file__).resolve().parents[1]
TEMPLATE = HERE / "endpoint.yml"
STAGES = ("staging", "prod")
ACCOUNT = "123456789012"
ENV = {
    "STAGING_MODEL_EXECUTION_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/model-exec",
    "STAGING_DATA_CAPTURE_URI": "s3://capture-bucket/staging",
    "PROD_MODEL_EXECUTION_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/model-exec",
    "PROD_DATA_CAPTURE_URI": "s3://capture-bucket/prod",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn_yaml.load(str(TEMPLATE))


def parameters(stage: str, package: str, size: str = "medium") -> dict[str, str]:
    project = Project(slug="demo", size=size, owner="ml", project_id="p-1")
    config = load_stage_config(HERE / f"{stage}-config.json")
    return stage_parameters(config, package, StageTarget.from_env(stage, ENV), project)


def test_cfn_lint_has_no_errors_and_no_warnings() -> None:
    matches = lint(TEMPLATE.read_text(encoding="utf-8"), config=ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


@pytest.mark.parametrize("stage", STAGES)
def test_parameters_match_what_the_build_writes(template: dict[str, Any], stage: str) -> None:
    written = parameters(stage, f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/g/1")
    assert set(written) == set(template["Parameters"])


def test_rollback_watches_every_alarm_of_the_template(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    alarms = {name for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    rollback = resources["Endpoint"]["Properties"]["DeploymentConfig"]["AutoRollbackConfiguration"]
    assert {a["AlarmName"]["Ref"] for a in rollback["Alarms"]} == alarms
    metrics = {resources[a]["Properties"]["MetricName"] for a in alarms}
    assert metrics == {"Invocation5XXErrors", "ModelLatency", "InvocationModelErrors"}


def test_autoscaling_tracks_invocations_per_instance(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    target = resources["ScalableTarget"]["Properties"]
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert target["ResourceId"] == {
        "Fn::Sub": "endpoint/${Endpoint.EndpointName}/variant/AllTraffic"
    }
    policy = resources["ScalingPolicy"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert policy["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "SageMakerVariantInvocationsPerInstance"
    )


def test_data_capture_records_input_and_output(template: dict[str, Any]) -> None:
    capture = template["Resources"]["EndpointConfig"]["Properties"]["DataCaptureConfig"]
    assert [o["CaptureMode"] for o in capture["CaptureOptions"]] == ["Input", "Output"]
    assert capture["CaptureContentTypeHeader"]["CsvContentTypes"] == ["text/csv"]


def test_names_fit_sagemaker_limits_for_the_longest_slug() -> None:
    slug = "a" + "-b" * 15 + "c"
    longest = f"{slug}-staging-12345678"
    assert len(longest) <= 63  # ModelName, EndpointConfigName
    assert len(f"{slug}-staging") <= 63  # EndpointName
    assert len(f"{slug}-prod-12345678-shadow") <= 63  # the shadow ModelName (prod only)


def _physical_name(cloudformation: Any, stack: str, output: str) -> str:
    """moto names SageMaker resources itself (it ignores EndpointName & co., which the template
    tests above cover), so resolve them through the stack's outputs (moto 5.2.5's
    DescribeStackResource fails on a stack with a resource whose Condition is false)."""
    outputs = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    return next(o["OutputValue"] for o in outputs if o["OutputKey"] == output).rsplit("/", 1)[-1]


@pytest.mark.parametrize("stage", STAGES)
def test_deploys_and_updates_in_moto(aws: None, stage: str) -> None:
    cloudformation = boto3.client("cloudformation")
    sagemaker = boto3.client("sagemaker")
    body = TEMPLATE.read_text(encoding="utf-8")
    stack = f"demo-{stage}"

    def as_list(values: dict[str, str]) -> list[dict[str, str]]:
        return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]

    def deployed_config() -> dict[str, Any]:
        endpoint = sagemaker.describe_endpoint(
            EndpointName=_physical_name(cloudformation, stack, "EndpointName")
        )
        return sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])

    first = parameters(stage, f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/g/1")
    cloudformation.create_stack(StackName=stack, TemplateBody=body, Parameters=as_list(first))
    status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE"
    created = deployed_config()
    assert (
        created["DataCaptureConfig"]["DestinationS3Uri"] == ENV[f"{stage.upper()}_DATA_CAPTURE_URI"]
    )
    variant = created["ProductionVariants"][0]
    assert variant["VariantName"] == "AllTraffic"
    assert (
        variant["InstanceType"] == load_stage_config(HERE / f"{stage}-config.json")["instance_type"]
    )

    second = parameters(stage, f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/g/2")
    cloudformation.update_stack(StackName=stack, TemplateBody=body, Parameters=as_list(second))
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "UPDATE_COMPLETE"
    deployed = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
    assert deployed["ModelPackageArn"].endswith("/g/2")
    assert deployed["DeploymentId"] != first["DeploymentId"]
    deployed_config()  # still consistent after the update
    # moto keeps the old EndpointConfig on update; on AWS the new DeploymentId in its name forces a
    # replacement, which test_names_carry_the_deployment_id pins on the template.


def test_a_stage_network_reaches_its_models_vpc_config(aws: None) -> None:
    """<STAGE>_SUBNET_IDS / _SECURITY_GROUP_IDS, through the build's parameters, become the Model's
    VpcConfig when the stack deploys (moto); without them the Model has none."""
    cloudformation = boto3.client("cloudformation")
    sagemaker = boto3.client("sagemaker")
    subnets = ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60718"]
    network = {"STAGING_SUBNET_IDS": ",".join(subnets), "STAGING_SECURITY_GROUP_IDS": "sg-0123abcd"}
    project = Project(slug="demo", size="large", owner="ml", project_id="p-1")
    config = load_stage_config(HERE / "staging-config.json")
    package = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/g/1"
    for stack, env in (("in-vpc", {**ENV, **network}), ("no-vpc", ENV)):
        values = stage_parameters(config, package, StageTarget.from_env("staging", env), project)
        cloudformation.create_stack(
            StackName=stack,
            TemplateBody=TEMPLATE.read_text(encoding="utf-8"),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
        )
    model = sagemaker.describe_model(
        ModelName=_physical_name(cloudformation, "in-vpc", "ModelName")
    )
    assert model["VpcConfig"] == {"Subnets": subnets, "SecurityGroupIds": ["sg-0123abcd"]}
    bare = sagemaker.describe_model(ModelName=_physical_name(cloudformation, "no-vpc", "ModelName"))
    assert not bare.get("VpcConfig")  # moto answers {} for a model created without one


def test_names_carry_the_deployment_id(template: dict[str, Any]) -> None:
    """Model and EndpointConfig are immutable: a new DeploymentId must rename (so replace) them,
    while the endpoint keeps its name and shifts traffic blue/green."""
    resources = template["Resources"]
    for logical_id, key in (("Model", "ModelName"), ("EndpointConfig", "EndpointConfigName")):
        assert resources[logical_id]["Properties"][key] == {
            "Fn::Sub": "${SageMakerProjectName}-${StageName}-${DeploymentId}"
        }
    assert resources["Endpoint"]["Properties"]["EndpointName"] == {
        "Fn::Sub": "${SageMakerProjectName}-${StageName}"
    }


def _packaged(body: str) -> str:
    """The template as `aws cloudformation package` leaves it: the handler's folder uploaded, `Code`
    pointing at the object (here a stand-in object; moto stores the code, never runs it)."""
    assert "      Code: api/\n" in body
    return body.replace(
        "      Code: api/\n", "      Code:\n        S3Bucket: artifacts\n        S3Key: api.zip\n"
    )


def test_the_api_deploys_in_moto_when_enabled(aws: None) -> None:
    """The enabled path (the shipped configs leave it off): the REST API, its IAM-authorized POST
    /invocations through the Lambda proxy, the stage's throttling, the function running as the role
    made outside the stack, and the ApiUrl output, as moto's CloudFormation creates them (without
    CAPABILITY_IAM, as the deploy pipeline's actions)."""
    cloudformation = boto3.client("cloudformation")
    role = boto3.client("iam").create_role(
        RoleName="demo-api-handler", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="artifacts")
    s3.put_object(Bucket="artifacts", Key="api.zip", Body=_zip_of(HERE / "api"))
    config = load_stage_config(HERE / "staging-config.json")
    config["api"] = {
        "enabled": True,
        "throttle_rate_limit": 20,
        "throttle_burst_limit": 40,
        "max_body_bytes": 500000,
    }
    project = Project(slug="demo", size="medium", owner="ml", project_id="p-1")
    values = stage_parameters(
        config,
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/g/1",
        StageTarget.from_env("staging", {**ENV, "STAGING_API_HANDLER_ROLE_ARN": role}),
        project,
    )
    assert (values["ApiEnabled"], values["ApiHandlerRoleArn"]) == ("true", role)
    cloudformation.create_stack(
        StackName="demo-staging",
        TemplateBody=_packaged(TEMPLATE.read_text(encoding="utf-8")),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
    )
    stack = cloudformation.describe_stacks(StackName="demo-staging")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    apigateway = boto3.client("apigateway")
    (api,) = apigateway.get_rest_apis()["items"]
    assert outputs["ApiUrl"] == (
        f"https://{api['id']}.execute-api.us-east-1.amazonaws.com/{values['StageName']}"
    )
    resources = apigateway.get_resources(restApiId=api["id"])["items"]
    (invocations,) = [r for r in resources if r["path"] == "/invocations"]
    method = apigateway.get_method(
        restApiId=api["id"], resourceId=invocations["id"], httpMethod="POST"
    )
    assert method["authorizationType"] == "AWS_IAM"
    assert method["methodIntegration"]["type"] == "AWS_PROXY"
    function = boto3.client("lambda").get_function(FunctionName="demo-staging-api")
    settings = function["Configuration"]["Environment"]["Variables"]
    assert str(settings["MAX_BODY_BYTES"]) == "500000"  # moto 5.2.5 keeps the Number as a number
    assert function["Configuration"]["Role"] == role
    # What moto does not model, on the template: the throttling.
    template = cfn_yaml.load(str(TEMPLATE))
    resources_of = template["Resources"]
    (throttle,) = resources_of["ApiDeployment"]["Properties"]["StageDescription"]["MethodSettings"]
    assert throttle["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRateLimit"}
    assert throttle["ThrottlingBurstLimit"] == {"Ref": "ApiThrottleBurstLimit"}


def test_the_template_declares_no_iam_resource(template: dict[str, Any]) -> None:
    """CloudFormation needs CAPABILITY_IAM for a template with IAM resources, and the deploy
    pipeline's actions pass none: the roles (the model's, the API handler's) come in as parameters
    from the infra stack or the target-account bootstrap.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html
    (Capabilities)"""
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert "AWS::SageMaker::Model" in kinds  # the resources were read
    assert sorted(k for k in kinds if k.startswith("AWS::IAM::")) == []


def test_the_api_needs_its_role(template: dict[str, Any]) -> None:
    """ApiEnabled true without ApiHandlerRoleArn is refused (Rules) rather than deployed without an
    API: the role is part of the API's condition, and a rule asserts it when the API is on."""
    assert (
        template["Parameters"]["ApiHandlerRoleArn"]["Default"] == ""
    )  # the twin's deploy: API off
    condition = str(template["Conditions"]["HasApi"])
    assert "ApiEnabled" in condition and "ApiHandlerRoleArn" in condition
    (rule,) = template["Rules"].values()
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "ApiEnabled"}, "true"]}
    (assertion,) = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ApiHandlerRoleArn"}, ""]}]}


def test_every_api_resource_is_behind_the_api_condition(template: dict[str, Any]) -> None:
    """ApiEnabled=false (the shipped default) leaves the stack exactly as it was without the API."""
    api = {k for k, r in template["Resources"].items() if k.startswith("Api")}
    assert len(api) == 7
    assert {template["Resources"][k].get("Condition") for k in api} == {"HasApi"}
    assert template["Outputs"]["ApiUrl"]["Condition"] == "HasApi"
    others = {k: r for k, r in template["Resources"].items() if k not in api}
    assert not any(f"'{name}'" in str(others) for name in api)  # nothing else refers to them


def _zip_of(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.glob("*.py")):
            archive.write(path, path.name)
    return buffer.getvalue()


def test_a_stage_without_an_api_block_gets_the_templates_api_defaults(
    template: dict[str, Any],
) -> None:
    """build.API_OFF stands for a missing `api` block: the values the template defaults to."""
    defaults = {
        name: template["Parameters"][parameter]["Default"]
        for name, parameter in (
            ("enabled", "ApiEnabled"),
            ("throttle_rate_limit", "ApiThrottleRateLimit"),
            ("throttle_burst_limit", "ApiThrottleBurstLimit"),
            ("max_body_bytes", "ApiMaxBodyBytes"),
        )
    }
    assert {name: str(value).lower() for name, value in API_OFF.items()} == {
        name: str(value) for name, value in defaults.items()
    }
