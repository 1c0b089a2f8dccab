"""Reading capture files: payload formats, the time window, bad lines counted (never a crash)."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from model_container.monitor.reader import (
    ReadSummary,
    RowBuffer,
    capture_files,
    capture_hour,
    folder_files,
    read_capture,
    read_csv_lines,
)
from model_container.monitor.rows import by_index
from model_container.serve.codec import codes_of

FEATURES = ["Age", "Shape", "Margin", "Density"]


def record(
    data: str,
    content_type: str = "text/csv",
    encoding: str = "CSV",
    when: str = "2026-01-01T10:30:00Z",
) -> str:
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": content_type,
                    "mode": "INPUT",
                    "data": data,
                    "encoding": encoding,
                }
            },
            "eventMetadata": {"eventId": "x", "inferenceTime": when},
            "eventVersion": "0",
        }
    )


def write(root: Path, hour: str, lines: Sequence[str], name: str = "f.jsonl") -> Path:
    path = root / "ep" / "AllTraffic" / hour / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def read(root: Path, **window: datetime) -> tuple[np.ndarray, np.ndarray, ReadSummary]:
    summary = ReadSummary()
    chunks = list(read_capture(root, FEATURES, summary, **window))
    values = np.vstack([c.values for c in chunks]) if chunks else np.empty((0, 4))
    non_numeric = sum((c.non_numeric for c in chunks), np.zeros(4, dtype=np.int64))
    return values, non_numeric, summary


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("data", "content_type", "encoding"),
    [
        ("61,4,5,3\n45,1,,2", "text/csv", "CSV"),
        ("61,4,5,3\r\n45,1,,2\r\n", "text/csv; charset=utf-8", "CSV"),
        (b64("61,4,5,3\n45,1,,2"), "text/csv", "BASE64"),
        ('{"instances": [[61, 4, 5, 3], [45, 1, null, 2]]}', "application/json", "JSON"),
        ("[[61, 4, 5, 3], [45, 1, null, 2]]", "application/json", "JSON"),
        (
            '{"instances": [{"Age": 61, "Shape": 4, "Margin": 5, "Density": 3},'
            ' {"features": [45, 1, null, 2]}]}',
            "application/json",
            "JSON",
        ),
        (
            b64('[61, 4, 5, 3]\n{"Age": 45, "Shape": 1, "Density": 2}'),
            "application/jsonlines",
            "BASE64",
        ),
    ],
)
def test_payload_forms(tmp_path: Path, data: str, content_type: str, encoding: str) -> None:
    write(tmp_path, "2026/01/01/10", [record(data, content_type, encoding)])
    values, non_numeric, summary = read(tmp_path)
    np.testing.assert_array_equal(values, [[61, 4, 5, 3], [45, 1, np.nan, 2]])
    assert non_numeric.tolist() == [0, 0, 0, 0]
    assert (summary.records, summary.rows, summary.unreadable) == (1, 2, 0)


def test_single_json_row_and_single_object(tmp_path: Path) -> None:
    write(
        tmp_path,
        "2026/01/01/10",
        [
            record("[61, 4, 5, 3]", "application/json", "JSON"),
            record('{"features": [45, 1, 2, 2]}', "application/json", "JSON"),
        ],
    )
    values, _, _ = read(tmp_path)
    np.testing.assert_array_equal(values, [[61, 4, 5, 3], [45, 1, 2, 2]])


def test_non_numbers_and_wrong_widths_are_counted(tmp_path: Path) -> None:
    write(
        tmp_path,
        "2026/01/01/10",
        [
            record("61,four,5,3\n45,1,2\n50,2,inf,1"),
            record('{"instances": [["61", 4, true, 3], [1, 2]]}', "application/json", "JSON"),
        ],
    )
    values, non_numeric, summary = read(tmp_path)
    assert non_numeric.tolist() == [1, 1, 2, 0]
    assert summary.wrong_width_rows == 2
    assert summary.rows == 3 and summary.unreadable == 0
    assert np.isnan(values).sum() == 4
    # Both short (3 and 2 fields of 4): the checks name the missing columns from the 3rd.
    assert (summary.short_rows, summary.fewest_fields, summary.long_rows) == (2, 2, 0)


def test_longer_rows_and_unknown_keys_are_counted_for_the_column_checks(tmp_path: Path) -> None:
    write(
        tmp_path,
        "2026/01/01/10",
        [
            record("61,4,5,3,9,9"),
            record(
                '{"instances": [{"Age": 40, "Shape": 2, "Colour": "red"}]}',
                "application/json",
                "JSON",
            ),
        ],
    )
    values, _, summary = read(tmp_path)
    assert (summary.long_rows, summary.most_fields, summary.short_rows) == (1, 6, 0)
    assert summary.extra_names == {"Colour": 1}
    np.testing.assert_array_equal(values, [[40, 2, np.nan, np.nan]])  # absent keys are missing


SHAPES = ("round", "oval", "lobular", "irregular")


def test_a_categorical_feature_is_read_as_its_code(tmp_path: Path) -> None:
    write(
        tmp_path,
        "2026/01/01/10",
        [
            record('61,oval,5,3\n45,square,,2\n50,"irregular",1,1'),
            record(
                '{"instances": [[61, "round", 5, 3], {"Age": 45, "Shape": "Oval"}, [1, 2, 3, 4]]}',
                "application/json",
                "JSON",
            ),
        ],
    )
    summary = ReadSummary()
    codes = codes_of({"Shape": SHAPES})
    chunks = list(read_capture(tmp_path, FEATURES, summary, codes=codes))
    values = np.vstack([c.values for c in chunks])
    non_numeric = sum((c.non_numeric for c in chunks), np.zeros(4, dtype=np.int64))
    nan = np.nan
    np.testing.assert_array_equal(
        values,
        [
            [61, 1, 5, 3],
            [45, nan, nan, 2],  # 'square' is no category: missing, and counted as the wrong type
            [50, 3, 1, 1],
            [61, 0, 5, 3],
            [45, nan, nan, nan],  # categories are case-sensitive
            [1, nan, 3, 4],  # a number is not a category either
        ],
    )
    assert non_numeric.tolist() == [0, 3, 0, 0]
    assert (summary.rows, summary.unreadable) == (6, 0)


def test_csv_batch_input_with_a_categorical_feature(tmp_path: Path) -> None:
    (tmp_path / "batch.csv").write_text("61,oval,5,3\n45,square,,2\n")
    summary = ReadSummary()
    files = folder_files([tmp_path / "batch.csv"])
    chunks = list(read_csv_lines(files, FEATURES, summary, codes=codes_of({"Shape": SHAPES})))
    np.testing.assert_array_equal(chunks[0].values, [[61, 1, 5, 3], [45, np.nan, np.nan, 2]])
    assert chunks[0].non_numeric.tolist() == [0, 1, 0, 0]


def test_the_fast_categorical_parser_reads_as_the_field_by_field_one() -> None:
    text = '61,oval,5,3\n45, square ,,2\n50,"irregular",1,1\n52,?,1,\n53, round,2,2\n54,,1,1'
    fast, slow = (
        RowBuffer(4, ReadSummary(), by_index(FEATURES, codes_of({"Shape": SHAPES})))
        for _ in range(2)
    )
    fast.add_csv(text)
    chunk = fast.take()
    expected = slow._csv_slow(text)
    np.testing.assert_array_equal(chunk.values, expected.values)
    assert chunk.non_numeric.tolist() == expected.non_numeric.tolist() == [0, 1, 0, 0]
    assert chunk.values[:, 1].tolist()[4] == 0.0  # spaces around a category are ignored


def test_garbled_lines_are_counted_and_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        "2026/01/01/10",
        [
            record("40,1,1,1"),
            "{not json",
            json.dumps({"captureData": {}}),
            record("!!!", "text/csv", "BASE64"),
            record("40,1,1,1", "image/png", "BASE64"),
            record("40,1,1,1", when="yesterday"),
            record('{"instances": [[1, 2, 3, 4]', "application/json", "JSON"),
            "[1, 2]",
            json.dumps({"captureData": {"endpointInput": "40,1,1,1"}}),
            record("40,1,1,1").replace('"text/csv"', '["text/csv"]'),
            "",
            record("41,1,1,1"),
        ],
    )
    values, _, summary = read(tmp_path, start=datetime(2026, 1, 1, tzinfo=UTC))
    assert len(values) == 2
    assert summary.unreadable == 9  # the blank line is not a record
    assert len(summary.examples) == 5  # the first few reasons, for the report
    assert summary.examples[0].startswith("f.jsonl:2: not a JSON line")
    assert "image/png" in summary.examples[3]


def test_window_selects_files_by_hour_and_records_by_time(tmp_path: Path) -> None:
    write(tmp_path, "2026/01/01/09", [record("1,1,1,1", when="2026-01-01T09:59:59.999Z")])
    write(
        tmp_path,
        "2026/01/01/10",
        [
            record("2,1,1,1", when="2026-01-01T10:00:00Z"),
            record("3,1,1,1", when="2026-01-01T10:59:59.5+00:00"),
        ],
    )
    # Capture files can hold records of the next hour's first moments: the record time decides.
    write(
        tmp_path,
        "2026/01/01/11",
        [
            record("4,1,1,1", when="2026-01-01T11:00:00Z"),
        ],
    )
    write(tmp_path, "2026/01/01/12", [record("5,1,1,1", when="2026-01-01T12:00:00Z")])
    start, end = datetime(2026, 1, 1, 10, tzinfo=UTC), datetime(2026, 1, 1, 11, tzinfo=UTC)
    assert len(capture_files(tmp_path, start, end)) == 1
    values, _, summary = read(tmp_path, start=start, end=end)
    assert sorted(values[:, 0].tolist()) == [2, 3]
    values, _, summary = read(tmp_path, start=datetime(2026, 1, 1, 9, 30, tzinfo=UTC))
    assert sorted(values[:, 0].tolist()) == [1, 2, 3, 4, 5]
    values, _, summary = read(tmp_path, end=datetime(2026, 1, 1, 10, 0, 0, 1000, tzinfo=UTC))
    assert sorted(values[:, 0].tolist()) == [1, 2]
    assert summary.outside_window == 1  # 10:59:59.5 in the 10 o'clock file


def test_chunks_stay_bounded(tmp_path: Path) -> None:
    write(tmp_path, "2026/01/01/10", [record(f"{i},1,1,1") for i in range(1000)])
    summary = ReadSummary()
    sizes = [len(c.values) for c in read_capture(tmp_path, FEATURES, summary, chunk_rows=64)]
    assert max(sizes) == 64 and sum(sizes) == 1000


def test_hidden_files_and_other_suffixes_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, "2026/01/01/10", [record("1,1,1,1")])
    write(tmp_path, "2026/01/01/10", [record("2,1,1,1")], name=".partial.jsonl")
    write(tmp_path, "2026/01/01/10", [record("3,1,1,1")], name="notes.txt")
    values, _, _ = read(tmp_path)
    assert values[:, 0].tolist() == [1]


def test_single_json_row_with_a_string_is_counted(tmp_path: Path) -> None:
    write(
        tmp_path,
        "2026/01/01/10",
        [
            record('{"instances": [[61, "4", 5, null]]}', "application/json", "JSON"),
            record('{"instances": [[61, 4, 5]]}', "application/json", "JSON"),
        ],
    )
    values, non_numeric, summary = read(tmp_path)
    np.testing.assert_array_equal(values, [[61, np.nan, 5, np.nan]])
    assert non_numeric.tolist() == [0, 1, 0, 0]
    assert summary.wrong_width_rows == 1


def test_chunks_hold_one_inference_hour_each(tmp_path: Path) -> None:
    """The report's drift over time: each chunk's rows come from one hour (UTC), named on it."""
    write(
        tmp_path,
        "2026/01/01/10",
        [
            record("1,2,3,4", when="2026-01-01T10:59:59Z"),
            record("5,2,3,4", when="2026-01-01T11:00:00Z"),  # late in the file: still hour 11
            record("6,2,3,4", when="2026-01-01T12:30:00+01:00"),  # an offset: 11:30 UTC
            record("7,2,3,4", when="2026-01-01T12:00:00.5Z"),
        ],
    )
    chunks = list(read_capture(tmp_path, FEATURES, ReadSummary(), chunk_rows=1000))
    assert [(c.hour, c.values[:, 0].tolist()) for c in chunks] == [
        ("2026-01-01T10", [1.0]),
        ("2026-01-01T11", [5.0, 6.0]),
        ("2026-01-01T12", [7.0]),
    ]
    assert capture_hour({"eventMetadata": {"inferenceTime": "yesterday"}}) == ""
    assert capture_hour({"eventMetadata": None}) == ""  # read as before, just not on the time axis
