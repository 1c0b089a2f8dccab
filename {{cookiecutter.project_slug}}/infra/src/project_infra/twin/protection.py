"""The encryption and isolation of the SageMaker jobs a pipeline run created: each carries the
project's KMS key on its ML storage volume and on its S3 output, the network isolation that
``model_build.steps.NETWORK_ISOLATION`` decides for its step (model-build/README.md, "Encryption and
isolation") and, when the stack has the jobs' VPC (large: project_infra.network), its subnets and
security group (a transform job: its Model's). The twin checks every run it executes against the
stack's key and network.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from model_build.local.executor import LocalExecutor
from model_build.steps import NETWORK_ISOLATION

# Job step type -> where its request holds (volume key, output key, network isolation, VpcConfig);
# None: the request has no such member (a transform job's isolation and VPC are its Model's).
FIELDS: dict[
    str,
    tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...] | None, tuple[str, ...] | None],
] = {
    "Processing": (
        ("ProcessingResources", "ClusterConfig", "VolumeKmsKeyId"),
        ("ProcessingOutputConfig", "KmsKeyId"),
        ("NetworkConfig", "EnableNetworkIsolation"),
        ("NetworkConfig", "VpcConfig"),
    ),
    "Training": (
        ("ResourceConfig", "VolumeKmsKeyId"),
        ("OutputDataConfig", "KmsKeyId"),
        ("EnableNetworkIsolation",),
        ("VpcConfig",),
    ),
    "Transform": (
        ("TransformResources", "VolumeKmsKeyId"),
        ("TransformOutput", "KmsKeyId"),
        None,
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
    vpc: Any = None  # the request's VpcConfig; a transform job's: its Model's (with_model_vpcs)
    writes: bool = True  # False: a processing job without outputs (LinkRun): no output key to set


@dataclass(frozen=True)
class Network:
    """The jobs' VPC as the stack created it (its subnets and the jobs' security group), or as
    project.toml [network] gives it."""

    subnets: frozenset[str]
    security_groups: frozenset[str]

    def matches(self, vpc: Any) -> bool:
        return (
            isinstance(vpc, dict)
            and frozenset(vpc.get("Subnets") or ()) == self.subnets
            and frozenset(vpc.get("SecurityGroupIds") or ()) == self.security_groups
        )


def stack_network(resources: dict[str, tuple[str, str]]) -> Network | None:
    """The jobs' network from the stack's resources (logical id -> (type, physical id)); None when
    the stack has no subnets (small, medium)."""
    subnets = frozenset(pid for kind, pid in resources.values() if kind == "AWS::EC2::Subnet")
    if not subnets:
        return None
    groups = frozenset(
        pid
        for logical, (kind, pid) in resources.items()
        if kind == "AWS::EC2::SecurityGroup" and "JobSecurityGroup" in logical
    )
    return Network(subnets, groups)


def model_network_problems(
    models: dict[str, dict[str, Any]], expected: Network | None
) -> list[str]:
    """What is wrong with a stage's deployed models (name -> DescribeModel) for the stage's VPC
    (``expected``: [network.<stage>]'s or the jobs'; None: no VPC)."""
    wrong = []
    for name, model in models.items():
        vpc = model.get("VpcConfig") or None  # moto answers {} for a model without one
        if expected is None and vpc:
            wrong.append(f"model {name}: VpcConfig {vpc}, but its stage has no VPC")
        elif expected is not None and not expected.matches(vpc):
            wrong.append(
                f"model {name}: VpcConfig {vpc!r}, not its stage's subnets "
                f"{sorted(expected.subnets)} and security groups {sorted(expected.security_groups)}"
            )
    return wrong


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
        volume, output, isolation, vpc = FIELDS[step["Type"]]
        args = step["Arguments"]
        found.append(
            Job(
                step["Name"],
                step["Type"],
                _member(args, volume),
                _member(args, output),
                None if isolation is None else _member(args, isolation),
                None if vpc is None else _member(args, vpc),
                writes=output[0] in args,
            )
        )
    return found


def with_model_vpcs(found: list[Job], sagemaker: Any, run_id: str) -> list[Job]:
    """A transform job runs in its Model's VpcConfig: the Model the run's LatestApprovedModel step
    created, named ``...-<run id>`` (model_build.batch_pipeline)."""
    if not any(job.kind == "Transform" for job in found):
        return found
    names = [
        m["ModelName"]
        for m in sagemaker.list_models().get("Models", [])
        if m["ModelName"].endswith(f"-{run_id}")
    ]
    vpc = None
    if len(names) == 1:
        vpc = sagemaker.describe_model(ModelName=names[0]).get("VpcConfig") or None
    return [dataclasses.replace(j, vpc=vpc) if j.kind == "Transform" else j for j in found]


def problems(found: list[Job], key_id: str, network: Network | None = None) -> list[str]:
    """What is wrong with ``found`` for the project's key ``key_id`` (a key ARN ends ``key/<id>``)
    and, when the stack has one, the jobs' ``network``."""
    wrong = []
    for job in found:
        keys = [("volume", job.volume_key)] + ([("output", job.output_key)] if job.writes else [])
        for where, value in keys:
            if not (isinstance(value, str) and value.endswith(f":key/{key_id}")):
                wrong.append(f"{job.step}: {where} key {value!r}, not the project's key {key_id}")
        if job.kind != "Transform" and job.isolated is not NETWORK_ISOLATION.get(job.step):
            wrong.append(
                f"{job.step}: network isolation {job.isolated!r}, "
                f"expected {NETWORK_ISOLATION.get(job.step)!r}"
            )
        if network is not None and not network.matches(job.vpc):
            wrong.append(
                f"{job.step}: VpcConfig {job.vpc!r}, not the stack's subnets "
                f"{sorted(network.subnets)} and security group {sorted(network.security_groups)}"
            )
    return wrong


def summary(pipeline: str, found: list[Job], network: Network | None = None) -> str:
    """One detail line: how many jobs carried the key, which ran isolated, and in the VPC."""
    isolated = [job.step for job in found if job.isolated]
    silent = [job.step for job in found if not job.writes]
    outputs = f"output, but {', '.join(silent)} writes none" if silent else "output"
    line = (
        f"{pipeline}: {len(found)} job(s) encrypted with the project key (volume and {outputs}); "
        f"network-isolated: {', '.join(isolated) or 'none'}"
    )
    if network is not None:
        line += f"; all in the project's VPC ({len(network.subnets)} subnets)"
    return line
