"""Deploy a CloudFormation template into the emulator: moto's CloudFormation creates what it
supports; the twin creates the rest through the service's API in moto (where moto has one) from the
same template's properties, resolved as CloudFormation would; nothing is left out silently.

Every resource ends up in :class:`Stack` with how it was provisioned, which is also the twin's
emulation table (``coverage``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import Any

from project_infra import project_name_handler
from project_infra.twin.intrinsics import NO_VALUE, Resolver, evaluate_conditions, references

MOTO = "emulated by moto"
TWIN = "interpreted by the twin"
NONE = "not emulated"


class ProvisionError(RuntimeError):
    """A stack the emulator could not create; the message names the stack and resource."""


def moto_types() -> set[str]:
    from moto.cloudformation.parsing import get_model_map  # noqa: PLC0415

    return set(get_model_map())


# moto-created types whose resolved properties the twin reads too (rule patterns and targets, what an
# endpoint serves and where it captures).
READ_BACK = {
    "AWS::Events::Rule",
    "AWS::SageMaker::Model",
    "AWS::SageMaker::EndpointConfig",
    "AWS::SageMaker::Endpoint",
}

# Resource types moto's CloudFormation has but gets wrong for these templates; the twin takes them.
MOTO_DEFECTS: dict[str, str] = {
    # moto 5.2.5 names these after the logical id and ignores ModelName / EndpointConfigName /
    # EndpointName, so the endpoint the tests and the traffic call would not exist.
    "AWS::SageMaker::Model": "moto ignores ModelName",
    "AWS::SageMaker::EndpointConfig": "moto ignores EndpointConfigName",
    "AWS::SageMaker::Endpoint": "moto ignores EndpointName",
    # moto 5.2.5 looks an S3 destination's bucket up by the ARN with its key prefix
    # (arn:...:bucket/vpc-flow-logs/), finds none and fails the stack.
    "AWS::EC2::FlowLog": "moto fails a flow log into an S3 key prefix",
    # moto 5.2.5 reads the parameter's Tags as a list; CloudFormation's is a map (key: value).
    "AWS::SSM::Parameter": "moto fails on CloudFormation's map of tags",
}


@dataclass
class Resource:
    logical_id: str
    type: str
    how: str  # MOTO | TWIN | NONE
    physical_id: str = ""
    properties: dict[str, Any] = field(default_factory=dict)  # resolved (TWIN and NONE only)
    note: str = ""


@dataclass
class Stack:
    name: str
    account: str
    region: str
    parameters: dict[str, str]
    resources: dict[str, Resource] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)  # the twin's resources, in creation order

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Stack:
        fields = {k: v for k, v in data.items() if k != "resources"}
        resources = {k: Resource(**v) for k, v in data["resources"].items()}
        return cls(**fields, resources=resources)

    def of_type(self, kind: str) -> dict[str, Resource]:
        return {k: r for k, r in self.resources.items() if r.type == kind}

    def coverage(self) -> list[tuple[str, str, str]]:
        """(resource type, how, note) once per type and way, sorted."""
        rows = {(r.type, r.how, r.note) for r in self.resources.values()}
        return sorted(rows)


# -- names and attributes of what the twin creates (as CloudFormation names them) -------------------


def _generated_name(stack: str, logical_id: str, limit: int = 64) -> str:
    suffix = hashlib.sha256(f"{stack}/{logical_id}".encode()).hexdigest()[:12].upper()
    return f"{stack}-{logical_id}"[: limit - 13] + "-" + suffix


NAME_PROPERTY = {
    "AWS::CodeBuild::Project": "Name",
    "AWS::CodePipeline::Pipeline": "Name",
    "AWS::SageMaker::ModelPackageGroup": "ModelPackageGroupName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::CodeCommit::Repository": "RepositoryName",
    "AWS::SageMaker::Model": "ModelName",
    "AWS::SageMaker::EndpointConfig": "EndpointConfigName",
    "AWS::SageMaker::Endpoint": "EndpointName",
    "AWS::SageMaker::MlflowApp": "Name",
    "AWS::IAM::OIDCProvider": "Url",  # the provider's ARN holds its URL
    "AWS::Events::Connection": "Name",
    "AWS::Events::ApiDestination": "Name",
    "AWS::SSM::Parameter": "Name",
}


SAGEMAKER_HOSTING = {
    "AWS::SageMaker::Model": ("model", "ModelName"),
    "AWS::SageMaker::EndpointConfig": ("endpoint-config", "EndpointConfigName"),
    "AWS::SageMaker::Endpoint": ("endpoint", "EndpointName"),
}


def _arn(stack: Stack, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{stack.region}:{stack.account}:{resource}"


def _codecommit(stack: Stack, name: str) -> dict[str, str]:
    https = f"https://git-codecommit.{stack.region}.amazonaws.com/v1/repos/{name}"
    return {
        "Arn": _arn(stack, "codecommit", name),
        "Name": name,
        "CloneUrlHttp": https,
        "CloneUrlSsh": https.replace("https://", "ssh://"),
        "CloneUrlGrc": f"codecommit::{stack.region}://{name}",
    }


def _sagemaker_hosting(kind: str) -> Callable[[Stack, str], dict[str, str]]:
    resource, attribute = SAGEMAKER_HOSTING[kind]

    def attributes(stack: Stack, name: str) -> dict[str, str]:  # Ref is the ARN
        arn = _arn(stack, "sagemaker", f"{resource}/{name.lower()}")
        return {"Ref": arn, attribute: name, "Arn": arn}

    return attributes


# CloudFormation's return values (Ref, Fn::GetAtt) of the types the twin creates.
ATTRIBUTES: dict[str, Callable[[Stack, str], dict[str, str]]] = {
    "AWS::CodeBuild::Project": lambda s, n: {"Arn": _arn(s, "codebuild", f"project/{n}")},
    "AWS::CodePipeline::Pipeline": lambda _s, _n: {"Version": "1"},
    # SageMaker writes names lowercased into ARNs.
    "AWS::SageMaker::ModelPackageGroup": lambda s, n: {
        "ModelPackageGroupArn": _arn(s, "sagemaker", f"model-package-group/{n.lower()}")
    },
    "AWS::CloudWatch::Alarm": lambda s, n: {"Arn": _arn(s, "cloudwatch", f"alarm:{n}")},
    "AWS::Scheduler::Schedule": lambda s, n: {"Arn": _arn(s, "scheduler", f"schedule/default/{n}")},
    "AWS::CodeCommit::Repository": _codecommit,
    "AWS::ApplicationAutoScaling::ScalingPolicy": lambda _s, n: {"Arn": n},
    # The app's name is not part of its ARN (CreateMlflowApp): an app id stands in.
    "AWS::SageMaker::MlflowApp": lambda s, n: {
        "Arn": _arn(s, "sagemaker", f"mlflow-app/app-{hashlib.sha256(n.encode()).hexdigest()[:12]}")
    },
    "AWS::IAM::OIDCProvider": lambda s, url: {
        "Ref": f"arn:aws:iam::{s.account}:oidc-provider/{url.removeprefix('https://')}",
        "Arn": f"arn:aws:iam::{s.account}:oidc-provider/{url.removeprefix('https://')}",
    },
    # EventBridge appends an id to these ARNs; the twin's bus finds them by name.
    "AWS::Events::Connection": lambda s, n: {"Arn": _arn(s, "events", f"connection/{n}")},
    "AWS::Events::ApiDestination": lambda s, n: {"Arn": _arn(s, "events", f"api-destination/{n}")},
    # The custom resource's Data, from its handler's own function (twin.project_name runs the
    # whole handler on Create and checks the answer is this).
    project_name_handler.RESOURCE_TYPE: lambda s, _n: project_name_handler.data(
        s.parameters["SageMakerProjectName"]
    ),
    **{kind: _sagemaker_hosting(kind) for kind in SAGEMAKER_HOSTING},
}


def _attributes(stack: Stack, res: Resource) -> dict[str, str]:
    attributes = ATTRIBUTES.get(res.type)
    return attributes(stack, res.physical_id) if attributes else {}


# -- deploy ----------------------------------------------------------------------------------------------


def deploy(
    template: dict[str, Any],
    *,
    stack_name: str,
    parameters: dict[str, str],
    clients: Callable[[str], Any],
    account: str,
    region: str,
    interpreters: dict[str, Callable[[Any, Resource, Stack], str]],
    not_emulated: dict[str, str],
) -> Stack:
    """Create ``template`` as stack ``stack_name``. ``interpreters`` maps a resource type to a
    function that creates it through the API (returning a note); ``not_emulated`` maps the types
    nothing creates to the reason. A type in neither, and not moto's, fails here."""
    template = json.loads(json.dumps(template))  # callers keep their copy
    supported = moto_types() - set(MOTO_DEFECTS)
    declared = template.get("Parameters", {})
    values = _parameter_values(declared, parameters, stack_name)
    stack = Stack(stack_name, account, region, values)
    resources = template.get("Resources", {})
    unknown = sorted(
        {r["Type"] for r in resources.values()} - supported - set(interpreters) - set(not_emulated)
    )
    if unknown:
        raise ProvisionError(
            f"stack {stack_name}: resource type {unknown[0]} is neither emulated by moto nor "
            "interpreted by the twin; add it to the twin's table"
        )
    pseudo = {
        "AWS::AccountId": account,
        "AWS::Region": region,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": stack_name,
        "AWS::StackId": _arn(stack, "cloudformation", f"stack/{stack_name}/twin"),
        "AWS::NoValue": NO_VALUE,
    }
    base_ref = {**pseudo, **_typed(declared, values)}
    conditions = evaluate_conditions(template, lambda n: base_ref[n])
    for logical_id, body in resources.items():
        if "Condition" not in body or conditions[body["Condition"]]:
            kind = body["Type"]
            how = MOTO if kind in supported else TWIN if kind in interpreters else NONE
            res = Resource(logical_id, kind, how, note=not_emulated.get(kind, ""))
            if how != MOTO:
                res.physical_id = _physical_name(stack_name, logical_id, body, base_ref)
            stack.resources[logical_id] = res
    twin_values = {
        logical: (res.physical_id, _attributes(stack, res))
        for logical, res in stack.resources.items()
        if res.how != MOTO
    }

    moto_part = _moto_template(template, stack, twin_values, conditions)
    needed = _needed_from_moto(template, stack)
    outputs = _deploy_in_moto(moto_part, needed, stack, clients("cloudformation"))

    def ref(name: str) -> Any:
        if name in base_ref:
            return base_ref[name]
        if name in twin_values:  # live: an interpreter may set the id the API gave it
            return twin_values[name][1].get("Ref", stack.resources[name].physical_id)
        if ("Ref", name) in outputs:
            return outputs[("Ref", name)]
        raise ProvisionError(f"stack {stack_name}: Ref {name} cannot be resolved")

    def attribute(logical: str, name: str) -> Any:
        if logical in twin_values:
            attrs = twin_values[logical][1]
            if name not in attrs:
                raise ProvisionError(
                    f"stack {stack_name}: {logical}.{name} is not an attribute the twin knows"
                )
            return attrs[name]
        if (name, logical) in outputs:
            return outputs[(name, logical)]
        raise ProvisionError(f"stack {stack_name}: Fn::GetAtt {logical}.{name} cannot be resolved")

    resolver = Resolver(ref, attribute, conditions)
    order = TopologicalSorter(
        {
            logical: (references(resources[logical]) | set(_depends(resources[logical])))
            & set(twin_values)
            for logical in twin_values
        }
    )
    for logical, res in stack.resources.items():
        if res.how == MOTO and res.type in READ_BACK:
            res.properties = resolver.resolve(resources[logical].get("Properties", {}))
    for logical in order.static_order():
        res = stack.resources[logical]
        res.properties = resolver.resolve(resources[logical].get("Properties", {}))
        if res.how == TWIN:
            try:
                res.note = interpreters[res.type](clients, res, stack) or res.note
            except Exception as error:  # one line: the resource and the service's own message
                raise ProvisionError(
                    f"stack {stack_name}: {logical} ({res.type}): {_first_line(error)}"
                ) from error
            stack.created.append(logical)
    stack.outputs = {
        key: str(resolver.resolve(body["Value"]))
        for key, body in template.get("Outputs", {}).items()
        if "Condition" not in body or conditions[body["Condition"]]
    }
    return stack


def undeploy(
    stack: Stack,
    clients: Callable[[str], Any],
    deleters: dict[str, Callable[[Any, Resource], None]],
) -> list[str]:
    """Delete what the twin created for ``stack`` through the services' APIs, dependents first (the
    reverse of creation), as CloudFormation deletes a stack; moto's part goes with DeleteStack.
    Returns the logical ids deleted."""
    missing = sorted({stack.resources[x].type for x in stack.created} - set(deleters))
    if missing:
        raise ProvisionError(f"stack {stack.name}: the twin cannot delete {missing[0]}; add it")
    for logical in reversed(stack.created):
        res = stack.resources[logical]
        try:
            deleters[res.type](clients, res)
        except Exception as error:
            raise ProvisionError(
                f"stack {stack.name}: deleting {logical} ({res.type}): {_first_line(error)}"
            ) from error
    return list(reversed(stack.created))


def _physical_name(
    stack_name: str, logical_id: str, body: dict[str, Any], values: dict[str, Any]
) -> str:
    """The name property when the template gives one from parameters; else a generated name."""
    prop = NAME_PROPERTY.get(body["Type"])
    given = body.get("Properties", {}).get(prop) if prop else None
    if isinstance(given, (str, dict)) and not references(given) - set(values):
        return str(Resolver(values.__getitem__, lambda *_: "").resolve(given))
    return _generated_name(stack_name, logical_id)


def _parameter_values(
    declared: dict[str, Any], given: dict[str, str], stack_name: str
) -> dict[str, str]:
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ProvisionError(
            f"stack {stack_name}: parameter {unknown[0]!r} is not in the template; "
            f"declared: {', '.join(sorted(declared))}"
        )
    values = {}
    for name, spec in declared.items():
        if name in given:
            values[name] = given[name]
        elif "Default" in spec:
            values[name] = str(spec["Default"])
        else:
            raise ProvisionError(
                f"stack {stack_name}: parameter {name} has no value and no default"
            )
    return values


def _typed(declared: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """What ``Ref`` gives for each parameter: a list for a CommaDelimitedList or List<...> one (a
    blank value: one empty string), the string otherwise
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html)."""
    return {
        name: value.split(",")
        if str(declared[name].get("Type", "")).startswith(("CommaDelimitedList", "List<"))
        else value
        for name, value in values.items()
    }


def _depends(body: dict[str, Any]) -> list[str]:
    depends = body.get("DependsOn", [])
    return [depends] if isinstance(depends, str) else list(depends)


def _substitute(value: Any, twin_values: dict[str, tuple[str, dict[str, str]]]) -> Any:
    """Replace references to twin-created resources by their values (moto cannot resolve them)."""
    if isinstance(value, list):
        return [_substitute(v, twin_values) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and argument in twin_values:
            physical, attrs = twin_values[argument]
            return attrs.get("Ref", physical)
        if key == "Fn::GetAtt":
            logical, name = argument if isinstance(argument, list) else argument.split(".", 1)
            if logical in twin_values:
                return twin_values[logical][1].get(name, "")
        if key == "Fn::Sub":
            text, local = (argument, {}) if isinstance(argument, str) else argument
            for logical, (physical, attrs) in twin_values.items():
                text = text.replace(f"${{{logical}}}", physical)
                for name, attr in attrs.items():
                    text = text.replace(f"${{{logical}.{name}}}", attr)
            local = _substitute(local, twin_values)
            return {"Fn::Sub": text if not local else [text, local]}
    return {k: _substitute(v, twin_values) for k, v in value.items()}


def _moto_template(
    template: dict[str, Any],
    stack: Stack,
    twin_values: dict[str, tuple[str, dict[str, str]]],
    conditions: dict[str, bool],
) -> dict[str, Any]:
    keep = {k for k, r in stack.resources.items() if r.how == MOTO}
    resources = {}
    for logical in keep:
        body = _substitute(template["Resources"][logical], twin_values)
        depends = [d for d in _depends(body) if d in keep]
        body.pop("DependsOn", None)
        if depends:
            body["DependsOn"] = depends
        body.pop("Metadata", None)
        _moto_workarounds(body)
        resources[logical] = body
    part: dict[str, Any] = {"Resources": resources or _placeholder(stack.name)}
    # Rules (CDK's bootstrap check) are the twin's: moto does not evaluate Rules. The outputs go
    # to moto too (DescribeStacks is how a later step reads them, e.g. make deploy-bootstrap).
    for key in ("Parameters", "Conditions", "Mappings"):
        if key in template:
            part[key] = template[key]
    if "Parameters" in part:
        part["Parameters"] = _lists_as_given(part["Parameters"], resources)
    part["Outputs"] = _substitute(template.get("Outputs", {}), twin_values)
    return part


def _lists_as_given(declared: dict[str, Any], moto_resources: dict[str, Any]) -> dict[str, Any]:
    """CommaDelimitedList parameters that no moto resource uses, declared as String: moto 5.2.5's
    DescribeStacks returns such a value as Python's repr of the list (``"['']"`` for ``""``), where
    CloudFormation returns it as given, and the deploy build reads the live stack's parameters back."""
    used = references(moto_resources)
    return {
        name: {**spec, "Type": "String"}
        if spec.get("Type") == "CommaDelimitedList" and name not in used
        else spec
        for name, spec in declared.items()
    }


def _placeholder(stack: str) -> dict[str, Any]:
    """A stack needs one resource; this one stands in when moto creates none of the template's."""
    properties = {"Name": f"/twin/{stack}/placeholder", "Type": "String", "Value": "twin"}
    return {"TwinPlaceholder": {"Type": "AWS::SSM::Parameter", "Properties": properties}}


def _moto_workarounds(body: dict[str, Any]) -> None:
    """Properties moto's CloudFormation mis-handles, dropped before it sees them (listed in the
    coverage table through the resource's note)."""
    if body["Type"] == "AWS::KMS::Key":
        body.get("Properties", {}).pop("Tags", None)  # moto 5.2.5: KeyError 'TagKey'


def _needed_from_moto(template: dict[str, Any], stack: Stack) -> set[tuple[str, str]]:
    """(attribute or 'Ref', logical id) pairs of moto resources the twin's part refers to."""
    moto_ids = {k for k, r in stack.resources.items() if r.how == MOTO}
    needed: set[tuple[str, str]] = set()

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            if len(value) == 1:
                ((key, argument),) = value.items()
                if key == "Ref" and argument in moto_ids:
                    needed.add(("Ref", argument))
                elif key == "Fn::GetAtt":
                    logical, name = (
                        argument if isinstance(argument, list) else argument.split(".", 1)
                    )
                    if logical in moto_ids:
                        needed.add((name, logical))
                elif key == "Fn::Sub":
                    text = argument if isinstance(argument, str) else argument[0]
                    for item in text.split("${")[1:]:
                        name = item.split("}")[0]
                        logical, _, attr = name.partition(".")
                        if logical in moto_ids:
                            needed.add((attr or "Ref", logical))
            for item in value.values():
                walk(item)

    for logical, res in stack.resources.items():
        if res.how != MOTO or res.type in READ_BACK:
            walk(template["Resources"][logical])
    walk(template.get("Outputs", {}))
    return needed


def _deploy_in_moto(
    part: dict[str, Any], needed: set[tuple[str, str]], stack: Stack, cloudformation: Any
) -> dict[tuple[str, str], str]:
    """Create the moto part; moto itself resolves the values the twin's part needs (as outputs)."""
    index = sorted(needed)
    part["Outputs"] = {
        **part.get("Outputs", {}),
        **{
            f"Twin{i}": {
                "Value": {"Ref": logical} if attr == "Ref" else {"Fn::GetAtt": [logical, attr]}
            }
            for i, (attr, logical) in enumerate(index)
        },
    }
    declared = part.get("Parameters", {})
    try:
        cloudformation.create_stack(
            StackName=stack.name,
            TemplateBody=json.dumps(part),
            Parameters=[
                {"ParameterKey": k, "ParameterValue": v}
                for k, v in stack.parameters.items()
                if k in declared
            ],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
    except Exception as error:
        raise ProvisionError(
            f"stack {stack.name}: moto CloudFormation: {_first_line(error)}"
        ) from error
    description = _wait(cloudformation, stack.name)
    for summary in cloudformation.list_stack_resources(StackName=stack.name)[
        "StackResourceSummaries"
    ]:
        res = stack.resources.get(summary["LogicalResourceId"])
        if res is not None:
            res.physical_id = summary["PhysicalResourceId"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
    return {pair: outputs[f"Twin{i}"] for i, pair in enumerate(index)}


def _wait(cloudformation: Any, name: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        description = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        status = description["StackStatus"]
        if status.endswith("_COMPLETE") and "ROLLBACK" not in status:
            return description
        if status.endswith("FAILED") or "ROLLBACK" in status or time.monotonic() > deadline:
            reason = description.get("StackStatusReason", "")
            raise ProvisionError(
                f"stack {name}: moto CloudFormation ended in {status} {reason}".strip()
            )
        time.sleep(0.2)


def _first_line(error: Exception) -> str:
    """The error on one line (botocore's validation errors list each problem on its own line)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " ".join(lines) if lines else type(error).__name__
