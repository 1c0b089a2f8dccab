"""Our extension of the data-quality baselines: ``extension_constraints.json`` beside Model Monitor's
``constraints.json``, with what our own checks (``range_check``) compare a window with.

``constraints.json`` holds exactly the documented keys (a Model Monitor reader's file), so, as our
checks' findings go to ``extension_violations.json`` beside ``constraint_violations.json``, their
limits go to a file of their own beside it, in the same shape (a ``features`` list by name):

    {"version": 0.0, "features": [{"name": "Age", "range_constraints": {"min": 1.0, "max": 120.0}}]}

A bound is ``null`` where the schema leaves that side open (JSON has no infinity). The baselines step
writes it from the model folder's schema, so a monitoring run reads the valid ranges without
importing the model folder (and its libraries). Baselines written before this file get the ranges
from the schema instead (``schema_ranges``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from model_container.columns import Column, Numeric

FILE_NAME = "extension_constraints.json"
VERSION = 0.0

Ranges = dict[str, tuple[float, float]]  # feature -> (lowest, highest valid value)


def _bound(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def document(features: Sequence[str], columns: Iterable[Column]) -> dict[str, Any]:
    """The file's document: the valid range of each numeric feature with at least one finite bound."""
    numeric = {c.name: c for c in columns if isinstance(c, Numeric)}
    entries = []
    for name in features:
        column = numeric.get(name)
        if column is None or not (math.isfinite(column.low) or math.isfinite(column.high)):
            continue
        entries.append(
            {
                "name": name,
                "range_constraints": {"min": _bound(column.low), "max": _bound(column.high)},
            }
        )
    return {"version": VERSION, "features": entries}


def _number(value: Any, open_side: float, where: str) -> float:
    if value is None:
        return open_side
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValueError(f"{where} is {value!r}; allowed: a number or null (no bound)")
    return float(value)


def valid_ranges(document: Mapping[str, Any]) -> Ranges:
    """Feature -> (min, max) of a document of this shape; ValueError names what is wrong."""
    features = document.get("features")
    if not isinstance(features, list):
        raise ValueError("no list of features")
    ranges: Ranges = {}
    for feature in features:
        name = feature.get("name") if isinstance(feature, dict) else None
        if not isinstance(name, str):
            raise ValueError(f"feature {feature!r} has no name")
        bounds = feature.get("range_constraints")
        if bounds is None:  # a feature without our constraints
            continue
        if not isinstance(bounds, dict):
            raise ValueError(f"{name}: range_constraints is {bounds!r}; expected min and max")
        low = _number(bounds.get("min"), -math.inf, f"{name}: range_constraints.min")
        high = _number(bounds.get("max"), math.inf, f"{name}: range_constraints.max")
        if low > high:
            raise ValueError(f"{name}: range_constraints.min {low:g} is above max {high:g}")
        ranges[name] = (low, high)
    return ranges


def schema_ranges() -> Ranges:
    """The valid ranges of the model folder's schema: for baselines written without this file.
    Imports the model folder (and its libraries: about a second for XGBoost), hence only here."""
    import project_model  # noqa: PLC0415

    return {
        column.name: (column.low, column.high)
        for column in project_model.SCHEMA.columns
        if isinstance(column, Numeric)
    }
