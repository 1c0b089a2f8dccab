"""Reading and writing the step's CSV files, with one-line errors that name file, line and value.

Two formats: the raw UCI file (all columns, ``?`` for missing, no header) and the channel files the
steps exchange (label first, no header, empty field for missing: SageMaker's XGBoost convention).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model_container.schema import COLUMN_NAMES, LABEL, MISSING_TOKENS, features_for_width
from model_container.steps import StepError


@dataclass(frozen=True)
class Dataset:
    """Features (NaN = missing) and 0/1 labels of one split."""

    features: np.ndarray
    labels: np.ndarray
    feature_names: list[str]

    def __len__(self) -> int:
        return len(self.labels)


def data_files(directory: Path) -> list[Path]:
    """Every regular, non-hidden file below ``directory``, in a stable order."""
    if not directory.is_dir():
        raise StepError(f"input folder {directory} does not exist")
    return sorted(
        path
        for path in directory.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(directory).parts)
    )


def read_raw(directory: Path) -> np.ndarray:
    """Read every raw UCI file below ``directory`` into one float table (NaN = missing).

    A header line naming the columns is accepted and skipped; anything else that is not a number,
    ``?`` or empty is an error, and so is a label other than 0 or 1.
    """
    files = data_files(directory)
    if not files:
        raise StepError(
            f"no input files in {directory}: expected CSV files with columns {', '.join(COLUMN_NAMES)}"
        )
    rows: list[list[float]] = []
    label_index = COLUMN_NAMES.index(LABEL)
    for path in files:
        for line_no, fields in _csv_rows(path):
            if line_no == 1 and [f.strip().lower() for f in fields] == [
                c.lower() for c in COLUMN_NAMES
            ]:
                continue
            if len(fields) != len(COLUMN_NAMES):
                raise StepError(
                    f"{path}:{line_no}: {len(fields)} fields, expected {len(COLUMN_NAMES)} ({', '.join(COLUMN_NAMES)})"
                )
            _check_label(path, line_no, LABEL, fields[label_index])
            rows.append(
                [
                    _number(path, line_no, name, field)
                    for name, field in zip(COLUMN_NAMES, fields, strict=True)
                ]
            )
    if not rows:
        raise StepError(f"no data rows in {', '.join(str(p) for p in files)}")
    return np.array(rows, dtype=np.float64)


def read_channel(directory: Path, *, name: str) -> Dataset:
    """Read a channel folder (label first, no header, empty = missing) written by ``write_channel``."""
    if not directory.is_dir():
        raise StepError(f"the {name} channel {directory} does not exist")
    files = data_files(directory)
    if not files:
        raise StepError(f"no files in the {name} channel {directory}")
    rows: list[list[float]] = []
    width: int | None = None
    for path in files:
        for line_no, fields in _csv_rows(path):
            if width is None:
                width = len(fields)
                try:
                    names = features_for_width(width - 1)
                except ValueError as error:
                    raise StepError(f"{path}:{line_no}: label plus {error}") from None
            elif len(fields) != width:
                raise StepError(
                    f"{path}:{line_no}: {len(fields)} fields, expected {width} like the first row"
                )
            _check_label(path, line_no, "label (first column)", fields[0])
            rows.append(
                [
                    _number(path, line_no, column, field)
                    for column, field in zip([LABEL, *names], fields, strict=True)
                ]
            )
    if not rows:
        raise StepError(f"the {name} channel {directory} has no rows")
    table = np.array(rows, dtype=np.float64)
    return Dataset(features=table[:, 1:], labels=table[:, 0], feature_names=names)


def write_channel(path: Path, data: Dataset) -> None:
    """Write label first, no header, empty field for a missing value."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for label, features in zip(data.labels, data.features, strict=True):
            writer.writerow([_format(label), *map(_format, features)])


def write_with_header(path: Path, names: Sequence[str], table: np.ndarray) -> None:
    """Write a table with a header line (the drift baseline)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([_format(value) for value in row] for row in table)


def read_with_header(path: Path) -> tuple[list[str], np.ndarray]:
    """Read a table written by ``write_with_header``."""
    rows = list(_csv_rows(path))
    if not rows:
        raise StepError(f"{path} is empty; expected a header line and data rows")
    header = [name.strip() for name in rows[0][1]]
    values = []
    for line_no, fields in rows[1:]:
        if len(fields) != len(header):
            raise StepError(
                f"{path}:{line_no}: {len(fields)} fields, expected {len(header)} like the header"
            )
        values.append(
            [
                _number(path, line_no, name, field)
                for name, field in zip(header, fields, strict=True)
            ]
        )
    if not values:
        raise StepError(f"{path} has a header but no data rows")
    return header, np.array(values, dtype=np.float64)


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, fields) of non-blank lines; CRLF and LF both work."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for line_no, fields in enumerate(csv.reader(handle), start=1):
                if fields and any(field.strip() for field in fields):
                    yield line_no, fields
    except UnicodeDecodeError:
        raise StepError(f"{path} is not a UTF-8 text (CSV) file") from None
    except csv.Error as error:
        raise StepError(f"{path}: not valid CSV: {error}") from None


def _check_label(path: Path, line_no: int, what: str, field: str) -> None:
    text = field.strip()
    try:
        ok = float(text) in (0.0, 1.0)
    except ValueError:
        ok = False
    if not ok:
        raise StepError(f"{path}:{line_no}: {what} is {text!r}; expected 0 or 1")


def _number(path: Path, line_no: int, column: str, field: str) -> float:
    text = field.strip()
    if text in MISSING_TOKENS:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    else:
        if math.isfinite(value):
            return value
    raise StepError(
        f"{path}:{line_no}: {column} is {text!r}; expected a number, or '?' or empty for missing"
    )


def _format(value: float) -> str:
    if math.isnan(value):
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.15g}"
