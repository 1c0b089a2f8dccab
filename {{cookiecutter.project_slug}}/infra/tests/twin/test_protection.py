"""The twin's check of a run's jobs: the project key on volume and output, isolation per step."""

from __future__ import annotations

import copy
from typing import Any

from project_infra.twin import protection

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY = f"arn:aws:kms:eu-west-1:111122223333:key/{KEY_ID}"


def _definition() -> dict[str, Any]:
    preprocess = {
        "Name": "Preprocess",
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": {"ClusterConfig": {"VolumeKmsKeyId": KEY}},
            "ProcessingOutputConfig": {"KmsKeyId": KEY, "Outputs": []},
            "NetworkConfig": {"EnableNetworkIsolation": True},
        },
    }
    champion = copy.deepcopy(preprocess) | {"Name": "Champion"}
    champion["Arguments"]["NetworkConfig"]["EnableNetworkIsolation"] = False
    train = {
        "Name": "Train",
        "Type": "Training",
        "Arguments": {
            "ResourceConfig": {"VolumeKmsKeyId": KEY},
            "OutputDataConfig": {"KmsKeyId": KEY},
            "EnableNetworkIsolation": True,
        },
    }
    transform = {
        "Name": "BatchTransform",
        "Type": "Transform",
        "Arguments": {
            "TransformResources": {"VolumeKmsKeyId": KEY},
            "TransformOutput": {"KmsKeyId": KEY},
        },
    }
    gate = {
        "Name": "Gate",
        "Type": "Condition",
        "Arguments": {"IfSteps": [transform], "ElseSteps": []},
    }
    return {"Steps": [preprocess, champion, train, gate]}


RAN = dict.fromkeys(("Preprocess", "Champion", "Train", "BatchTransform"), "Succeeded")


def test_a_run_whose_jobs_carry_the_key_and_their_isolation_passes() -> None:
    jobs = protection.jobs(_definition(), RAN)
    assert [job.step for job in jobs] == ["Preprocess", "Champion", "Train", "BatchTransform"]
    assert protection.problems(jobs, KEY_ID) == []
    assert protection.summary("p", jobs) == (
        "p: 4 job(s) encrypted with the project key (volume and output); "
        "network-isolated: Preprocess, Train"
    )


def test_only_the_jobs_that_ran_are_checked() -> None:
    jobs = protection.jobs(_definition(), {"Train": "Failed"})
    assert [job.step for job in jobs] == ["Train"]


def test_a_missing_or_foreign_key_is_named() -> None:
    definition = _definition()
    del definition["Steps"][2]["Arguments"]["OutputDataConfig"]["KmsKeyId"]
    transform = definition["Steps"][3]["Arguments"]["IfSteps"][0]["Arguments"]
    transform["TransformResources"]["VolumeKmsKeyId"] = KEY.replace("1234abcd", "99999999")
    assert protection.problems(protection.jobs(definition, RAN), KEY_ID) == [
        f"Train: output key None, not the project's key {KEY_ID}",
        f"BatchTransform: volume key {KEY.replace('1234abcd', '99999999')!r}, "
        f"not the project's key {KEY_ID}",
    ]


def test_a_job_without_outputs_needs_no_output_key() -> None:
    """LinkRun (with MLflow) writes nothing: no ProcessingOutputConfig, so no output key; its
    volume key is still checked."""
    definition = _definition()
    del definition["Steps"][1]["Arguments"]["ProcessingOutputConfig"]
    jobs = protection.jobs(definition, RAN)
    assert protection.problems(jobs, KEY_ID) == []
    assert "(volume and output, but Champion writes none)" in protection.summary("p", jobs)
    definition["Steps"][1]["Arguments"]["ProcessingResources"]["ClusterConfig"] = {}
    assert protection.problems(protection.jobs(definition, RAN), KEY_ID) == [
        f"Champion: volume key None, not the project's key {KEY_ID}"
    ]


def test_isolation_other_than_the_steps_decision_is_named() -> None:
    definition = _definition()
    definition["Steps"][0]["Arguments"].pop("NetworkConfig")  # Preprocess: decided isolated
    definition["Steps"][1]["Arguments"]["NetworkConfig"]["EnableNetworkIsolation"] = True
    assert protection.problems(protection.jobs(definition, RAN), KEY_ID) == [
        "Preprocess: network isolation None, expected True",
        "Champion: network isolation True, expected False",
    ]


SUBNETS = ("subnet-0123456789abcdef0", "subnet-0fedcba9876543210")
GROUP = "sg-0123456789abcdef0"
VPC = {"SecurityGroupIds": [GROUP], "Subnets": list(SUBNETS)}
RESOURCES = {
    "VpcJobsSubnet1": ("AWS::EC2::Subnet", SUBNETS[0]),
    "VpcJobsSubnet2": ("AWS::EC2::Subnet", SUBNETS[1]),
    "JobNetworkJobSecurityGroup1A2B": ("AWS::EC2::SecurityGroup", GROUP),
    "JobNetworkEndpointSecurityGroup3C4D": ("AWS::EC2::SecurityGroup", "sg-0aaaaaaaaaaaaaaaa"),
    "Key": ("AWS::KMS::Key", KEY_ID),
}


def _in_vpc() -> dict[str, Any]:
    definition = _definition()
    for step in definition["Steps"][:2]:
        step["Arguments"]["NetworkConfig"]["VpcConfig"] = copy.deepcopy(VPC)
    definition["Steps"][2]["Arguments"]["VpcConfig"] = {
        "SecurityGroupIds": [GROUP],
        "Subnets": list(reversed(SUBNETS)),  # order does not matter
    }
    return definition


class _Models:
    """list_models / describe_model as moto answers them, for the run's Model."""

    def __init__(self, models: dict[str, dict[str, Any]]) -> None:
        self.models = models

    def list_models(self) -> dict[str, Any]:
        return {"Models": [{"ModelName": name} for name in self.models]}

    def describe_model(self, ModelName: str) -> dict[str, Any]:  # noqa: N803
        return {"ModelName": ModelName, **self.models[ModelName]}


def test_the_stacks_network_is_its_subnets_and_the_jobs_security_group() -> None:
    network = protection.stack_network(RESOURCES)
    assert network == protection.Network(frozenset(SUBNETS), frozenset({GROUP}))
    assert protection.stack_network({"Key": ("AWS::KMS::Key", KEY_ID)}) is None  # small, medium


def test_a_run_whose_jobs_and_model_are_in_the_vpc_passes() -> None:
    network = protection.stack_network(RESOURCES)
    models = _Models({"p-older1234567": {}, "p-abcdef123456": {"VpcConfig": VPC}})
    jobs = protection.with_model_vpcs(protection.jobs(_in_vpc(), RAN), models, "abcdef123456")
    assert jobs[-1].vpc == VPC  # the transform: its Model's
    assert protection.problems(jobs, KEY_ID, network) == []
    assert protection.summary("p", jobs, network).endswith("; all in the project's VPC (2 subnets)")


def test_a_job_outside_the_vpc_or_in_another_group_is_named() -> None:
    network = protection.stack_network(RESOURCES)
    definition = _in_vpc()
    definition["Steps"][0]["Arguments"]["NetworkConfig"].pop("VpcConfig")  # Preprocess
    definition["Steps"][1]["Arguments"]["NetworkConfig"]["VpcConfig"]["SecurityGroupIds"] = [
        "sg-0aaaaaaaaaaaaaaaa"
    ]
    models = _Models({"p-abcdef123456": {}})  # the transform's Model without a VpcConfig
    jobs = protection.with_model_vpcs(protection.jobs(definition, RAN), models, "abcdef123456")
    found = protection.problems(jobs, KEY_ID, network)
    assert [line.split(":")[0] for line in found] == ["Preprocess", "Champion", "BatchTransform"]
    assert found[0] == (
        f"Preprocess: VpcConfig None, not the stack's subnets {sorted(SUBNETS)} "
        f"and security group {[GROUP]}"
    )


def test_without_the_stacks_network_the_vpc_is_not_checked() -> None:
    jobs = protection.jobs(_definition(), RAN)  # no VpcConfig anywhere (small, medium)
    assert protection.problems(jobs, KEY_ID, None) == []
    assert protection.with_model_vpcs(jobs[:1], _Models({}), "abcdef123456") == jobs[:1]
