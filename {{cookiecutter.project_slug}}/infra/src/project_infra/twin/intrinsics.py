"""CloudFormation intrinsic functions, resolved the way CloudFormation would for one deploy.

The twin needs this for the resources moto's CloudFormation does not create: their properties are
read from the same template and resolved against the parameter values and what moto created.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
NO_VALUE = object()  # AWS::NoValue: the property is removed


class ResolveError(ValueError):
    """An intrinsic the twin cannot resolve (names the function and its argument)."""


def references(value: Any) -> set[str]:
    """Logical ids (and parameter names) that ``value`` refers to through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" and isinstance(argument, str):
                return {argument}
            if key == "Fn::GetAtt":
                target = argument[0] if isinstance(argument, list) else str(argument).split(".")[0]
                return {target}
            if key == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                local = {} if isinstance(argument, str) else argument[1]
                names = {m.split(".")[0] for m in SUB_VARIABLE.findall(text)} - set(local)
                return names | references(local)
        for item in value.values():
            found |= references(item)
    return found


class Resolver:
    """``ref(name)`` and ``attribute(logical_id, name)`` supply the values; this does the rest."""

    def __init__(
        self,
        ref: Callable[[str], Any],
        attribute: Callable[[str, str], Any],
        conditions: dict[str, bool] | None = None,
    ) -> None:
        self._ref = ref
        self._attribute = attribute
        self.conditions = conditions or {}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            function = getattr(self, "_" + key.replace("::", "_").replace("Fn_", "fn_"), None)
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                if function is None:
                    raise ResolveError(f"{key}: not supported by the twin")
                return function(argument)
        items = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v is not NO_VALUE}

    def _Ref(self, name: str) -> Any:  # noqa: N802 - named after the intrinsic
        if name == "AWS::NoValue":
            return NO_VALUE
        return self._ref(name)

    def _fn_GetAtt(self, argument: Any) -> Any:  # noqa: N802
        logical, name = argument if isinstance(argument, list) else str(argument).split(".", 1)
        return self._attribute(logical, self.resolve(name))

    def _fn_Join(self, argument: list[Any]) -> str:  # noqa: N802
        separator, items = argument
        return str(separator).join(str(item) for item in self.resolve(items))

    def _fn_Sub(self, argument: Any) -> str:  # noqa: N802
        text, local = (argument, {}) if isinstance(argument, str) else argument
        values = {name: self.resolve(item) for name, item in local.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return str(values[name])
            if "." in name:
                logical, attribute = name.split(".", 1)
                return str(self._attribute(logical, attribute))
            return str(self._Ref(name))

        return SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    def _fn_Select(self, argument: list[Any]) -> Any:  # noqa: N802
        index, items = self.resolve(argument[0]), self.resolve(argument[1])
        return items[int(index)]

    def _fn_Split(self, argument: list[Any]) -> list[str]:  # noqa: N802
        separator, text = argument[0], self.resolve(argument[1])
        return str(text).split(separator)

    def _fn_If(self, argument: list[Any]) -> Any:  # noqa: N802
        name, yes, no = argument
        if name not in self.conditions:
            raise ResolveError(f"Fn::If: unknown condition {name!r}")
        return self.resolve(yes if self.conditions[name] else no)

    def _fn_Equals(self, argument: list[Any]) -> bool:  # noqa: N802
        left, right = (self.resolve(item) for item in argument)
        return bool(left == right)

    def _fn_Not(self, argument: list[Any]) -> bool:  # noqa: N802
        return not self.resolve(argument[0])

    def _fn_And(self, argument: list[Any]) -> bool:  # noqa: N802
        return all(self.resolve(item) for item in argument)

    def _fn_Or(self, argument: list[Any]) -> bool:  # noqa: N802
        return any(self.resolve(item) for item in argument)

    def _Condition(self, name: str) -> bool:  # noqa: N802
        return self.conditions[name]

    def _fn_ToJsonString(self, argument: Any) -> str:  # noqa: N802
        return json.dumps(self.resolve(argument), separators=(",", ":"))

    def _fn_GetAZs(self, _argument: Any) -> list[str]:  # noqa: N802
        region = self._ref("AWS::Region")
        return [f"{region}a", f"{region}b", f"{region}c"]


def evaluate_conditions(template: dict[str, Any], ref: Callable[[str], Any]) -> dict[str, bool]:
    """The template's Conditions, each evaluated once (conditions may use other conditions)."""
    conditions: dict[str, bool] = {}
    pending = dict(template.get("Conditions", {}))
    resolver = Resolver(ref, lambda *_: None, conditions)
    while pending:
        progressed = False
        for name, body in list(pending.items()):
            try:
                conditions[name] = bool(resolver.resolve(body))
            except KeyError:
                continue  # refers to a condition not evaluated yet
            del pending[name]
            progressed = True
        if not progressed:
            raise ResolveError(f"Conditions {sorted(pending)} refer to each other in a cycle")
    return conditions
