"""The UCI Mammographic Mass columns, their valid values, and the cleaning rules.

See ``model-build/data/README.md`` for the data set's documentation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Column:
    """One column of the raw file and the values it may hold."""

    name: str
    low: float
    high: float
    whole: bool  # codes and years: a fractional value is as invalid as an out-of-range one


COLUMNS: tuple[Column, ...] = (
    # BI-RADS is 1-5; the file also holds 0, 6 and one 55 (typing errors), which become missing.
    Column("BI-RADS", 1, 5, whole=True),
    # The file holds ages 18-96; accept any plausible human age so new data is not silently blanked.
    Column("Age", 1, 120, whole=False),
    Column("Shape", 1, 4, whole=True),  # round, oval, lobular, irregular
    Column("Margin", 1, 5, whole=True),  # circumscribed ... spiculated
    Column("Density", 1, 4, whole=True),  # high, iso, low, fat-containing
    Column("Severity", 0, 1, whole=True),  # benign=0, malignant=1: the label
)
COLUMN_NAMES: tuple[str, ...] = tuple(column.name for column in COLUMNS)
LABEL = "Severity"
NON_PREDICTIVE = "BI-RADS"  # the data set's documentation marks it non-predictive
MISSING_TOKENS = frozenset({"?", ""})
# Columns whose codes are ordered by suspicion of malignancy (and age, a known risk factor): with the
# `monotone` hyperparameter on, the model may only raise the risk as they grow. On 961 rows this
# regularises the trees and lifts the held-out AUC (bench/model_quality).
RISING_RISK = frozenset({"BI-RADS", "Age", "Shape", "Margin"})


def feature_names(*, keep_bi_rads: bool = False) -> list[str]:
    """The model's input columns in file order; BI-RADS only when asked for."""
    return [
        name for name in COLUMN_NAMES if name != LABEL and (keep_bi_rads or name != NON_PREDICTIVE)
    ]


def features_for_width(width: int) -> list[str]:
    """The feature names of a channel file with ``width`` feature columns (label excluded).

    Channel files carry no header; the two feature sets differ in width, so the width decides.
    """
    for keep in (False, True):
        names = feature_names(keep_bi_rads=keep)
        if len(names) == width:
            return names
    allowed = sorted({len(feature_names(keep_bi_rads=k)) for k in (False, True)})
    raise ValueError(
        f"{width} feature columns; expected one of {allowed} ({', '.join(COLUMN_NAMES)})"
    )


def invalid_mask(column: Column, values: np.ndarray) -> np.ndarray:
    """True where a present value is outside the column's valid values."""
    present = ~np.isnan(values)
    bad = present & ((values < column.low) | (values > column.high))
    if column.whole:
        bad |= present & (values != np.round(values))
    return bad


def blank_invalid(table: np.ndarray) -> dict[str, int]:
    """Set out-of-range feature values of a raw ``table`` (all columns) to NaN, in place.

    Returns how many values each column lost. The label is not touched: a bad label is an
    input error the caller reports (see ``data.read_raw``).
    """
    blanked: dict[str, int] = {}
    for index, column in enumerate(COLUMNS):
        if column.name == LABEL:
            continue
        bad = invalid_mask(column, table[:, index])
        table[bad, index] = np.nan
        blanked[column.name] = int(bad.sum())
    return blanked
