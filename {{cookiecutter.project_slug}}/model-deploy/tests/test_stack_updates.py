"""What CloudFormation does with each resource when a stage config changes, and whether AWS accepts it.

Each case edits a shipped stage config, renders endpoint.yml's resources with the parameters
build-deploy-config writes before and after (conditions, Ref, Fn::Sub, Fn::If, Fn::GetAtt resolved),
and plans the stack update as CloudFormation does
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html):
a changed create-only property replaces the resource (new one first, in dependency order; the old
one is deleted in the cleanup phase, after every update), any other change updates in place. The
plan is then checked against the rules AWS enforces that moto does not model.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from model_deploy.build import Project, StageTarget, stage_parameters
from model_deploy.stage_config import load as load_stage_config

HERE = Path(__file__).resolve().parents[1]
ACCOUNT = "123456789012"
PACKAGE = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/demo-models/"
ENV = {
    "PROD_MODEL_EXECUTION_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/model-exec",
    "PROD_DATA_CAPTURE_URI": "s3://capture-bucket/prod",
    "PROD_API_HANDLER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/demo-api-handler",
}
NO_VALUE = object()

# Update behaviour of the properties endpoint.yml sets: "Update requires: Replacement" ones, per type,
# from each type's CloudFormation reference page. Everything else is "No interruption". The test
# below holds this table to the resource schemas CloudFormation's registry publishes (cfn-lint's copy).
CREATE_ONLY: dict[str, frozenset[str]] = {
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sagemaker-model.html
    "AWS::SageMaker::Model": frozenset(
        {"ModelName", "ExecutionRoleArn", "EnableNetworkIsolation", "PrimaryContainer", "VpcConfig"}
    ),
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sagemaker-endpointconfig.html
    "AWS::SageMaker::EndpointConfig": frozenset(
        {
            "EndpointConfigName",
            "KmsKeyId",
            "ProductionVariants",
            "ShadowProductionVariants",
            "DataCaptureConfig",
        }
    ),
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sagemaker-endpoint.html
    "AWS::SageMaker::Endpoint": frozenset({"EndpointName"}),
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-alarm.html
    "AWS::CloudWatch::Alarm": frozenset({"AlarmName"}),
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-applicationautoscaling-scalabletarget.html
    "AWS::ApplicationAutoScaling::ScalableTarget": frozenset(
        {"ResourceId", "ScalableDimension", "ServiceNamespace"}
    ),
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-applicationautoscaling-scalingpolicy.html
    "AWS::ApplicationAutoScaling::ScalingPolicy": frozenset(
        {"PolicyName", "ScalingTargetId", "ResourceId", "ScalableDimension", "ServiceNamespace"}
    ),
    # The API front door (stage config `api`):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-loggroup.html
    "AWS::Logs::LogGroup": frozenset({"LogGroupName"}),
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-function.html
    "AWS::Lambda::Function": frozenset({"FunctionName", "PackageType"}),
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-permission.html
    "AWS::Lambda::Permission": frozenset({"Action", "FunctionName", "Principal", "SourceArn"}),
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-restapi.html
    "AWS::ApiGateway::RestApi": frozenset(),
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-resource.html
    "AWS::ApiGateway::Resource": frozenset({"ParentId", "PathPart", "RestApiId"}),
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-method.html
    "AWS::ApiGateway::Method": frozenset({"HttpMethod", "ResourceId", "RestApiId"}),
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-deployment.html
    "AWS::ApiGateway::Deployment": frozenset({"RestApiId"}),
}
# The property that names each type (a replacement with an unchanged name fails: the name is taken).
NAME = {
    "AWS::SageMaker::Model": "ModelName",
    "AWS::SageMaker::EndpointConfig": "EndpointConfigName",
    "AWS::SageMaker::Endpoint": "EndpointName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "PolicyName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Lambda::Function": "FunctionName",
}
# Types whose id and attributes (Arn, RootResourceId) CloudFormation or the service generates: the
# renderer gives them a stable stand-in, the same before and after an update.
GENERATED = {
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::Deployment",
    "AWS::Lambda::Permission",
}


# Short-form tags in their long form ({"Ref": ...}, {"Fn::Sub": ...}), as cfn-lint reads templates.
TEMPLATE: dict[str, Any] = cfn_yaml.load(str(HERE / "endpoint.yml"))


# -- rendering ----------------------------------------------------------------------------------------


def _references(value: Any) -> set[str]:
    """Logical ids ``value`` refers to (Ref, Fn::GetAtt, ${X} / ${X.Attr} in Fn::Sub)."""
    if isinstance(value, list):
        return set().union(*map(_references, value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    for key, argument in value.items():
        if key == "Ref":
            found.add(argument)
        elif key == "Fn::GetAtt":
            found.add(argument.split(".")[0] if isinstance(argument, str) else argument[0])
        elif key == "Fn::Sub":
            text = argument if isinstance(argument, str) else argument[0]
            found |= {part.split("}")[0].split(".")[0] for part in text.split("${")[1:]}
        found |= _references(argument)
    return found & set(TEMPLATE["Resources"])


@dataclass
class Rendered:
    resources: dict[str, dict[str, Any]]  # logical id -> {"Type", "Properties"} (resolved)


class Renderer:
    """endpoint.yml's resources with one parameter set, resolved as CloudFormation would."""

    def __init__(self, parameters: dict[str, str]) -> None:
        self.values = {name: spec.get("Default") for name, spec in TEMPLATE["Parameters"].items()}
        self.values.update(parameters)
        self.values.update(
            {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": ACCOUNT}
        )
        missing = [name for name, value in self.values.items() if value is None]
        assert not missing, f"no value for {missing}"
        self.conditions: dict[str, bool] = {}
        self.rendered: dict[str, dict[str, Any]] = {}
        self.intrinsics: dict[str, Callable[[Any], Any]] = {
            "Ref": self.ref,
            "Fn::GetAtt": lambda argument: self.attribute(*argument),
            "Fn::Sub": self.sub,
            "Fn::If": lambda a: self.resolve(a[1] if self.condition(a[0]) else a[2]),
            "Fn::Equals": lambda a: str(self.resolve(a[0])) == str(self.resolve(a[1])),
            "Fn::Not": lambda a: not self.resolve(a[0]),
            "Fn::And": lambda a: all(self.resolve(c) for c in a),
            "Fn::Join": lambda a: a[0].join(str(i) for i in self.resolve(a[1])),
        }

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(TEMPLATE["Conditions"][name]))
        return self.conditions[name]

    def exists(self, logical: str) -> bool:
        body = TEMPLATE["Resources"][logical]
        return "Condition" not in body or self.condition(body["Condition"])

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1 and next(iter(value)) in self.intrinsics:
            ((key, argument),) = value.items()
            return self.intrinsics[key](argument)
        return {k: r for k, v in value.items() if (r := self.resolve(v)) is not NO_VALUE}

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        return self.values[name] if name in self.values else self.physical(name)

    def sub(self, text: str) -> str:
        for part in text.split("${")[1:]:
            name = part.split("}")[0]
            value = self.ref(name) if "." not in name else self.attribute(*name.split(".", 1))
            text = text.replace("${" + name + "}", str(value))
        return text

    def properties(self, logical: str) -> dict[str, Any]:
        if logical not in self.rendered:
            body = TEMPLATE["Resources"][logical]
            properties = self.resolve(body.get("Properties", {}))
            self.rendered[logical] = {"Type": body["Type"], "Properties": properties}
        return self.rendered[logical]["Properties"]

    def physical(self, logical: str) -> str:
        kind = TEMPLATE["Resources"][logical]["Type"]
        props = self.properties(logical)
        if kind in NAME:
            return str(props[NAME[kind]])
        if kind in GENERATED:
            return f"<{logical}>"
        return f"{props['ResourceId']}|{props['ScalableDimension']}"  # a scalable target's id

    def attribute(self, logical: str, attribute: str) -> str:
        props = self.properties(logical)
        kind = TEMPLATE["Resources"][logical]["Type"]
        if attribute not in props and (kind in GENERATED or kind in NAME):
            return f"<{logical}.{attribute}>"  # Arn, RootResourceId: generated, stable
        assert attribute in props, f"{logical}.{attribute}: not a name property"
        return str(props[attribute])


def render(parameters: dict[str, str]) -> Rendered:
    renderer = Renderer(parameters)
    for logical in TEMPLATE["Resources"]:
        if renderer.exists(logical):
            renderer.properties(logical)
    return Rendered({k: v for k, v in renderer.rendered.items() if renderer.exists(k)})


# -- planning -----------------------------------------------------------------------------------------


@dataclass
class Plan:
    actions: dict[str, str]  # logical id -> add | remove | update | replace
    order: list[str]  # creations and updates, as CloudFormation runs them
    cleanup: list[
        str
    ]  # deleted after every update: removed resources and replaced ones' old copies
    changed: dict[str, list[str]] = field(default_factory=dict)  # logical id -> changed properties


def plan(before: Rendered, after: Rendered) -> Plan:
    actions: dict[str, str] = {}
    changed: dict[str, list[str]] = {}
    for logical in before.resources.keys() | after.resources.keys():
        old, new = before.resources.get(logical), after.resources.get(logical)
        if old is None:
            actions[logical] = "add"
        elif new is None:
            actions[logical] = "remove"
        else:
            keys = old["Properties"].keys() | new["Properties"].keys()
            diff = sorted(k for k in keys if old["Properties"].get(k) != new["Properties"].get(k))
            if diff:
                changed[logical] = diff
                replaced = set(diff) & CREATE_ONLY[new["Type"]]
                actions[logical] = "replace" if replaced else "update"
    graph = {
        logical: _references(TEMPLATE["Resources"][logical]) & after.resources.keys()
        for logical in after.resources
    }
    order = [x for x in TopologicalSorter(graph).static_order() if actions.get(x) in _FORWARD]
    before_graph = {
        logical: _references(TEMPLATE["Resources"][logical]) & before.resources.keys()
        for logical in before.resources
    }
    deleted = [x for x in TopologicalSorter(before_graph).static_order() if actions.get(x) in _GONE]
    return Plan(actions, order, list(reversed(deleted)), changed)


_FORWARD = {"add", "update", "replace"}
_GONE = {"remove", "replace"}


def aws_rejects(before: Rendered, after: Rendered, steps: Plan) -> list[str]:
    """What AWS refuses in ``steps`` (each with the page that says so); empty when it goes through."""
    problems = []
    for logical, action in steps.actions.items():
        kind = (after.resources.get(logical) or before.resources[logical])["Type"]
        if action == "replace" and kind in NAME:
            old = before.resources[logical]["Properties"][NAME[kind]]
            if old == after.resources[logical]["Properties"][NAME[kind]]:
                problems.append(f"{logical}: replacement keeps the custom name {old}")
    if steps.actions.get("Endpoint") == "update":
        old_config = before.resources["EndpointConfig"]["Properties"]
        new_config = after.resources["EndpointConfig"]["Properties"]
        old_variant, new_variant = (
            old_config["ProductionVariants"][0],
            new_config["ProductionVariants"][0],
        )
        # https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html
        if old_variant["VariantName"] != new_variant["VariantName"]:
            problems.append("blue/green needs the same variant name in the new endpoint config")
        # https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html: a scalable
        # target is deregistered in the cleanup phase, after UpdateEndpoint, so too late.
        if "ScalableTarget" in before.resources and (
            old_variant["InstanceType"] != new_variant["InstanceType"]
        ):
            problems.append(
                "UpdateEndpoint changes the instance type of a variant registered with Application "
                "Auto Scaling (endpoint-scaling-update)"
            )
    return problems


# -- the cases ----------------------------------------------------------------------------------------


# The cases start from these values, not from what prod-config.json holds today: the deploy build
# runs these tests on the user's edited configs (autoscaling off, a shadow on...), which must pass.
BASE = {
    "instance_type": "ml.m5.large",
    "initial_instance_count": 2,
    "autoscaling": {
        "enabled": True,
        "min_instances": 2,
        "max_instances": 4,
        "target_invocations_per_instance": 500,
        "scale_in_cooldown_seconds": 600,
        "scale_out_cooldown_seconds": 60,
    },
    "deployment": {
        "traffic_routing": "CANARY",
        "canary_size_percent": 10,
        "linear_step_percent": 25,
        "wait_interval_seconds": 600,
        "termination_wait_seconds": 300,
        "maximum_execution_timeout_seconds": 3600,
    },
    "data_capture": {"enabled": True, "sampling_percentage": 50},
    "alarms": {
        "model_latency_p99_ms": 300,
        "invocation_5xx_errors": 1,
        "model_errors": 1,
        "evaluation_periods": 2,
    },
    "shadow": {
        "mode": "off",
        "model_package_version": None,
        "instance_type": "ml.m5.large",
        "instance_count": 1,
    },
    "api": {
        "enabled": False,
        "throttle_rate_limit": 50,
        "throttle_burst_limit": 100,
        "max_body_bytes": 1000000,
    },
}


def prod_config(**edits: Any) -> dict[str, Any]:
    """prod-config.json's structure with the BASE values, then ``edits`` (``a__b`` = a.b)."""
    config = {**copy.deepcopy(load_stage_config(HERE / "prod-config.json")), **copy.deepcopy(BASE)}
    for key, value in edits.items():
        *parents, leaf = key.split("__")
        node = config
        for part in parents:
            node = node[part]
        node[leaf] = value
    return config


def parameters(
    config: dict[str, Any], version: int = 1, shadow: int | None = None
) -> dict[str, str]:
    project = Project(slug="demo", size="medium", owner="ml", project_id="p-1")
    return stage_parameters(
        config,
        f"{PACKAGE}{version}",
        StageTarget.from_env("prod", ENV),
        project,
        f"{PACKAGE}{shadow}" if shadow else "",
    )


def other_instance_type(config: dict[str, Any]) -> str:
    """An instance type other than the config's (the user's edited configs run these tests too)."""
    return "ml.c5.xlarge" if config["instance_type"] != "ml.c5.xlarge" else "ml.m5.xlarge"


REDEPLOY = {"Model": "replace", "EndpointConfig": "replace", "Endpoint": "update"}
API = dict.fromkeys(
    (
        "ApiHandlerLogGroup",
        "ApiHandler",
        "Api",
        "ApiInvocations",
        "ApiInvocationsPost",
        "ApiPermission",
        "ApiDeployment",
    ),
    "add",
)
ALARMS = ("Invocation5xxAlarm", "ModelLatencyAlarm", "ModelErrorsAlarm")

# (case, config before, config after, package version before/after, shadow before/after, actions)
CASES: list[
    tuple[str, dict[str, Any], dict[str, Any], tuple[int, int], tuple[Any, Any], dict[str, str]]
] = [
    ("new model package", prod_config(), prod_config(), (1, 2), (None, None), REDEPLOY),
    (
        "initial_instance_count",
        prod_config(),
        prod_config(initial_instance_count=3),
        (1, 1),
        (None, None),
        REDEPLOY,
    ),
    (
        "autoscaling min/max",
        prod_config(),
        prod_config(autoscaling__min_instances=3, autoscaling__max_instances=6),
        (1, 1),
        (None, None),
        {"ScalableTarget": "update"},
    ),
    (
        "autoscaling target and cooldowns",
        prod_config(),
        prod_config(
            autoscaling__target_invocations_per_instance=800,
            autoscaling__scale_in_cooldown_seconds=900,
        ),
        (1, 1),
        (None, None),
        {"ScalingPolicy": "update"},
    ),
    (
        "canary size and waits",
        prod_config(),
        prod_config(deployment__canary_size_percent=20, deployment__wait_interval_seconds=900),
        (1, 1),
        (None, None),
        REDEPLOY,
    ),
    (
        "traffic routing",
        prod_config(),
        prod_config(deployment__traffic_routing="LINEAR"),
        (1, 1),
        (None, None),
        REDEPLOY,
    ),
    (
        "capture sampling",
        prod_config(),
        prod_config(data_capture__sampling_percentage=10),
        (1, 1),
        (None, None),
        REDEPLOY,
    ),
    (
        "alarm thresholds",
        prod_config(),
        prod_config(alarms__model_latency_p99_ms=250, alarms__model_errors=3),
        (1, 1),
        (None, None),
        {"ModelLatencyAlarm": "update", "ModelErrorsAlarm": "update"},
    ),
    (
        "instance type, step 1: autoscaling off",
        prod_config(),
        prod_config(autoscaling__enabled=False),
        (1, 1),
        (None, None),
        {"ScalableTarget": "remove", "ScalingPolicy": "remove"},
    ),
    (
        "instance type, step 2: new type, autoscaling on",
        prod_config(autoscaling__enabled=False),
        prod_config(instance_type=other_instance_type(prod_config())),
        (1, 1),
        (None, None),
        {**REDEPLOY, "ScalableTarget": "add", "ScalingPolicy": "add"},
    ),
    ("api on", prod_config(), prod_config(api__enabled=True), (1, 1), (None, None), API),
    (
        "api throttling",
        prod_config(api__enabled=True),
        prod_config(api__enabled=True, api__throttle_rate_limit=200, api__throttle_burst_limit=400),
        (1, 1),
        (None, None),
        {"ApiDeployment": "update"},
    ),
    (
        "api body limit",
        prod_config(api__enabled=True),
        prod_config(api__enabled=True, api__max_body_bytes=2000000),
        (1, 1),
        (None, None),
        {"ApiHandler": "update"},
    ),
    (
        "api off",
        prod_config(api__enabled=True),
        prod_config(),
        (1, 1),
        (None, None),
        dict.fromkeys(API, "remove"),
    ),
    (
        "new model package behind the api",
        prod_config(api__enabled=True),
        prod_config(api__enabled=True),
        (1, 2),
        (None, None),
        REDEPLOY,
    ),
    (
        "shadow on",
        prod_config(),
        prod_config(shadow__mode="shadow", shadow__model_package_version=2),
        (1, 1),
        (None, 2),
        {**REDEPLOY, "ShadowModel": "add"},
    ),
    (
        "shadow promoted",
        prod_config(shadow__mode="shadow", shadow__model_package_version=2),
        prod_config(shadow__mode="promote", shadow__model_package_version=2),
        (1, 2),
        (2, None),
        {**REDEPLOY, "ShadowModel": "remove"},
    ),
    (
        "shadow dropped",
        prod_config(shadow__mode="shadow", shadow__model_package_version=2),
        prod_config(),
        (1, 1),
        (2, None),
        {**REDEPLOY, "ShadowModel": "remove"},
    ),
]


def _run(case: tuple[Any, ...]) -> tuple[Rendered, Rendered, Plan]:
    _, old_config, new_config, (old_version, new_version), (old_shadow, new_shadow), _ = case
    before = render(parameters(old_config, old_version, old_shadow))
    after = render(parameters(new_config, new_version, new_shadow))
    return before, after, plan(before, after)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_stage_config_change_is_one_clean_stack_update(case: tuple[Any, ...]) -> None:
    before, after, steps = _run(case)
    assert steps.actions == case[-1], steps.changed
    assert aws_rejects(before, after, steps) == []


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_updates_run_in_dependency_order_and_old_copies_go_last(case: tuple[Any, ...]) -> None:
    _, _, steps = _run(case)
    position = {logical: i for i, logical in enumerate(steps.order)}
    for first, then in (
        ("ShadowModel", "EndpointConfig"),
        ("Model", "EndpointConfig"),
        ("EndpointConfig", "Endpoint"),
        ("Endpoint", "ScalableTarget"),  # the target registers the fleet the update left
        ("ScalableTarget", "ScalingPolicy"),
    ):
        if first in position and then in position:
            assert position[first] < position[then], steps.order
    # Replaced and removed resources are deleted only in the cleanup phase, dependents first.
    assert set(steps.cleanup) == {k for k, a in steps.actions.items() if a in _GONE}
    if "ScalingPolicy" in steps.cleanup and "ScalableTarget" in steps.cleanup:
        assert steps.cleanup.index("ScalingPolicy") < steps.cleanup.index("ScalableTarget")


def test_changing_the_instance_type_in_one_step_is_what_aws_rejects() -> None:
    """The type change as one stack update: AWS fails UpdateEndpoint, CloudFormation rolls back.
    Hence the deploy pipeline's release action first (the two steps above; tests/test_release.py)."""
    config = prod_config()
    before = render(parameters(config))
    after = render(parameters(prod_config(instance_type=other_instance_type(config))))
    steps = plan(before, after)
    assert steps.actions == REDEPLOY
    assert any("endpoint-scaling-update" in p for p in aws_rejects(before, after, steps))


def test_a_model_only_redeploy_keeps_the_live_instance_count() -> None:
    """RetainAllVariantProperties: the new config's InitialInstanceCount does not reset the fleet."""
    _, after, steps = _run(CASES[0])
    endpoint = after.resources["Endpoint"]["Properties"]
    assert endpoint["RetainAllVariantProperties"] is True
    assert "ExcludeRetainedVariantProperties" not in endpoint
    assert steps.actions["Endpoint"] == "update"
    assert "RetainAllVariantProperties" not in steps.changed.get("Endpoint", [])


def test_shadow_variant_takes_the_candidate_and_production_keeps_its_name() -> None:
    _, after, _ = _run(next(c for c in CASES if c[0] == "shadow on"))
    config = after.resources["EndpointConfig"]["Properties"]
    (shadow,) = config["ShadowProductionVariants"]
    (production,) = config["ProductionVariants"]
    assert production["VariantName"] == "AllTraffic"
    assert shadow["ModelName"] == after.resources["ShadowModel"]["Properties"]["ModelName"]
    model = after.resources["ShadowModel"]["Properties"]["PrimaryContainer"]["ModelPackageName"]
    assert model == f"{PACKAGE}2"
    assert after.resources["Model"]["Properties"]["PrimaryContainer"]["ModelPackageName"] == (
        f"{PACKAGE}1"
    )
    assert config["DataCaptureConfig"]["EnableCapture"] == "true"


def test_the_update_behaviour_table_matches_cloudformations_resource_schemas() -> None:
    for kind, create_only in CREATE_ONLY.items():
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", kind).schema
        published = {p.split("/")[2] for p in schema.get("createOnlyProperties", [])}
        used = {
            key
            for body in TEMPLATE["Resources"].values()
            if body["Type"] == kind
            for key in body.get("Properties", {})
        }
        assert create_only & used == published & used, kind
    assert {body["Type"] for body in TEMPLATE["Resources"].values()} == set(CREATE_ONLY)


def test_every_knob_of_the_stage_config_is_covered_by_a_case() -> None:
    """A new knob needs its row above: what CloudFormation does when a user changes it."""
    covered = {
        "initial_instance_count",
        "instance_type",
        "autoscaling.enabled",
        "autoscaling.min_instances",
        "autoscaling.max_instances",
        "autoscaling.target_invocations_per_instance",
        "autoscaling.scale_in_cooldown_seconds",
        "deployment.traffic_routing",
        "deployment.canary_size_percent",
        "deployment.wait_interval_seconds",
        "data_capture.sampling_percentage",
        "alarms.model_latency_p99_ms",
        "alarms.model_errors",
        "shadow.mode",
        "shadow.model_package_version",
        "api.enabled",
        "api.throttle_rate_limit",
        "api.throttle_burst_limit",
        "api.max_body_bytes",
    }
    schema = json.loads((HERE / "stage-config.schema.json").read_text(encoding="utf-8"))
    todo = set()
    for key, spec in schema["properties"].items():
        for sub, leaf in spec.get("properties", {}).items():
            if leaf.get("description", "").startswith("TODO"):
                todo.add(f"{key}.{sub}")
        if spec.get("description", "").startswith("TODO"):
            todo.add(key)
    assert todo <= covered, sorted(todo - covered)
