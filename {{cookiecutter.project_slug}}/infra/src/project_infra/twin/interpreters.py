"""The resource types moto's CloudFormation does not create, created by the twin through the
service's own API in moto from the template's resolved properties (so the emulator holds them and
rejects what the API rejects), and the few that nothing emulates, with the reason."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from project_infra.cleanup_handler import RESOURCE_TYPE as CLEANUP
from project_infra.project_name_handler import RESOURCE_TYPE as PROJECT_NAME
from project_infra.twin import cleanup, project_name
from project_infra.twin.provision import ProvisionError, Resource, Stack

Clients = Callable[[str], Any]


SCALARS: dict[str, Callable[[str], Any]] = {
    "integer": int,
    "long": int,
    "float": float,
    "double": float,
    "boolean": lambda text: text.lower() == "true",
}


def _coerce(shape: Any, value: Any) -> Any:
    """A template value in the type the API's shape wants: CloudFormation passes parameters as
    strings and converts them by the resource schema; the API's own shape is the same contract."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {
            k: _coerce(shape.members[k], v) if k in shape.members else v for k, v in value.items()
        }
    if kind == "list" and isinstance(value, list):
        return [_coerce(shape.member, v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _coerce(shape.value, v) for k, v in value.items()}
    if isinstance(value, str) and kind in SCALARS:
        return SCALARS[kind](value)
    return value


def call(clients: Clients, service: str, operation: str, **params: Any) -> Any:
    """``client.<operation>(**params)`` with the values converted to the operation's input shape."""
    client = clients(service)
    name = client.meta.method_to_api_mapping[operation]
    shape = client.meta.service_model.operation_model(name).input_shape
    return getattr(client, operation)(**_coerce(shape, params))


def _tags(
    properties: dict[str, Any], key: str = "Key", value: str = "Value"
) -> list[dict[str, str]]:
    return [{key: t["Key"], value: t["Value"]} for t in properties.get("Tags", [])]


def model_package_group(clients: Clients, res: Resource, _stack: Stack) -> str:
    p = res.properties
    call(
        clients,
        "sagemaker",
        "create_model_package_group",
        ModelPackageGroupName=res.physical_id,
        ModelPackageGroupDescription=p.get("ModelPackageGroupDescription", ""),
        Tags=_tags(p),
    )
    return "CreateModelPackageGroup (the group policy is not enforced)"


def codebuild_project(clients: Clients, res: Resource, _stack: Stack) -> str:
    p = res.properties
    env = p["Environment"]
    call(
        clients,
        "codebuild",
        "create_project",
        name=res.physical_id,
        # moto 5.2.5 wants a location even for CODEPIPELINE sources, which AWS does not.
        source={
            "type": p["Source"]["Type"],
            "buildspec": p["Source"].get("BuildSpec", ""),
            "location": p["Source"].get("Location", "CODEPIPELINE"),
        },
        artifacts={"type": p["Artifacts"]["Type"], "location": "CODEPIPELINE"},
        environment={
            "type": env["Type"],
            "image": env["Image"],
            "computeType": env["ComputeType"],
            "privilegedMode": bool(env.get("PrivilegedMode", False)),
            "environmentVariables": [
                {"name": v["Name"], "value": str(v["Value"]), "type": v.get("Type", "PLAINTEXT")}
                for v in env.get("EnvironmentVariables", [])
            ],
        },
        serviceRole=p["ServiceRole"],
    )
    return "CreateProject; builds run by the twin's buildspec runner"


def codepipeline_pipeline(clients: Clients, res: Resource, _stack: Stack) -> str:
    p = res.properties
    stages = [
        {
            "name": s["Name"],
            "actions": [
                {
                    "name": a["Name"],
                    "actionTypeId": {
                        "category": a["ActionTypeId"]["Category"],
                        "owner": a["ActionTypeId"]["Owner"],
                        "provider": a["ActionTypeId"]["Provider"],
                        "version": a["ActionTypeId"]["Version"],
                    },
                    "runOrder": a.get("RunOrder", 1),
                    "configuration": {k: str(v) for k, v in a.get("Configuration", {}).items()},
                    "inputArtifacts": [{"name": i["Name"]} for i in a.get("InputArtifacts", [])],
                    "outputArtifacts": [{"name": o["Name"]} for o in a.get("OutputArtifacts", [])],
                    **({"roleArn": a["RoleArn"]} if a.get("RoleArn") else {}),
                    **({"namespace": a["Namespace"]} if a.get("Namespace") else {}),
                }
                for a in s["Actions"]
            ],
        }
        for s in p["Stages"]
    ]
    store = p["ArtifactStore"]
    call(
        clients,
        "codepipeline",
        "create_pipeline",
        pipeline={
            "name": res.physical_id,
            "roleArn": p["RoleArn"],
            "artifactStore": {"type": store["Type"], "location": store["Location"]},
            "stages": stages,
            "pipelineType": p.get("PipelineType", "V1"),
        },
        tags=_tags(p, "key", "value"),
    )
    return "CreatePipeline; executions run by the twin (stages, actions, artifacts, triggers)"


def schedule(clients: Clients, res: Resource, _stack: Stack) -> str:
    p = res.properties
    target = p["Target"]
    window = p["FlexibleTimeWindow"]
    call(
        clients,
        "scheduler",
        "create_schedule",
        Name=res.physical_id,
        ScheduleExpression=p["ScheduleExpression"],
        State=p.get("State", "ENABLED"),
        FlexibleTimeWindow={
            "Mode": window["Mode"],
            **(
                {"MaximumWindowInMinutes": window["MaximumWindowInMinutes"]}
                if "MaximumWindowInMinutes" in window
                else {}
            ),
        },
        Target={
            "Arn": target["Arn"],
            "RoleArn": target["RoleArn"],
            **({"Input": target["Input"]} if "Input" in target else {}),
        },
    )
    return "CreateSchedule; invocations made by the twin when the flow says the time came"


def alarm(clients: Clients, res: Resource, _stack: Stack) -> str:
    p = res.properties
    request = {
        "AlarmName": res.physical_id,
        "AlarmDescription": p.get("AlarmDescription", ""),
        "ComparisonOperator": p["ComparisonOperator"],
        "EvaluationPeriods": int(p["EvaluationPeriods"]),
        "Threshold": float(p["Threshold"]),
        "TreatMissingData": p.get("TreatMissingData", "missing"),
        "ActionsEnabled": bool(p.get("ActionsEnabled", True)),
    }
    for key in ("MetricName", "Namespace", "Statistic", "ExtendedStatistic"):
        if key in p:
            request[key] = p[key]
    if "Period" in p:
        request["Period"] = int(p["Period"])
    if "DatapointsToAlarm" in p:
        request["DatapointsToAlarm"] = int(p["DatapointsToAlarm"])
    if "Dimensions" in p:
        request["Dimensions"] = [
            {"Name": d["Name"], "Value": str(d["Value"])} for d in p["Dimensions"]
        ]
    if "Metrics" in p:
        request["Metrics"] = p["Metrics"]
    for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        if key in p:
            request[key] = p[key]
    call(clients, "cloudwatch", "put_metric_alarm", **request)
    return "PutMetricAlarm; evaluated by the twin on the emulator's datapoints"


def _requires_tls(statement: dict[str, Any]) -> bool:
    condition = statement.get("Condition", {}).get("Bool", {})
    return (
        statement.get("Effect") == "Deny" and str(condition.get("aws:SecureTransport")) == "false"
    )


def bucket_policy(clients: Clients, res: Resource, _stack: Stack) -> str:
    """moto evaluates bucket policies; the emulator speaks plain HTTP on 127.0.0.1, so the
    deny-without-TLS statement (every request here would match it) is left out, and said so."""
    p = res.properties
    document = dict(p["PolicyDocument"])
    statements = document.get("Statement", [])
    kept = [s for s in statements if not _requires_tls(s)]
    document["Statement"] = kept
    if kept:
        clients("s3").put_bucket_policy(Bucket=p["Bucket"], Policy=json.dumps(document))
    dropped = len(statements) - len(kept)
    return "PutBucketPolicy; enforced by moto" + (
        f" except {dropped} aws:SecureTransport deny (the emulator is plain HTTP)"
        if dropped
        else ""
    )


def topic_policy(clients: Clients, res: Resource, _stack: Stack) -> str:
    p = res.properties
    for topic in p["Topics"]:
        call(
            clients,
            "sns",
            "set_topic_attributes",
            TopicArn=topic,
            AttributeName="Policy",
            AttributeValue=json.dumps(p["PolicyDocument"]),
        )
    return "SetTopicAttributes Policy (not enforced by moto)"


def topic_subscription(clients: Clients, res: Resource, _stack: Stack) -> str:
    p = res.properties
    done = call(
        clients,
        "sns",
        "subscribe",
        TopicArn=p["TopicArn"],
        Protocol=p["Protocol"],
        Endpoint=p["Endpoint"],
        ReturnSubscriptionArn=True,
    )
    res.physical_id = done["SubscriptionArn"]
    return f"Subscribe {p['Protocol']} (no confirmation mail is sent; AWS sends one, click it)"


def codecommit_repository(clients: Clients, res: Resource, _stack: Stack) -> str:
    p = res.properties
    call(
        clients,
        "codecommit",
        "create_repository",
        repositoryName=res.physical_id,
        repositoryDescription=p.get("RepositoryDescription", ""),
    )
    return "CreateRepository; the twin's local git repository is the code (the seed asset is not uploaded)"


def scalable_target(clients: Clients, res: Resource, _stack: Stack) -> str:
    p = res.properties
    call(
        clients,
        "application-autoscaling",
        "register_scalable_target",
        ServiceNamespace=p["ServiceNamespace"],
        ResourceId=p["ResourceId"],
        ScalableDimension=p["ScalableDimension"],
        MinCapacity=int(p["MinCapacity"]),
        MaxCapacity=int(p["MaxCapacity"]),
        **({"RoleARN": p["RoleARN"]} if "RoleARN" in p else {}),
    )
    res.physical_id = f"{p['ResourceId']}|{p['ScalableDimension']}|{p['ServiceNamespace']}"
    return "RegisterScalableTarget (no scaling activity)"


def scaling_policy(clients: Clients, res: Resource, _stack: Stack) -> str:
    p = res.properties
    target = p.get("ScalingTargetId", "")
    resource_id, dimension, namespace = (
        target.split("|")
        if target
        else (p["ResourceId"], p["ScalableDimension"], p["ServiceNamespace"])
    )
    config = p["TargetTrackingScalingPolicyConfiguration"]
    arn = call(
        clients,
        "application-autoscaling",
        "put_scaling_policy",
        PolicyName=p["PolicyName"],
        ServiceNamespace=namespace,
        ResourceId=resource_id,
        ScalableDimension=dimension,
        PolicyType=p["PolicyType"],
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": float(config["TargetValue"]),
            **(
                {"PredefinedMetricSpecification": config["PredefinedMetricSpecification"]}
                if "PredefinedMetricSpecification" in config
                else {}
            ),
            **{k: int(config[k]) for k in ("ScaleInCooldown", "ScaleOutCooldown") if k in config},
        },
    )["PolicyARN"]
    res.physical_id = arn
    return "PutScalingPolicy (no scaling activity)"


def oidc_provider(clients: Clients, res: Resource, _stack: Stack) -> str:
    p = res.properties
    call(
        clients,
        "iam",
        "create_open_id_connect_provider",
        Url=p["Url"],
        ClientIDList=p.get("ClientIdList", []),
        **({"ThumbprintList": p["ThumbprintList"]} if p.get("ThumbprintList") else {}),
    )
    return "CreateOpenIDConnectProvider (no token is ever issued: the CI jobs are not run)"


DYNAMIC_SECRET = re.compile(r"\{\{resolve:secretsmanager:([^:}]+):SecretString:::\}\}")


def _resolve_secret(clients: Clients, value: str, where: str) -> str:
    """CloudFormation resolves a secretsmanager dynamic reference at deploy time and fails the
    stack when the secret does not exist."""
    match = DYNAMIC_SECRET.fullmatch(value)
    if match is None:
        return value
    try:
        secret = clients("secretsmanager").get_secret_value(SecretId=match.group(1))
    except Exception as error:  # the API's ResourceNotFoundException, as CloudFormation reports it
        raise ProvisionError(
            f"{where}: the dynamic reference to secret {match.group(1)!r} cannot be resolved "
            f"({error}); create the secret before deploying the stack"
        ) from None
    return str(secret["SecretString"])


def events_connection(clients: Clients, res: Resource, _stack: Stack) -> str:
    p = res.properties
    auth = json.loads(json.dumps(p["AuthParameters"]))
    key = auth.get("ApiKeyAuthParameters")
    if key:
        key["ApiKeyValue"] = _resolve_secret(
            clients, key["ApiKeyValue"], f"{res.logical_id} ({res.type})"
        )
    call(
        clients,
        "events",
        "create_connection",
        Name=res.physical_id,
        AuthorizationType=p["AuthorizationType"],
        AuthParameters=auth,
        **_optional(p, "Description"),
    )
    return "CreateConnection (the token read from Secrets Manager as CloudFormation would)"


def api_destination(clients: Clients, res: Resource, stack: Stack) -> str:
    p = res.properties
    connections = {r.physical_id for r in stack.of_type("AWS::Events::Connection").values()}
    connection = p["ConnectionArn"].rsplit("/", 1)[-1]
    if connection not in connections:
        raise ProvisionError(
            f"{res.logical_id}: connection {p['ConnectionArn']} is not this stack's"
        )
    arn = clients("events").describe_connection(Name=connection)["ConnectionArn"]
    call(
        clients,
        "events",
        "create_api_destination",
        Name=res.physical_id,
        ConnectionArn=arn,
        InvocationEndpoint=p["InvocationEndpoint"],
        HttpMethod=p["HttpMethod"],
        **_optional(p, "Description", "InvocationRateLimitPerSecond"),
    )
    return (
        "CreateApiDestination; the twin records what the rules send it (nothing leaves the machine)"
    )


def ssm_parameter(clients: Clients, res: Resource, _stack: Stack) -> str:
    p = res.properties
    call(
        clients,
        "ssm",
        "put_parameter",
        Name=res.physical_id,
        Value=p["Value"],
        Type=p["Type"],
        **_optional(p, "Description", "Tier"),
        Tags=[{"Key": k, "Value": v} for k, v in p.get("Tags", {}).items()],
    )
    return "PutParameter"


def _optional(properties: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: properties[k] for k in keys if k in properties}


def sagemaker_model(clients: Clients, res: Resource, _stack: Stack) -> str:
    p = res.properties
    call(
        clients,
        "sagemaker",
        "create_model",
        ModelName=res.physical_id,
        ExecutionRoleArn=p["ExecutionRoleArn"],
        Tags=_tags(p),
        **_optional(p, "PrimaryContainer", "Containers", "VpcConfig", "EnableNetworkIsolation"),
    )
    return "CreateModel (moto's CloudFormation ignores ModelName)"


def endpoint_config(clients: Clients, res: Resource, _stack: Stack) -> str:
    p = res.properties
    call(
        clients,
        "sagemaker",
        "create_endpoint_config",
        EndpointConfigName=res.physical_id,
        ProductionVariants=p["ProductionVariants"],
        Tags=_tags(p),
        **_optional(
            p, "DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig", "ShadowProductionVariants"
        ),
    )
    shadow = " (ShadowProductionVariants checked against the API's shape; moto 5.2.5 drops them)"
    return "CreateEndpointConfig; the twin's runtime captures where DataCaptureConfig says" + (
        shadow if "ShadowProductionVariants" in p else ""
    )


def endpoint(clients: Clients, res: Resource, _stack: Stack) -> str:
    p = res.properties
    call(
        clients,
        "sagemaker",
        "create_endpoint",
        EndpointName=res.physical_id,
        EndpointConfigName=p["EndpointConfigName"],
        Tags=_tags(p),
    )
    return "CreateEndpoint; InvokeEndpoint served by the twin's runtime (the image's own server)"


def _egress_permission(res: Resource) -> dict[str, Any]:
    p = res.properties
    return {
        "IpProtocol": p["IpProtocol"],
        "UserIdGroupPairs": [{"GroupId": p["DestinationSecurityGroupId"]}],
        **_optional(p, "FromPort", "ToPort"),
    }


def security_group_egress(clients: Clients, res: Resource, _stack: Stack) -> str:
    """An egress rule to another security group (CDK declares those apart from the group)."""
    call(
        clients,
        "ec2",
        "authorize_security_group_egress",
        GroupId=res.properties["GroupId"],
        IpPermissions=[_egress_permission(res)],
    )
    return "AuthorizeSecurityGroupEgress (moto's CloudFormation lacks the type)"


INTERPRETERS: dict[str, Callable[[Clients, Resource, Stack], str]] = {
    "AWS::SageMaker::Model": sagemaker_model,
    "AWS::SageMaker::EndpointConfig": endpoint_config,
    "AWS::SageMaker::Endpoint": endpoint,
    "AWS::SageMaker::ModelPackageGroup": model_package_group,
    "AWS::CodeBuild::Project": codebuild_project,
    "AWS::CodePipeline::Pipeline": codepipeline_pipeline,
    "AWS::Scheduler::Schedule": schedule,
    "AWS::CloudWatch::Alarm": alarm,
    "AWS::S3::BucketPolicy": bucket_policy,
    "AWS::SNS::TopicPolicy": topic_policy,
    "AWS::SNS::Subscription": topic_subscription,
    "AWS::CodeCommit::Repository": codecommit_repository,
    "AWS::ApplicationAutoScaling::ScalableTarget": scalable_target,
    "AWS::ApplicationAutoScaling::ScalingPolicy": scaling_policy,
    "AWS::EC2::SecurityGroupEgress": security_group_egress,
    "AWS::IAM::OIDCProvider": oidc_provider,
    "AWS::SSM::Parameter": ssm_parameter,
    "AWS::Events::Connection": events_connection,
    "AWS::Events::ApiDestination": api_destination,
    CLEANUP: cleanup.create,
    PROJECT_NAME: project_name.create,
}


def _delete_scaling_policy(clients: Clients, res: Resource) -> None:
    resource_id, dimension, namespace = res.properties["ScalingTargetId"].split("|")
    clients("application-autoscaling").delete_scaling_policy(
        PolicyName=res.properties["PolicyName"],
        ServiceNamespace=namespace,
        ResourceId=resource_id,
        ScalableDimension=dimension,
    )


def _deregister_scalable_target(clients: Clients, res: Resource) -> None:
    resource_id, dimension, namespace = res.physical_id.split("|")
    clients("application-autoscaling").deregister_scalable_target(
        ServiceNamespace=namespace, ResourceId=resource_id, ScalableDimension=dimension
    )


# How the twin deletes what it created (a stage stack deployed again: CloudFormation's update,
# emulated as delete + create since moto cannot update a split stack).
DELETERS: dict[str, Callable[[Clients, Resource], None]] = {
    "AWS::SageMaker::Model": lambda c, r: c("sagemaker").delete_model(ModelName=r.physical_id),
    "AWS::SageMaker::EndpointConfig": lambda c, r: c("sagemaker").delete_endpoint_config(
        EndpointConfigName=r.physical_id
    ),
    "AWS::SageMaker::Endpoint": lambda c, r: c("sagemaker").delete_endpoint(
        EndpointName=r.physical_id
    ),
    "AWS::CloudWatch::Alarm": lambda c, r: c("cloudwatch").delete_alarms(
        AlarmNames=[r.physical_id]
    ),
    "AWS::ApplicationAutoScaling::ScalableTarget": _deregister_scalable_target,
    "AWS::ApplicationAutoScaling::ScalingPolicy": _delete_scaling_policy,
    "AWS::EC2::SecurityGroupEgress": lambda c, r: c("ec2").revoke_security_group_egress(
        GroupId=r.properties["GroupId"], IpPermissions=[_egress_permission(r)]
    ),
    # The CI/CD stack's (here, not in cleanup.CICD_DELETERS: twin.project_name imports cleanup).
    PROJECT_NAME: project_name.delete,
}

NOT_EMULATED: dict[str, str] = {
    "AWS::CDK::Metadata": "CDK's version report; no behaviour",
    # provision.MOTO_DEFECTS; nothing in the flow reads the flow logs.
    "AWS::EC2::FlowLog": "the jobs' VPC flow logs (large): moto cannot deliver into an S3 prefix",
    # moto has no MLflow; twin.sagemaker points the executions' MlflowTrackingUri at a file store.
    "AWS::SageMaker::MlflowApp": "the MLflow App: the executions publish to a file store instead",
}
