"""An instance type change of an autoscaled endpoint deploys in one push: the release action first.

The plans use test_stack_updates' renderer and AWS's rules; the live stack is read from moto's
CloudFormation, in another account through an assumed role as the deploy build does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from test_build import ENV, GROUP, PROJECT, _shadow, add_packages, some_examples
from test_stack_updates import (
    REDEPLOY,
    aws_rejects,
    other_instance_type,
    parameters,
    plan,
    prod_config,
    render,
)

from model_deploy.build import BuildError, build, stack_reader
from model_deploy.release import RELEASE_SUFFIX, live_stack, release_configuration

TAGS = {"Project": "demo", "Stage": "prod", "ModelPackageVersion": "1"}


def _document(config: dict[str, Any], version: int = 1) -> dict[str, Any]:
    return {"Parameters": parameters(config, version), "Tags": {**TAGS, "ModelPackageVersion": "2"}}


def _live(config: dict[str, Any], version: int = 1) -> dict[str, Any]:
    return {"Parameters": parameters(config, version), "Tags": TAGS}


def test_new_instance_type_releases_the_scalable_target_then_deploys() -> None:
    live_config = prod_config()
    new = _document(prod_config(instance_type=other_instance_type(live_config)), version=2)
    release, why = release_configuration(_live(live_config), new)
    assert "deregisters the scalable target" in why
    live = render(parameters(live_config))
    released = render(release["Parameters"])
    deployed = render(new["Parameters"])

    # Action 1 touches no fleet resource: only the target and its policy go (cleanup phase).
    first = plan(live, released)
    assert first.actions == {"ScalableTarget": "remove", "ScalingPolicy": "remove"}
    assert aws_rejects(live, released, first) == []
    assert release["Tags"] == TAGS  # the live stack's, so no resource is re-tagged either
    # Action 2: the new fleet with no target registered, then the target on it.
    second = plan(released, deployed)
    assert second.actions == {**REDEPLOY, "ScalableTarget": "add", "ScalingPolicy": "add"}
    assert aws_rejects(released, deployed, second) == []
    assert second.order.index("Endpoint") < second.order.index("ScalableTarget")


@pytest.mark.parametrize(
    ("case", "live_config", "new_config"),
    [
        ("same instance type", prod_config(), prod_config(initial_instance_count=3)),
        (
            "autoscaling already off",
            prod_config(autoscaling__enabled=False),
            prod_config(autoscaling__enabled=False, instance_type="ml.c5.xlarge"),
        ),
    ],
)
def test_release_is_the_deploy_itself_when_nothing_needs_releasing(
    case: str, live_config: dict[str, Any], new_config: dict[str, Any]
) -> None:
    new = _document(new_config, version=2)
    release, why = release_configuration(_live(live_config), new)
    assert release == new, case
    assert "nothing to release" in why
    # The deploy action then has nothing left to do, and the release itself is accepted.
    live, deployed = render(parameters(live_config)), render(new["Parameters"])
    assert aws_rejects(live, deployed, plan(live, deployed)) == []


def test_first_deploy_has_nothing_to_release() -> None:
    new = _document(prod_config())
    assert release_configuration(None, new) == (new, "no live stack: nothing to release")


def test_parameters_new_to_the_template_take_this_deploys_values() -> None:
    live_config = prod_config()
    live = _live(live_config)
    del live["Parameters"]["ShadowInstanceCount"]
    new = _document(prod_config(instance_type=other_instance_type(live_config)))
    release, _ = release_configuration(live, new)
    assert release["Parameters"]["ShadowInstanceCount"] == new["Parameters"]["ShadowInstanceCount"]
    assert set(release["Parameters"]) == set(new["Parameters"])


# -- reading the live stack -------------------------------------------------------------------------

STACK = "sagemaker-demo-project-deploy-prod"
PROD_ROLE = "arn:aws:iam::222222222222:role/demo-project-pipeline-action"


def _session(role_arn: str) -> boto3.Session:
    credentials = boto3.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="test")[
        "Credentials"
    ]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _create_stack(cloudformation: Any, values: dict[str, str]) -> None:
    """A stack with the endpoint template's parameters (moto stores and returns them)."""
    template = {
        "Parameters": {key: {"Type": "String"} for key in values},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    }
    cloudformation.create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
        Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()],
    )


def test_the_build_reads_prod_in_its_account_and_writes_the_release(
    sagemaker: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    add_packages(sagemaker, "Approved")
    config_dir = _shadow(tmp_path / "configs")
    prod = json.loads((config_dir / "prod-config.json").read_text())
    live_values = parameters(prod_config(instance_type=other_instance_type(prod)))
    _create_stack(_session(PROD_ROLE).client("cloudformation"), live_values)
    env = {**ENV, "PROD_STACK_NAME": STACK, "PROD_PIPELINE_ACTION_ROLE_ARN": PROD_ROLE}

    build(
        sagemaker,
        group=GROUP,
        project=PROJECT,
        config_dir=config_dir,
        out_dir=tmp_path / "out",
        env=env,
        live_stacks=stack_reader(PROJECT, env),
        examples=some_examples,
    )
    release = json.loads((tmp_path / "out" / f"prod{RELEASE_SUFFIX}").read_text())
    deploy = json.loads((tmp_path / "out" / "prod-config-export.json").read_text())
    assert release["Parameters"] == {**live_values, "AutoscalingEnabled": "false"}
    assert (
        deploy["Parameters"]["InstanceType"] == prod["instance_type"] != live_values["InstanceType"]
    )
    # Staging has no stack yet (it would be read in the tooling account: no role given).
    staging_release = json.loads((tmp_path / "out" / f"staging{RELEASE_SUFFIX}").read_text())
    assert staging_release == json.loads(
        (tmp_path / "out" / "staging-config-export.json").read_text()
    )


def test_a_stack_read_in_the_wrong_account_is_no_stack(sagemaker: Any) -> None:
    """The role decides the account: the tooling account has no prod stack."""
    _create_stack(_session(PROD_ROLE).client("cloudformation"), {"InstanceType": "ml.m5.large"})
    assert live_stack(boto3.client("cloudformation"), STACK) is None
    assert live_stack(_session(PROD_ROLE).client("cloudformation"), STACK) is not None


def test_an_unreadable_stack_is_a_clear_stop(sagemaker: Any) -> None:
    env = {**ENV, "PROD_PIPELINE_ACTION_ROLE_ARN": "not-an-arn"}
    with pytest.raises(BuildError, match=r"cannot read the prod stack 'sagemaker-demo-project-"):
        stack_reader(PROJECT, env)("prod")
