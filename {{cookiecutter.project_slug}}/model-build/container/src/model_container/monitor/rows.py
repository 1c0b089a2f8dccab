"""Rows of model inputs from request payloads: the buffer that turns CSV texts and JSON instances
into fixed-width float chunks, counting what is not a value of its feature."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from model_container.columns import MISSING_TOKENS, EncodeError, category_text, encode
from model_container.serve.codec import Codes, fill_empty_fields

_PLAIN = (int, float, type(None))  # JSON values a numeric feature takes as they are
PLAIN_TYPES = frozenset(_PLAIN)
MAX_EXAMPLES = 5  # unreadable-record reasons kept for the report
MAX_EXTRA_NAMES = 20  # names of extra by-name columns kept
UNKNOWN = -1.0  # the code a category converter gives a value outside the domain


@dataclass
class Chunk:
    """Feature rows (NaN = missing or not a number) and, per feature, how many were not numbers."""

    values: np.ndarray
    non_numeric: np.ndarray
    hour: str = ""  # captured rows: their inference hour, "YYYY-MM-DDTHH" (UTC); "" if not known


@dataclass
class ReadSummary:
    files: int = 0
    records: int = 0  # records in the window whose payload was read
    outside_window: int = 0
    unreadable: int = 0
    rows: int = 0
    wrong_width_rows: int = 0  # dropped: the checks report them as missing or extra columns
    fewest_fields: int | None = None  # of the rows with fewer fields than the baseline's features
    most_fields: int | None = None  # of the rows with more
    short_rows: int = 0
    long_rows: int = 0
    extra_names: dict[str, int] = field(default_factory=dict)  # by-name keys that are no feature
    examples: list[str] = field(default_factory=list)
    processes: int = 1  # that read the files (monitor.parallel)

    def wrong_width(self, fields: int, width: int) -> None:
        """A row of ``fields`` values where the baseline has ``width`` features."""
        self.wrong_width_rows += 1
        if fields < width:
            self.short_rows += 1
            self.fewest_fields = min(
                fields, width if self.fewest_fields is None else self.fewest_fields
            )
        else:
            self.long_rows += 1
            self.most_fields = max(fields, self.most_fields or 0)

    def extra_name(self, name: str) -> None:
        if name in self.extra_names or len(self.extra_names) < MAX_EXTRA_NAMES:
            self.extra_names[name] = self.extra_names.get(name, 0) + 1

    def unreadable_record(self, where: str, reason: str) -> None:
        self.unreadable += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{where}: {reason}")

    def merge(self, other: ReadSummary) -> None:
        """Add the counts of a later part of the read (another file), as if read after this one."""
        for name in (
            "files",
            "records",
            "outside_window",
            "unreadable",
            "rows",
            "wrong_width_rows",
            "short_rows",
            "long_rows",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.fewest_fields is not None:
            mine = self.fewest_fields
            self.fewest_fields = (
                other.fewest_fields if mine is None else min(mine, other.fewest_fields)
            )
        if other.most_fields is not None:
            self.most_fields = max(other.most_fields, self.most_fields or 0)
        for name, count in other.extra_names.items():
            if name in self.extra_names or len(self.extra_names) < MAX_EXTRA_NAMES:
                self.extra_names[name] = self.extra_names.get(name, 0) + count
        self.examples.extend(other.examples[: MAX_EXAMPLES - len(self.examples)])


class PayloadError(ValueError):
    """A payload that cannot be turned into rows."""


class CategoryCodes(dict):
    """A categorical field's text -> its code, NaN when missing, ``UNKNOWN`` outside the domain.

    Its ``__getitem__`` is numpy's converter for the column: a text seen before is one dict lookup
    in C; a new one is normalised once (spaces, quotes) and remembered (up to a bound).
    """

    LIMIT = 10_000

    def __init__(self, codes: dict[str, float]) -> None:
        super().__init__()
        self.codes = codes

    def __missing__(self, text: str) -> float:
        token = text.strip().strip('"').strip()
        if token in MISSING_TOKENS or token == "nan":  # "nan": an empty field (fill_empty_fields)
            code = math.nan
        else:
            code = self.codes.get(token, UNKNOWN)
        if len(self) < self.LIMIT:
            self[text] = code
        return code


class RowBuffer:
    """Collects CSV texts and decoded JSON rows; hands them out as fixed-width float chunks."""

    def __init__(
        self, width: int, summary: ReadSummary, codes: dict[int, dict[str, float]] | None = None
    ) -> None:
        self.width = width
        self.summary = summary
        self.codes = codes or {}  # column index -> category -> code
        self.csv_texts: list[str] = []
        self.csv_rows = 0
        self.json_rows: list[list] = []  # numbers and None
        self.json_non_numeric = np.zeros(width, dtype=np.int64)
        self._converters: dict[int, CategoryCodes] = {}

    def __len__(self) -> int:
        return self.csv_rows + len(self.json_rows)

    def add_csv(self, text: str) -> None:
        text = text.strip()
        if text:
            self.csv_texts.append(text)
            self.csv_rows += text.count("\n") + 1

    def instance_row(
        self, item: object, features: Sequence[str]
    ) -> tuple[list | None, list[int], int, list[str]]:
        """One instance as a row (None: the wrong width), the columns holding non-numbers, its
        number of fields and the keys of a by-name instance that are no feature.

        Instances are ``[v, ...]``, ``{"features": [v, ...]}`` or ``{"<feature>": v, ...}``. A plain
        row of numbers and nulls is kept as it is (``take`` converts null to NaN in bulk).
        """
        if type(item) is list and len(item) == self.width and not self.codes:
            for value in item:
                if type(value) not in _PLAIN:
                    break
            else:
                return item, [], self.width, []
        extra: list[str] = []
        if isinstance(item, dict):
            if "features" in item and "features" not in features:
                item = item["features"]
            else:
                extra = [str(key) for key in item if key not in features]
                item = [item.get(name) for name in features]
        if not isinstance(item, list):
            raise PayloadError(f"instance is {type(item).__name__}; expected a list or an object")
        if len(item) != self.width:
            return None, [], len(item), extra
        row: list[float | None] = []
        bad = []
        for index, value in enumerate(item):
            codes = self.codes.get(index)
            number = (
                _category_code(value, codes)
                if codes is not None
                else value
                if type(value) in _PLAIN
                else None  # strings, booleans, lists: not a value of a numeric feature
            )
            row.append(number)
            if number is None and value is not None:
                bad.append(index)
        return row, bad, self.width, extra

    def take(self) -> Chunk:
        parts = [self._csv_chunk()]
        non_numeric = parts[0].non_numeric + self.json_non_numeric
        if self.json_rows:
            values = np.array(self.json_rows, dtype=np.float64)  # null -> NaN
            infinite = np.isinf(values)  # JSON numbers too large for a double
            values[infinite] = math.nan
            non_numeric = non_numeric + infinite.sum(axis=0)
            parts.append(Chunk(values, non_numeric))
        # Cleared in place: the reading loop holds bound methods of these lists.
        self.csv_texts.clear()
        self.json_rows.clear()
        self.csv_rows = 0
        self.json_non_numeric = np.zeros(self.width, dtype=np.int64)
        values = np.vstack([part.values for part in parts])
        self.summary.rows += len(values)
        return Chunk(values, non_numeric)

    def _csv_chunk(self) -> Chunk:
        empty = Chunk(np.empty((0, self.width)), np.zeros(self.width, dtype=np.int64))
        if not self.csv_texts:
            return empty
        text = "\n".join(self.csv_texts)
        if any("nan" in codes for codes in self.codes.values()):
            return self._csv_slow(text)  # "nan" is what fill_empty_fields writes for missing
        try:  # fast path: numpy's C parser over the whole chunk, categories through a dict
            values = np.loadtxt(
                io.StringIO(fill_empty_fields(text)),
                delimiter=",",
                dtype=np.float64,
                comments=None,
                ndmin=2,
                quotechar='"',
                converters={i: self._converter(i).__getitem__ for i in self.codes} or None,
            )
        except ValueError:
            return self._csv_slow(text)
        if values.shape[1] != self.width:
            return self._csv_slow(text)
        bad = np.isinf(values)
        for index in self.codes:
            bad[:, index] = values[:, index] == UNKNOWN
        values[bad] = math.nan
        return Chunk(values, bad.sum(axis=0))

    def _converter(self, index: int) -> CategoryCodes:
        if index not in self._converters:
            self._converters[index] = CategoryCodes(self.codes[index])
        return self._converters[index]

    def _csv_slow(self, text: str) -> Chunk:
        """Field by field: rows of another width are counted and dropped, non-numbers counted."""
        rows = []
        non_numeric = np.zeros(self.width, dtype=np.int64)
        for line in text.splitlines():
            if not line.strip():
                continue
            fields = line.split(",")
            if len(fields) != self.width:
                self.summary.wrong_width(len(fields), self.width)
                continue
            row = []
            for index, raw in enumerate(fields):
                token = raw.strip().strip('"').strip()
                if not token:
                    row.append(math.nan)
                    continue
                if index in self.codes:
                    code = math.nan if token in MISSING_TOKENS else self.codes[index].get(token)
                    if code is None:
                        non_numeric[index] += 1
                    row.append(math.nan if code is None else code)
                    continue
                try:
                    number = float(token)
                except ValueError:
                    number = math.inf
                if not math.isfinite(number) and token.lower() != "nan":
                    non_numeric[index] += 1
                    number = math.nan
                row.append(number)
            rows.append(row)
        values = np.array(rows, dtype=np.float64).reshape(len(rows), self.width)
        return Chunk(values, non_numeric)


def _category_code(value: object, codes: dict[str, float]) -> float | None:
    """A JSON value of a categorical feature as its code, read as the server reads it; None when
    it is not one of the categories."""
    text = category_text(value)
    if text is None:
        return None
    try:
        return encode(text, codes)  # "" is missing (NaN), as the server reads it
    except EncodeError:
        return None


def by_index(features: Sequence[str], codes: Codes | None) -> dict[int, dict[str, float]]:
    return {index: codes[name] for index, name in enumerate(features) if codes and name in codes}
