"""Evaluate the expressions of a pipeline definition: Get, Std:Join, Std:JsonGet and conditions.

The semantics follow the SageMaker Pipelines definition schema; anything else is an error naming it,
so a definition the local executor does not understand never runs half-right.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from model_build.errors import UsageError

# `Outputs['train']`, `Outputs[0]`, `auc.value`: a name followed by any number of [index] parts.
_TOKEN = re.compile(r"([^.\[\]]+)((?:\[(?:\d+|'[^']*'|\"[^\"]*\")\])*)")
_INDEX = re.compile(r"\[(\d+|'[^']*'|\"[^\"]*\")\]")


class UnsupportedDefinitionError(UsageError):
    """The definition uses a step type, function or condition this executor does not run."""


@dataclass
class Context:
    """What expressions can refer to while a pipeline runs."""

    parameters: dict[str, Any]
    execution: dict[str, Any]
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # Describe*-shaped properties
    property_files: dict[str, dict[str, Any]] = field(default_factory=dict)  # step -> name -> JSON


def resolve(value: Any, ctx: Context) -> Any:
    """Return ``value`` with every expression replaced by its value, recursively."""
    if isinstance(value, list):
        return [resolve(item, ctx) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Get":
            return _get(arg, ctx)
        if key == "Std:Join":
            return str(arg["On"]).join(_to_text(resolve(item, ctx)) for item in arg["Values"])
        if key == "Std:JsonGet":
            return _json_get(arg, ctx)
        if key.startswith("Std:"):
            raise UnsupportedDefinitionError(
                f"function {key} is not supported by the local executor "
                "(supported: Get, Std:Join, Std:JsonGet)"
            )
    return {key: resolve(item, ctx) for key, item in value.items()}


def references(value: Any) -> set[str]:
    """Names of the steps an expression tree reads from (``Steps.<name>...``)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        get = value.get("Get")
        if len(value) == 1 and isinstance(get, str) and get.startswith("Steps."):
            found.add(get.split(".")[1].split("[")[0])
        else:
            for item in value.values():
                found |= references(item)
    return found


def evaluate_condition(condition: Mapping[str, Any], ctx: Context) -> bool:
    """Evaluate one entry of a ConditionStep's ``Conditions`` list."""
    kind = condition.get("Type")
    if kind == "Not":
        return not evaluate_condition(condition["Expression"], ctx)
    if kind == "Or":
        return any(evaluate_condition(item, ctx) for item in condition["Conditions"])
    if kind == "In":
        left = resolve(condition["QueryValue"], ctx)
        return any(left == resolve(item, ctx) for item in condition["Values"])
    comparisons = {
        "Equals": lambda a, b: a == b,
        "GreaterThan": lambda a, b: a > b,
        "GreaterThanOrEqualTo": lambda a, b: a >= b,
        "LessThan": lambda a, b: a < b,
        "LessThanOrEqualTo": lambda a, b: a <= b,
    }
    if kind not in comparisons:
        raise UnsupportedDefinitionError(
            f"condition type {kind!r} is not supported by the local executor "
            f"(supported: {', '.join([*comparisons, 'In', 'Not', 'Or'])})"
        )
    left, right = resolve(condition["LeftValue"], ctx), resolve(condition["RightValue"], ctx)
    try:
        return bool(comparisons[kind](left, right))
    except TypeError:
        raise UsageError(f"condition {kind} cannot compare {left!r} with {right!r}") from None


def lookup(document: Any, path: str, what: str) -> Any:
    """Follow a dotted path with ``[n]``/``['name']`` parts; lists are indexed by their items' *Name."""
    current = document
    for match in _TOKEN.finditer(path):
        name, indexes = match.groups()
        current = _child(current, name, what, path)
        for index in _INDEX.findall(indexes):
            current = _child(current, index, what, path)
    return current


def _child(current: Any, key: str, what: str, path: str) -> Any:
    if key[:1] in "'\"":
        key = key[1:-1]
        if isinstance(current, list):  # Outputs['train'] selects the item named 'train'
            for item in current:
                if isinstance(item, dict) and key in {
                    v for k, v in item.items() if k.endswith("Name")
                }:
                    return item
        elif isinstance(current, dict) and key in current:
            return current[key]
    elif key.isdigit() and isinstance(current, list):
        if int(key) < len(current):
            return current[int(key)]
    elif isinstance(current, dict) and key in current:
        return current[key]
    raise UsageError(f"{what}: nothing at {key!r} of path {path!r}")


def _get(path: str, ctx: Context) -> Any:
    head, _, rest = path.partition(".")
    if head == "Parameters":
        if rest not in ctx.parameters:
            raise UsageError(
                f"Get {path}: no parameter {rest!r} (defined: {', '.join(ctx.parameters)})"
            )
        return ctx.parameters[rest]
    if head == "Execution":
        if rest not in ctx.execution:
            raise UnsupportedDefinitionError(
                f"Get {path}: execution variable {rest!r} is not supported "
                f"(supported: {', '.join(ctx.execution)})"
            )
        return ctx.execution[rest]
    if head == "Steps":
        step, _, prop = rest.partition(".")
        if step not in ctx.steps:
            raise UsageError(f"Get {path}: step {step!r} has not run")
        if prop.startswith("PropertyFiles."):
            return {"PropertyFileStep": step, "PropertyFileName": prop.split(".", 1)[1]}
        return lookup(ctx.steps[step], prop, f"Get {path}")
    raise UnsupportedDefinitionError(
        f"Get {path}: unsupported reference (supported: Parameters, Execution, Steps)"
    )


def _json_get(arg: Mapping[str, Any], ctx: Context) -> Any:
    source = resolve(arg["PropertyFile"], ctx)
    if not isinstance(source, dict) or "PropertyFileStep" not in source:
        raise UnsupportedDefinitionError(
            "Std:JsonGet: only property files (PropertyFile) are supported"
        )
    step, name = source["PropertyFileStep"], source["PropertyFileName"]
    document = ctx.property_files.get(step, {}).get(name)
    if document is None:
        raise UsageError(f"Std:JsonGet: step {step!r} produced no property file {name!r}")
    return lookup(document, arg["Path"], f"property file {name} of step {step}")


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)
