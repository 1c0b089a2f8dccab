"""model-deploy/endpoint.yml deployed by the twin as the deploy pipeline would, once per stage config
change a user is invited to make: each stack is created in the emulator (moto's CloudFormation plus
the twin's interpreters, which call the services' APIs with the resolved properties), and the
resulting endpoint config, scalable target and alarms are read back through those APIs.

The twin re-creates a stage stack on each deployment (moto cannot update a split stack), so what
CloudFormation does between two versions (update in place, replacement, ordering) is asserted in
model-deploy/tests/test_stack_updates.py; here every version's end state is checked."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str

from model_deploy.build import Project, StageTarget, stage_parameters
from model_deploy.stage_config import load as load_stage_config
from project_infra.twin.emulator import TOOLING_ACCOUNT, Emulator
from project_infra.twin.flow import StageError, check_endpoint_update
from project_infra.twin.interpreters import DELETERS, INTERPRETERS, NOT_EMULATED
from project_infra.twin.provision import Stack, deploy, undeploy

REGION = "us-east-1"
DEPLOY = Path(__file__).resolve().parents[3] / "model-deploy"
PACKAGE = f"arn:aws:sagemaker:{REGION}:{TOOLING_ACCOUNT}:model-package/demo-models/"
ENV = {
    "PROD_MODEL_EXECUTION_ROLE_ARN": f"arn:aws:iam::{TOOLING_ACCOUNT}:role/model-exec",
    "PROD_DATA_CAPTURE_URI": "s3://capture-bucket/prod",
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    started = Emulator(REGION).start()
    yield started
    started.stop()


def _template() -> dict[str, Any]:
    template, errors = decode_str((DEPLOY / "endpoint.yml").read_text(encoding="utf-8"))
    assert not errors and template is not None
    return json.loads(json.dumps(template, default=str))


def _prod(**edits: Any) -> dict[str, Any]:
    config = copy.deepcopy(load_stage_config(DEPLOY / "prod-config.json"))
    for key, value in edits.items():
        *parents, leaf = key.split("__")
        node = config
        for part in parents:
            node = node[part]
        node[leaf] = value
    return config


def _deploy(emulator: Emulator, slug: str, config: dict[str, Any], shadow: str = "") -> Stack:
    project = Project(slug=slug, size="small", owner="ml", project_id="p-1")
    target = StageTarget.from_env("prod", ENV)
    parameters = stage_parameters(config, f"{PACKAGE}1", target, project, shadow)
    return deploy(
        _template(),
        stack_name=f"{slug}-prod",
        parameters=parameters,
        clients=emulator.client,
        account=TOOLING_ACCOUNT,
        region=REGION,
        interpreters=INTERPRETERS,
        not_emulated=NOT_EMULATED,
    )


def _scalable_targets(emulator: Emulator, endpoint: str) -> list[dict[str, Any]]:
    return emulator.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[f"endpoint/{endpoint}/variant/AllTraffic"]
    )["ScalableTargets"]


def _endpoint(stack: Stack) -> str:
    (endpoint,) = stack.of_type("AWS::SageMaker::Endpoint").values()
    return str(endpoint.physical_id)


def test_autoscaling_limits_reach_the_scalable_target(emulator: Emulator) -> None:
    stack = _deploy(
        emulator,
        "limits",
        _prod(
            autoscaling__enabled=True, autoscaling__min_instances=3, autoscaling__max_instances=7
        ),
    )
    (target,) = _scalable_targets(emulator, _endpoint(stack))
    assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 7)
    policies = emulator.client("application-autoscaling").describe_scaling_policies(
        ServiceNamespace="sagemaker"
    )["ScalingPolicies"]
    assert any(p["ResourceId"] == target["ResourceId"] for p in policies)


def test_autoscaling_off_registers_no_target_and_keeps_the_endpoint(emulator: Emulator) -> None:
    stack = _deploy(emulator, "noscale", _prod(autoscaling__enabled=False))
    assert _scalable_targets(emulator, _endpoint(stack)) == []
    assert {r.type for r in stack.resources.values()} >= {
        "AWS::SageMaker::Endpoint",
        "AWS::CloudWatch::Alarm",
    }
    assert "ScalableTarget" not in stack.resources


def test_a_new_instance_type_reaches_the_endpoint_config(emulator: Emulator) -> None:
    stack = _deploy(emulator, "newtype", _prod(instance_type="ml.c5.xlarge"))
    sagemaker = emulator.client("sagemaker")
    config = sagemaker.describe_endpoint_config(
        EndpointConfigName=sagemaker.describe_endpoint(EndpointName=_endpoint(stack))[
            "EndpointConfigName"
        ]
    )
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.c5.xlarge"
    assert stack.resources["Endpoint"].properties["RetainAllVariantProperties"] is True


def test_alarm_thresholds_reach_the_alarms(emulator: Emulator) -> None:
    _deploy(emulator, "alarms", _prod(alarms__model_latency_p99_ms=250, alarms__model_errors=4))
    alarms = {
        a["AlarmName"]: a
        for a in emulator.client("cloudwatch").describe_alarms(AlarmNamePrefix="alarms-prod-")[
            "MetricAlarms"
        ]
    }
    assert alarms["alarms-prod-model-latency-p99"]["Threshold"] == 250_000  # microseconds
    assert alarms["alarms-prod-model-errors"]["Threshold"] == 4


def test_a_shadow_candidate_gets_its_own_model_and_variant(emulator: Emulator) -> None:
    config = _prod(shadow__mode="shadow", shadow__model_package_version=2)
    stack = _deploy(emulator, "shadow", config, shadow=f"{PACKAGE}2")
    model = emulator.client("sagemaker").describe_model(
        ModelName=stack.resources["ShadowModel"].physical_id
    )
    assert model["PrimaryContainer"]["ModelPackageName"] == f"{PACKAGE}2"
    # CreateEndpointConfig took it (botocore checked its shape); moto 5.2.5 does not keep it.
    (variant,) = stack.resources["EndpointConfig"].properties["ShadowProductionVariants"]
    assert variant["ModelName"] == model["ModelName"]
    assert variant["InstanceType"] == config["shadow"]["instance_type"]
    assert "ShadowProductionVariants" in stack.resources["EndpointConfig"].note


def test_deployed_again_without_autoscaling_leaves_no_target_behind(emulator: Emulator) -> None:
    """The twin's redeploy (delete what it created, then create): the first step of an instance
    type change ends with no scalable target, and the same names can be created again."""
    first = _deploy(emulator, "again", _prod(autoscaling__enabled=True))
    endpoint = _endpoint(first)
    assert len(_scalable_targets(emulator, endpoint)) == 1
    deleted = undeploy(first, emulator.client, DELETERS)
    assert deleted[:2] == ["ScalingPolicy", "ScalableTarget"]  # dependents first
    assert deleted[-1] in {"Model", "Invocation5xxAlarm", "ModelLatencyAlarm", "ModelErrorsAlarm"}
    # moto's part, as the flow does
    emulator.client("cloudformation").delete_stack(StackName="again-prod")
    second = _deploy(emulator, "again", _prod(autoscaling__enabled=False))
    assert _scalable_targets(emulator, _endpoint(second)) == []
    assert second.resources["Model"].physical_id == first.resources["Model"].physical_id


def test_the_twin_rejects_a_type_change_of_a_registered_variant_as_aws_does(
    emulator: Emulator,
) -> None:
    """What the deploy pipeline's release action exists for (model_deploy.release): with the
    scalable target registered the update is rejected and the stack left as it was; once released
    (autoscaling off, same type) the new type goes through."""
    live = _deploy(emulator, "retype", _prod(autoscaling__enabled=True))
    new_type = {"InstanceType": "ml.c5.xlarge"}
    with pytest.raises(StageError, match=r"endpoint-scaling-update"):
        check_endpoint_update(live, new_type, emulator.client)
    check_endpoint_update(live, {"InstanceType": live.parameters["InstanceType"]}, emulator.client)
    undeploy(live, emulator.client, DELETERS)
    emulator.client("cloudformation").delete_stack(StackName="retype-prod")
    released = _deploy(emulator, "retype", _prod(autoscaling__enabled=False))
    check_endpoint_update(released, new_type, emulator.client)


def test_describe_stacks_returns_the_parameters_as_given(emulator: Emulator) -> None:
    """What the deploy build's release step reads back (model_deploy.release.live_stack)."""
    stack = _deploy(emulator, "readback", _prod())
    (described,) = emulator.client("cloudformation").describe_stacks(StackName="readback-prod")[
        "Stacks"
    ]
    values = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
    assert values["SubnetIds"] == stack.parameters["SubnetIds"] == ""
    assert values["InstanceType"] == stack.parameters["InstanceType"]
