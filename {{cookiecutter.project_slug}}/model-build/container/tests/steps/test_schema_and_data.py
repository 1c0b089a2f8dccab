"""The UCI schema, the cleaning rules, and reading raw and channel files."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from model_container.data import Dataset, read_channel, read_raw, write_channel
from model_container.schema import COLUMN_NAMES, blank_invalid, feature_names, features_for_width
from model_container.steps import StepError


def test_bundled_file_matches_its_readme(bundled_data: Path, tmp_path: Path) -> None:
    shutil.copy(bundled_data, tmp_path)
    table = read_raw(tmp_path)
    assert table.shape == (961, 6)
    labels = table[:, COLUMN_NAMES.index("Severity")]
    assert (labels == 1).sum() == 445 and (labels == 0).sum() == 516
    missing = dict(zip(COLUMN_NAMES, np.isnan(table).sum(axis=0).tolist(), strict=True))
    assert missing == {
        "BI-RADS": 2,
        "Age": 5,
        "Shape": 31,
        "Margin": 48,
        "Density": 76,
        "Severity": 0,
    }
    assert np.isnan(table).any(axis=1).sum() == 131


def test_cleaning_blanks_out_of_range_values_only() -> None:
    nan = math.nan
    table = np.array(
        [
            [0, 40, 1, 1, 3, 0],  # BI-RADS 0: out of range
            [6, 40, 1, 1, 3, 1],  # BI-RADS 6
            [55, 40, 1, 1, 3, 1],  # BI-RADS 55 (a typing error in the file)
            [4, 0, 5, 6, 0, 1],  # age 0, shape 5, margin 6, density 0
            [4, 130, 2.5, 1, 4, 0],  # age 130, fractional shape code
            [5, 45.5, 4, 5, nan, 1],  # all valid (a fractional age is fine), one missing
        ]
    )
    blanked = blank_invalid(table)
    assert blanked == {"BI-RADS": 3, "Age": 2, "Shape": 2, "Margin": 1, "Density": 1}
    assert np.isnan(table[:3, 0]).all()
    np.testing.assert_array_equal(table[5], [5, 45.5, 4, 5, nan, 1])
    np.testing.assert_array_equal(table[:, 5], [0, 1, 1, 1, 0, 1])  # the label is never blanked


def test_bi_rads_is_dropped_by_default() -> None:
    assert feature_names() == ["Age", "Shape", "Margin", "Density"]
    assert feature_names(keep_bi_rads=True) == ["BI-RADS", "Age", "Shape", "Margin", "Density"]
    assert features_for_width(4) == feature_names()
    assert features_for_width(5) == feature_names(keep_bi_rads=True)
    with pytest.raises(ValueError, match="3 feature columns; expected one of"):
        features_for_width(3)


def test_raw_reader_accepts_header_crlf_blank_lines_and_empty_fields(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(
        b"BI-RADS,Age,Shape,Margin,Density,Severity\r\n4,50,?,,3,1\r\n\r\n"
    )
    (tmp_path / "b.data").write_text("5,60,4,5,3,0\n")
    (tmp_path / ".hidden").write_text("junk\n")  # hidden files (e.g. S3 markers) are skipped
    table = read_raw(tmp_path)
    np.testing.assert_array_equal(table, [[4, 50, np.nan, np.nan, 3, 1], [5, 60, 4, 5, 3, 0]])


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (
            "5,67,3,5,3\n",
            "data.csv:1: 5 fields, expected 6 (BI-RADS, Age, Shape, Margin, Density, Severity)",
        ),
        (
            "5,67,3,5,3,1\n5,sixty,3,5,3,1\n",
            "data.csv:2: Age is 'sixty'; expected a number, or '?' or empty",
        ),
        ("5,67,3,5,3,inf\n", "Severity is 'inf'"),
        ("5,67,3,5,3,2\n", "data.csv:1: Severity is '2'; expected 0 or 1"),
        ("5,67,3,5,3,?\n", "Severity is '?'; expected 0 or 1"),
        ("\n\n", "no data rows in"),
    ],
)
def test_raw_reader_names_file_line_and_value(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / "data.csv").write_text(content)
    with pytest.raises(StepError) as error:
        read_raw(tmp_path)
    assert fragment in str(error.value)


def test_raw_reader_rejects_binary_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="no input files in"):
        read_raw(tmp_path)
    with pytest.raises(StepError, match="does not exist"):
        read_raw(tmp_path / "nope")
    (tmp_path / "data.parquet").write_bytes(b"PAR1\xff\xfe\x00")
    with pytest.raises(StepError, match="is not a UTF-8 text"):
        read_raw(tmp_path)


def test_channel_round_trip_keeps_missing_values(tmp_path: Path) -> None:
    data = Dataset(
        np.array([[67.0, np.nan, 5, 3], [43.5, 1, 1, 2]]), np.array([1.0, 0.0]), feature_names()
    )
    write_channel(tmp_path / "train" / "train.csv", data)
    assert (tmp_path / "train" / "train.csv").read_text() == "1,67,,5,3\n0,43.5,1,1,2\n"
    back = read_channel(tmp_path / "train", name="train")
    np.testing.assert_array_equal(back.features, data.features)
    np.testing.assert_array_equal(back.labels, data.labels)
    assert back.feature_names == feature_names()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("1,67,3,5,3\n1,67,3,5\n", "2: 4 fields, expected 5 like the first row"),
        ("1,67,3\n", "label plus 2 feature columns"),
        ("3,67,3,5,3\n", "label (first column) is '3'"),
        ("1,67,x,5,3\n", "Shape is 'x'"),
    ],
)
def test_channel_reader_errors(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / "part.csv").write_text(content)
    with pytest.raises(StepError) as error:
        read_channel(tmp_path, name="train")
    assert fragment in str(error.value)
