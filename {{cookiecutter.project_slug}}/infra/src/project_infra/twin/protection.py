"""The encryption and isolation of the SageMaker jobs a pipeline run created: each carries the
project's KMS key on its ML storage volume and on its S3 output, and the network isolation that
``model_build.steps.NETWORK_ISOLATION`` decides for its step (model-build/README.md, "Encryption and
isolation"). The twin checks every run it executes against the stack's key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from model_build.local.executor import LocalExecutor
from model_build.steps import NETWORK_ISOLATION

# Job step type -> where its request holds (volume key, output key, network isolation); None: the
# request has no such member (a transform job's isolation is its Model's).
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...] | None]] = {
    "Processing": (
        ("ProcessingResources", "ClusterConfig", "VolumeKmsKeyId"),
        ("ProcessingOutputConfig", "KmsKeyId"),
        ("NetworkConfig", "EnableNetworkIsolation"),
    ),
    "Training": (
        ("ResourceConfig", "VolumeKmsKeyId"),
        ("OutputDataConfig", "KmsKeyId"),
        ("EnableNetworkIsolation",),
    ),
    "Transform": (
        ("TransformResources", "VolumeKmsKeyId"),
        ("TransformOutput", "KmsKeyId"),
        None,
    ),
}


@dataclass(frozen=True)
class Job:
    step: str
    kind: str
    volume_key: Any
    output_key: Any
    isolated: Any  # None for a transform job


def _member(args: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = args
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def jobs(definition: dict[str, Any], ran: dict[str, str]) -> list[Job]:
    """The job steps of ``definition`` that ran (``ran``: step name -> status), as they were sent."""
    found = []
    for step in LocalExecutor.all_steps(definition["Steps"]):
        if step["Type"] not in FIELDS or step["Name"] not in ran:
            continue
        volume, output, isolation = FIELDS[step["Type"]]
        args = step["Arguments"]
        found.append(
            Job(
                step["Name"],
                step["Type"],
                _member(args, volume),
                _member(args, output),
                None if isolation is None else _member(args, isolation),
            )
        )
    return found


def problems(found: list[Job], key_id: str) -> list[str]:
    """What is wrong with ``found`` for the project's key ``key_id`` (a key ARN ends ``key/<id>``)."""
    wrong = []
    for job in found:
        for where, value in (("volume", job.volume_key), ("output", job.output_key)):
            if not (isinstance(value, str) and value.endswith(f":key/{key_id}")):
                wrong.append(f"{job.step}: {where} key {value!r}, not the project's key {key_id}")
        if job.kind != "Transform" and job.isolated is not NETWORK_ISOLATION.get(job.step):
            wrong.append(
                f"{job.step}: network isolation {job.isolated!r}, "
                f"expected {NETWORK_ISOLATION.get(job.step)!r}"
            )
    return wrong


def summary(pipeline: str, found: list[Job]) -> str:
    """One detail line: how many jobs carried the key, and which ran isolated."""
    isolated = [job.step for job in found if job.isolated]
    return (
        f"{pipeline}: {len(found)} job(s) encrypted with the project key (volume and output); "
        f"network-isolated: {', '.join(isolated) or 'none'}"
    )
