"""The release step of a stage deploy: an instance type change of an autoscaled endpoint in one push.

AWS rejects an endpoint update that changes the instance type of a variant registered with
Application Auto Scaling; the documented order is deregister, update, register again
(https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html). One CloudFormation
update cannot do that (it deletes a removed scalable target only in its cleanup phase, after the
endpoint update), so each stage deploys in two CloudFormation actions on the same stack:

1. ``Release<Stage>`` with ``<stage>-release-export.json``: when the stage's live stack has
   autoscaling on and another instance type, the live parameters (nothing about the fleet changes)
   with ``AutoscalingEnabled=false``: CloudFormation deregisters the scalable target and its policy;
   otherwise the same file as step 2 (step 2 then has nothing to update);
2. ``Deploy<Stage>`` with ``<stage>-config-export.json``: the new fleet (blue/green, at the live
   instance count), then the scalable target registered on it.

The live parameters are read when the deploy build runs (DescribeStacks, in the stage's account
through its pipeline-action role).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

RELEASE_SUFFIX = (
    "-release-export.json"  # <stage>-release-export.json beside <stage>-config-export.json
)
# A stack in these states has no endpoint worth keeping: CloudFormation's CREATE_UPDATE deletes
# and creates it again.
NO_LIVE_STACK = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_COMPLETE"})


class ReleaseError(RuntimeError):
    """The live stack could not be read; the message names it."""


def live_stack(cloudformation: Any, stack_name: str) -> dict[str, Any] | None:
    """``{"Parameters": {...}, "Tags": {...}}`` of the stage's live stack, or None if there is none."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise ReleaseError(f"cannot read stack {stack_name!r}: {error}") from error
    except BotoCoreError as error:
        raise ReleaseError(
            f"cannot reach CloudFormation to read {stack_name!r}: {error}"
        ) from error
    if not stacks or stacks[0].get("StackStatus") in NO_LIVE_STACK:
        return None
    stack = stacks[0]
    return {
        "Parameters": {
            p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])
        },
        "Tags": {t["Key"]: t["Value"] for t in stack.get("Tags", [])},
    }


def release_configuration(
    live: Mapping[str, Any] | None, new: Mapping[str, Any]
) -> tuple[dict[str, Any], str]:
    """The release action's template configuration for ``new`` (this deploy's), and why.

    Only when the live endpoint is autoscaled and ``new`` changes its instance type does the
    release differ from ``new``: the live parameters and tags, autoscaling off. Parameters the live
    stack does not have yet take this deploy's values.
    """
    wanted = new["Parameters"]
    if live is None:
        return dict(new), "no live stack: nothing to release"
    current = live["Parameters"]
    if current.get("AutoscalingEnabled") != "true":
        return dict(new), "autoscaling is off on the live stack: nothing to release"
    if current.get("InstanceType") == wanted["InstanceType"]:
        return dict(new), f"instance type stays {wanted['InstanceType']}: nothing to release"
    parameters = {key: current.get(key, value) for key, value in wanted.items()}
    parameters["AutoscalingEnabled"] = "false"
    return (
        {"Parameters": parameters, "Tags": dict(live["Tags"]) or dict(new.get("Tags", {}))},
        f"instance type {current.get('InstanceType')} -> {wanted['InstanceType']}: the release "
        "deregisters the scalable target first (the live fleet is unchanged)",
    )
