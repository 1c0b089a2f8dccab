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


def test_isolation_other_than_the_steps_decision_is_named() -> None:
    definition = _definition()
    definition["Steps"][0]["Arguments"].pop("NetworkConfig")  # Preprocess: decided isolated
    definition["Steps"][1]["Arguments"]["NetworkConfig"]["EnableNetworkIsolation"] = True
    assert protection.problems(protection.jobs(definition, RAN), KEY_ID) == [
        "Preprocess: network isolation None, expected True",
        "Champion: network isolation True, expected False",
    ]
