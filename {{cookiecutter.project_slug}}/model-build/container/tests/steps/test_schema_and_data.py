"""The schema's types (columns.py), reading raw files as the schema declares them, and channel files."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from step_helpers import not_a_value, raw_line

from model_container.columns import (
    MISSING_TOKENS,
    Categorical,
    EncodeError,
    Numeric,
    Schema,
    category_codes,
    encode,
)
from model_container.data import Dataset, data_files, read_channel, read_raw, write_channel
from model_container.entrypoint import StepError
from project_model import SCHEMA

NAMES = SCHEMA.names
FEATURES = SCHEMA.feature_names
OTHER_LABEL = next(v for v in ("2", "maybe") if v not in (SCHEMA.positive, SCHEMA.negative))


def test_the_schema_declares_a_label_and_features() -> None:
    assert SCHEMA.label in NAMES and SCHEMA.label not in FEATURES
    assert FEATURES and not set(FEATURES) & SCHEMA.unused
    assert [column.name for column in SCHEMA.features] == FEATURES
    assert set(SCHEMA.categories()) <= set(FEATURES)
    assert SCHEMA.positive != SCHEMA.negative


def test_schema_rejects_inconsistent_declarations() -> None:
    columns = (Numeric("x"), Categorical("c", ("a", "b")), Numeric("y", 0, 1, whole=True))
    schema = Schema(columns, label="y", positive="1", negative="0")
    assert schema.feature_names == ["x", "c"] and schema.categories() == {"c": ("a", "b")}
    with pytest.raises(ValueError, match="label 'z' is not one of the columns"):
        Schema(columns, label="z", positive="1", negative="0")
    with pytest.raises(ValueError, match=r"unused columns \['w'\]"):
        Schema(columns, label="y", positive="1", negative="0", unused=frozenset({"w"}))
    with pytest.raises(ValueError, match="leaves no feature column"):
        Schema(columns, label="y", positive="1", negative="0", unused=frozenset({"x", "c"}))
    with pytest.raises(ValueError, match="non-empty list without repeats"):
        Categorical("c", ("a", "a"))


def test_encode_numbers_categories_and_missing() -> None:
    codes = category_codes(("red", "green"))
    assert codes == {"red": 0.0, "green": 1.0}
    assert encode(" 4.5 ", None) == 4.5 and math.isnan(encode("?", None))
    assert math.isnan(encode("", codes)) and encode("green", codes) == 1.0
    assert encode('"red"', codes) == 0.0
    with pytest.raises(EncodeError, match="'blue' is not a category; allowed: red, green or empty"):
        encode("blue", codes)
    with pytest.raises(EncodeError, match="'inf' is not a number"):
        encode("inf", None)
    assert Numeric("n", 1, 5, whole=True).invalid(2.5) and Numeric("n", 1, 5).invalid(6)


def data_lines(folder: Path) -> list[list[str]]:
    """The raw files' data lines as plain CSV sees them (blank lines and a naming header left out)."""
    lines = []
    for path in data_files(folder):
        with path.open(encoding="utf-8", newline="") as handle:
            rows = [row for row in csv.reader(handle) if any(field.strip() for field in row)]
        if rows and [f.strip().lower() for f in rows[0]] == [n.lower() for n in NAMES]:
            rows = rows[1:]
        lines.extend(rows)
    return lines


def test_the_raw_data_reads_as_the_schema_declares(raw_data: Path) -> None:
    """Every line of the project's data, each field checked against its column in SCHEMA."""
    raw = read_raw(raw_data, SCHEMA)
    data = raw.data
    lines = data_lines(raw_data)
    assert data.features.shape == (len(lines), len(FEATURES)) and data.feature_names == FEATURES
    labels = [line[NAMES.index(SCHEMA.label)].strip() for line in lines]
    assert set(labels) == {SCHEMA.positive, SCHEMA.negative}  # both classes, nothing else
    np.testing.assert_array_equal(data.labels, [float(v == SCHEMA.positive) for v in labels])
    assert set(raw.blanked) == set(FEATURES)
    for index, column in enumerate(SCHEMA.features):
        fields = [line[NAMES.index(column.name)].strip() for line in lines]
        present = [(row, f) for row, f in enumerate(fields) if f not in MISSING_TOKENS]
        read = data.features[:, index]
        if isinstance(column, Categorical):  # a category is read as its position in the list
            codes = [column.categories.index(f.strip('"')) for _, f in present]
            np.testing.assert_array_equal(read[[row for row, _ in present]], codes)
            assert raw.blanked[column.name] == 0
        else:  # a number outside the column's valid values is read as missing, and counted
            invalid = [row for row, f in present if column.invalid(float(f))]
            assert raw.blanked[column.name] == len(invalid)
            valid = [(row, float(f)) for row, f in present if row not in set(invalid)]
            np.testing.assert_array_equal(read[[r for r, _ in valid]], [v for _, v in valid])
        assert np.isnan(read).sum() == len(fields) - len(present) + raw.blanked[column.name]


# A schema of the sample's kind: a whole-number column read but unused, a range, codes, the label.
RANGED = Schema(
    (
        Numeric("BI-RADS", 1, 5, whole=True),
        Numeric("Age", 1, 120),
        Numeric("Shape", 1, 4, whole=True),
        Numeric("Margin", 1, 5, whole=True),
        Numeric("Density", 1, 4, whole=True),
        Numeric("Severity", 0, 1, whole=True),
    ),
    label="Severity",
    positive="1",
    negative="0",
    unused=frozenset({"BI-RADS"}),
)


def test_out_of_range_values_become_missing(tmp_path: Path) -> None:
    nan = math.nan
    (tmp_path / "data.csv").write_text(
        "0,40,1,1,3,0\n"  # BI-RADS 0: out of range, but the column is unused
        "55,40,1,1,3,1\n"  # BI-RADS 55 (a typing error)
        "4,0,5,6,0,1\n"  # age 0, shape 5, margin 6, density 0
        "4,130,2.5,1,4,0\n"  # age 130, fractional shape code
        "5,45.5,4,5,?,1\n"  # all valid (a fractional age is fine), one missing
    )
    raw = read_raw(tmp_path, RANGED)
    # Only the features' invalid values are counted: the unused column's are checked, not counted.
    assert raw.blanked == {"Age": 2, "Shape": 2, "Margin": 1, "Density": 1}
    np.testing.assert_array_equal(
        raw.data.features,
        [[40, 1, 1, 3], [40, 1, 1, 3], [nan, nan, nan, nan], [nan, nan, 1, 4], [45.5, 4, 5, nan]],
    )
    np.testing.assert_array_equal(raw.data.labels, [0, 1, 1, 0, 1])  # the label is never blanked


def test_categorical_columns_are_read_as_codes(tmp_path: Path) -> None:
    schema = Schema(
        (Numeric("x"), Categorical("colour", ("red", "green")), Categorical("y", ("no", "yes"))),
        label="y",
        positive="yes",
        negative="no",
    )
    (tmp_path / "a.csv").write_text("x,colour,y\n1.5,green,yes\n2,,no\n3,red,no\n")
    data = read_raw(tmp_path, schema).data
    np.testing.assert_array_equal(data.features, [[1.5, 1], [2, math.nan], [3, 0]])
    np.testing.assert_array_equal(data.labels, [1, 0, 0])
    (tmp_path / "a.csv").write_text("1,blue,yes\n")
    with pytest.raises(StepError, match=r"a.csv:1: colour: 'blue' is not a category; allowed: red"):
        read_raw(tmp_path, schema)


def test_raw_reader_accepts_header_crlf_blank_lines_and_empty_fields(tmp_path: Path) -> None:
    line = raw_line(**{FEATURES[0]: "?", FEATURES[-1]: ""}).rstrip("\n")
    (tmp_path / "a.csv").write_bytes(f"{','.join(NAMES)}\r\n{line}\r\n\r\n".encode())
    (tmp_path / "b.data").write_text(raw_line(**{SCHEMA.label: SCHEMA.negative}))
    (tmp_path / ".hidden").write_text("junk\n")  # hidden files (e.g. S3 markers) are skipped
    data = read_raw(tmp_path, SCHEMA).data
    assert len(data) == 2 and data.labels.tolist() == [1.0, 0.0]
    assert np.isnan(data.features[0, [0, -1]]).all() and not np.isnan(data.features[1]).any()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (
            ",".join(["1"] * (len(NAMES) - 1)) + "\n",
            f"data.csv:1: {len(NAMES) - 1} fields, expected {len(NAMES)} ({', '.join(NAMES)})",
        ),
        (
            raw_line() + raw_line(**{FEATURES[0]: not_a_value(SCHEMA.features[0])[0]}),
            f"data.csv:2: {not_a_value(SCHEMA.features[0])[1]}",
        ),
        (raw_line(**{SCHEMA.label: "inf"}), f"{SCHEMA.label} is 'inf'"),
        (
            raw_line(**{SCHEMA.label: OTHER_LABEL}),
            f"data.csv:1: {SCHEMA.label} is {OTHER_LABEL!r}; expected {SCHEMA.negative!r} or "
            f"{SCHEMA.positive!r}",
        ),
        (raw_line(**{SCHEMA.label: "?"}), f"{SCHEMA.label} is '?'; expected"),
        ("\n\n", "no data rows in"),
    ],
)
def test_raw_reader_names_file_line_and_value(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / "data.csv").write_text(content)
    with pytest.raises(StepError) as error:
        read_raw(tmp_path, SCHEMA)
    assert fragment in str(error.value)


def test_unused_columns_are_checked_too(tmp_path: Path) -> None:
    schema = Schema(
        (Numeric("x"), Categorical("u", ("a", "b")), Numeric("y", 0, 1)),
        label="y",
        positive="1",
        negative="0",
        unused=frozenset({"u"}),
    )
    (tmp_path / "data.csv").write_text("1,a,1\n2,c,0\n")
    with pytest.raises(StepError, match=r"data\.csv:2: u: 'c' is not a category"):
        read_raw(tmp_path, schema)
    (tmp_path / "data.csv").write_text("1,a,1\n2,,0\n")
    assert read_raw(tmp_path, schema).data.feature_names == ["x"]
    if SCHEMA.unused:  # and the model's own unused columns
        unused = sorted(SCHEMA.unused)[0]
        (tmp_path / "data.csv").write_text(raw_line(**{unused: "x"}))
        with pytest.raises(StepError, match=f"data.csv:1: {unused}: 'x' is not"):
            read_raw(tmp_path, SCHEMA)


def test_raw_reader_rejects_binary_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="no input files in"):
        read_raw(tmp_path, SCHEMA)
    with pytest.raises(StepError, match="does not exist"):
        read_raw(tmp_path / "nope", SCHEMA)
    (tmp_path / "data.parquet").write_bytes(b"PAR1\xff\xfe\x00")
    with pytest.raises(StepError, match="is not a UTF-8 text"):
        read_raw(tmp_path, SCHEMA)


def test_channel_round_trip_has_a_header_and_keeps_missing_values(tmp_path: Path) -> None:
    data = Dataset(
        np.array([[67.0, np.nan, 5, 3], [43.5, 1, 1, 2]]),
        np.array([1.0, 0.0]),
        ["a", "b", "c", "d"],
    )
    write_channel(tmp_path / "train" / "train.csv", data, label="y")
    assert (tmp_path / "train" / "train.csv").read_text() == "y,a,b,c,d\n1,67,,5,3\n0,43.5,1,1,2\n"
    back = read_channel(tmp_path / "train", name="train")
    np.testing.assert_array_equal(back.features, data.features)
    np.testing.assert_array_equal(back.labels, data.labels)
    assert back.feature_names == data.feature_names


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        (
            {"part.csv": "label,a,b\n1,67,3\n1,67\n"},
            "part.csv:3: 2 fields, expected 3 like the header",
        ),
        ({"part.csv": "label\n1\n"}, "has no feature columns (header ['label'])"),
        (
            {"part.csv": "label,a\n1,2\n3,4\n"},
            "data row 2: label (first column) is 3; expected 0 or 1",
        ),
        ({"part.csv": "label,a,b\n1,67,x\n"}, "part.csv:2: b: 'x' is not a number"),
        ({"part.csv": "label,a,b\n"}, "has a header but no data rows"),
        (
            {"a.csv": "label,a,b\n1,2,3\n", "b.csv": "label,b,a\n1,2,3\n"},
            "has columns ['label', 'b', 'a']",
        ),
    ],
)
def test_channel_reader_errors(tmp_path: Path, files: dict[str, str], fragment: str) -> None:
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    with pytest.raises(StepError) as error:
        read_channel(tmp_path, name="train")
    assert fragment in str(error.value)
