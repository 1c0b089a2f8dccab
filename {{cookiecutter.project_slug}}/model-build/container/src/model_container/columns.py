"""The types a model's schema is written in, and how a field of text becomes a model input value.

The model folder (``project_model.SCHEMA``) declares its columns with these; every reader of the image
(raw data, channel files, requests, captured requests, batch input) encodes a feature value with
``encode`` so all of them agree: a number stays a number, a category becomes its position in the
declared list (the code the estimator trains on), a missing value becomes NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

MISSING_TOKENS = frozenset({"?", ""})


@dataclass(frozen=True)
class Numeric:
    """A numeric column: values outside [low, high] (or fractional when ``whole``) become missing."""

    name: str
    low: float = -math.inf
    high: float = math.inf
    whole: bool = False  # codes and counts: a fractional value is as invalid as an out-of-range one
    kind = "numeric"

    def invalid(self, value: float) -> bool:
        return not self.low <= value <= self.high or (self.whole and value != round(value))


@dataclass(frozen=True)
class Categorical:
    """A categorical column: one of ``categories`` (strings as they appear in the data)."""

    name: str
    categories: tuple[str, ...]
    kind = "categorical"

    def __post_init__(self) -> None:
        if not self.categories or len(set(self.categories)) != len(self.categories):
            raise ValueError(f"{self.name}: categories must be a non-empty list without repeats")


Column = Numeric | Categorical


@dataclass(frozen=True)
class Schema:
    """The raw data's columns in file order, which of them the model uses, and the label."""

    columns: tuple[Column, ...]
    label: str
    positive: str  # the label value that is class 1 (the event the model scores)
    negative: str
    unused: frozenset[str] = field(default_factory=frozenset)  # read and checked, not a feature

    def __post_init__(self) -> None:
        names = [column.name for column in self.columns]
        if self.label not in names:
            raise ValueError(f"label {self.label!r} is not one of the columns {names}")
        if unknown := sorted(self.unused - set(names)):
            raise ValueError(f"unused columns {unknown} are not among the columns {names}")
        if not self.features:
            raise ValueError("the schema leaves no feature column")

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def features(self) -> list[Column]:
        return [c for c in self.columns if c.name != self.label and c.name not in self.unused]

    @property
    def feature_names(self) -> list[str]:
        return [column.name for column in self.features]

    def categories(self) -> dict[str, tuple[str, ...]]:
        """The categorical features and their categories (what the model artifact records)."""
        return {c.name: c.categories for c in self.features if isinstance(c, Categorical)}


class EncodeError(ValueError):
    """A field that is neither missing nor a valid value of its column (the message names both)."""


def category_codes(categories: tuple[str, ...] | list[str]) -> dict[str, float]:
    return {category: float(code) for code, category in enumerate(categories)}


def category_text(value: object) -> str | None:
    """A JSON value of a categorical feature as its text: a string, or a whole number (``7`` for
    category ``"7"``); None for anything else (null is the caller's: missing)."""
    if isinstance(value, str):
        return value
    return str(value) if type(value) is int else None


def encode(text: str, categories: dict[str, float] | None) -> float:
    """A field as a model input: NaN when missing, the category's code, or the number.

    Raises EncodeError for anything else (the caller knows the row and column to name).
    """
    token = text.strip()
    if token in MISSING_TOKENS:
        return math.nan
    if categories is not None:
        code = categories.get(token.strip('"'))
        if code is None:
            allowed = ", ".join(list(categories)[:10]) + (", ..." if len(categories) > 10 else "")
            raise EncodeError(f"{token[:40]!r} is not a category; allowed: {allowed} or empty")
        return code
    try:
        value = float(token)
    except ValueError:
        value = math.nan
    else:
        if math.isfinite(value):
            return value
    raise EncodeError(f"{token[:40]!r} is not a number; allowed: a number, or empty for missing")
