"""Reading and writing the steps' CSV files, with one-line errors that name file, line and value.

Two formats: the raw data as the schema declares it (``columns.Schema``: any columns in file order,
an optional header, categories as text, ``?`` or empty for missing), and the tables the steps
exchange: a header line, then numbers only (categories as codes, an empty field for missing). The
channel files of training and evaluation put the label first.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model_container.columns import (
    Categorical,
    EncodeError,
    Schema,
    category_codes,
    encode,
)
from model_container.entrypoint import StepError


@dataclass(frozen=True)
class Dataset:
    """Features (categories as codes, NaN = missing) and 0/1 labels of one split."""

    features: np.ndarray
    labels: np.ndarray
    feature_names: list[str]

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class RawData:
    """The raw rows of the schema's feature columns, the labels, and the values found invalid."""

    data: Dataset
    blanked: dict[str, int]  # feature -> values outside the column's valid values (now missing)
    # Each row's file (relative to the folder read) and line, e.g. "part-2.csv:17": the same wherever
    # the file is read (one instance or one of several), so the split can be decided by it.
    keys: list[str]


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


def read_raw(directory: Path, schema: Schema) -> RawData:
    """Read every raw file below ``directory`` as ``schema`` declares it.

    A first line naming the columns (as the schema does, any case) is skipped; a field that is
    not a valid value of its column is an error when it is not of the column's kind (text in a
    numeric column, an unknown category) and becomes missing when only out of range; a label other
    than the schema's two values is an error.
    """
    files = data_files(directory)
    names = schema.names
    if not files:
        raise StepError(
            f"no input files in {directory}: expected CSV files with columns {', '.join(names)}"
        )
    features = schema.features
    indexes = [names.index(column.name) for column in features]
    codes = [category_codes(c.categories) if isinstance(c, Categorical) else None for c in features]
    label_index = names.index(schema.label)
    label_values = {schema.negative: 0.0, schema.positive: 1.0}
    unused = {  # read and checked as their kind (a category's text, a number), not features
        c: category_codes(c.categories) if isinstance(c, Categorical) else None
        for c in schema.columns
        if c.name != schema.label and c not in features
    }
    rows: list[list[float]] = []
    labels: list[float] = []
    keys: list[str] = []
    blanked = dict.fromkeys(schema.feature_names, 0)
    for path in files:
        relative = path.relative_to(directory).as_posix()
        for line_no, fields in _csv_rows(path):
            if line_no == 1 and [f.strip().lower() for f in fields] == [n.lower() for n in names]:
                continue
            if len(fields) != len(names):
                raise StepError(
                    f"{path}:{line_no}: {len(fields)} fields, expected {len(names)} ({', '.join(names)})"
                )
            label = label_values.get(fields[label_index].strip())
            if label is None:
                raise StepError(
                    f"{path}:{line_no}: {schema.label} is {fields[label_index].strip()!r}; expected "
                    f"{schema.negative!r} or {schema.positive!r}"
                )
            for column, allowed in unused.items():  # checked too: a shifted file shows there
                _value(path, line_no, column.name, fields[names.index(column.name)], allowed)
            row = []
            for column, index, categories in zip(features, indexes, codes, strict=True):
                value = _value(path, line_no, column.name, fields[index], categories)
                if categories is None and not math.isnan(value) and column.invalid(value):
                    blanked[column.name] += 1
                    value = math.nan
                row.append(value)
            rows.append(row)
            labels.append(label)
            keys.append(f"{relative}:{line_no}")
    if not rows:
        raise StepError(f"no data rows in {', '.join(str(p) for p in files)}")
    data = Dataset(np.array(rows, dtype=np.float64), np.array(labels), schema.feature_names)
    return RawData(data, blanked, keys)


def _value(
    path: Path, line_no: int, column: str, field: str, categories: dict[str, float] | None
) -> float:
    """One field as a model input (``columns.encode``), or a StepError naming file, line and column."""
    try:
        return encode(field, categories)
    except EncodeError as error:
        raise StepError(f"{path}:{line_no}: {column}: {error}") from None


def read_channel(directory: Path, *, name: str) -> Dataset:
    """Read a channel folder written by ``write_channel`` (header, label first, numbers)."""
    if not directory.is_dir():
        raise StepError(f"the {name} channel {directory} does not exist")
    files = data_files(directory)
    if not files:
        raise StepError(f"no files in the {name} channel {directory}")
    header: list[str] | None = None
    tables = []
    for path in files:
        names, table = read_with_header(path)
        if header is None:
            header = names
        elif names != header:
            raise StepError(f"{path} has columns {names}; {files[0]} has {header}")
        bad = np.flatnonzero(~np.isin(table[:, 0], (0.0, 1.0)))
        if len(bad):
            raise StepError(
                f"{path}: data row {bad[0] + 1}: label (first column) is {table[bad[0], 0]:g}; "
                "expected 0 or 1"
            )
        tables.append(table)
    assert header is not None
    if len(header) < 2:
        raise StepError(f"the {name} channel {directory} has no feature columns (header {header})")
    table = np.vstack(tables)
    return Dataset(features=table[:, 1:], labels=table[:, 0], feature_names=header[1:])


def write_channel(path: Path, data: Dataset, label: str = "label") -> None:
    """Write a header, then label first and the features, an empty field for a missing value."""
    write_with_header(
        path, [label, *data.feature_names], np.column_stack([data.labels, data.features])
    )


def write_with_header(path: Path, names: Sequence[str], table: np.ndarray) -> None:
    """Write a table of numbers with a header line."""
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
                _value(path, line_no, name, field, None)
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


def _format(value: float) -> str:
    if math.isnan(value):
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.15g}"
