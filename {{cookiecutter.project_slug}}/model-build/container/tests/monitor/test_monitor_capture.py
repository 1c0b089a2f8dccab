"""The capture writer produces SageMaker's data-capture format, and the reader reads it back."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import numpy as np

from model_container.monitor.capture import (
    CaptureWriter,
    capture_line,
    capture_record,
    format_time,
    record_id,
)
from model_container.monitor.reader import ReadSummary, read_capture
from project_model import SCHEMA

FEATURES = ["Age", "Shape", "Margin", "Density"]
SHIPPED = Path(__file__).resolve().parents[3] / "data" / "outliers" / "capture"
WHEN = datetime(2026, 3, 4, 5, 6, 7, 890_000, tzinfo=UTC)


def test_record_has_the_data_capture_shape() -> None:
    record = capture_record(
        request=b"45,2,1,3",
        request_content_type="text/csv",
        response=b"0.25",
        response_content_type="text/csv; charset=utf-8",
        when=WHEN,
        event_id="e-1",
    )
    assert record == {
        "captureData": {
            "endpointInput": {
                "observedContentType": "text/csv",
                "mode": "INPUT",
                "data": "45,2,1,3",
                "encoding": "CSV",
            },
            "endpointOutput": {
                "observedContentType": "text/csv; charset=utf-8",
                "mode": "OUTPUT",
                "data": "0.25",
                "encoding": "CSV",
            },
        },
        "eventMetadata": {"eventId": "e-1", "inferenceTime": "2026-03-04T05:06:07.890Z"},
        "eventVersion": "0",
    }


def test_a_callers_inference_id_is_recorded_where_sagemaker_puts_it() -> None:
    given = capture_record(
        request=b"45,2,1,3", request_content_type="text/csv", when=WHEN, inference_id="ord-9"
    )
    assert list(given["eventMetadata"].items()) == [
        ("eventId", given["eventMetadata"]["eventId"]),  # SageMaker's own id, always there
        ("inferenceId", "ord-9"),
        ("inferenceTime", "2026-03-04T05:06:07.890Z"),
    ]
    assert given["eventMetadata"]["eventId"] != "ord-9"
    assert record_id(given) == ("ord-9", False)
    # Without one, no inferenceId key (not null): ground truth joins on eventId.
    made = capture_record(request=b"45,2,1,3", request_content_type="text/csv", event_id="e-7")
    assert "inferenceId" not in made["eventMetadata"]
    assert record_id(made) == ("e-7", True)


def test_reader_reads_records_with_and_without_inference_ids(tmp_path: Path) -> None:
    """Files written before inference ids (and SageMaker's, for callers that set none) still read."""
    folder = tmp_path / "ep" / "AllTraffic" / "2026" / "03" / "04" / "05"
    folder.mkdir(parents=True)
    old = {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
           "data": "40,1,1,1", "encoding": "CSV"}},
           "eventMetadata": {"eventId": "e-1", "inferenceTime": "2026-03-04T05:06:07.890Z"},
           "eventVersion": "0"}  # fmt: skip
    new = capture_record(
        request=b"41,2,2,2", request_content_type="text/csv", when=WHEN, inference_id="i-2"
    )
    (folder / "mixed.jsonl").write_text(json.dumps(old) + "\n" + capture_line(new))
    summary = ReadSummary()
    start, end = WHEN.replace(minute=0), WHEN.replace(hour=6, minute=0)
    chunks = list(read_capture(tmp_path, FEATURES, summary, start=start, end=end))
    values = np.vstack([chunk.values for chunk in chunks]).tolist()
    assert values == [[40, 1, 1, 1], [41, 2, 2, 2]]
    assert (summary.records, summary.unreadable) == (2, 0)


def test_other_content_types_and_binary_bodies_are_base64() -> None:
    lines = capture_record(
        request=b'{"features": [1, 2, 3, 4]}', request_content_type="application/jsonlines"
    )["captureData"]["endpointInput"]
    assert lines["encoding"] == "BASE64"
    assert base64.b64decode(lines["data"]) == b'{"features": [1, 2, 3, 4]}'
    binary = capture_record(request=b"\xff\x00", request_content_type="text/csv")
    assert binary["captureData"]["endpointInput"]["encoding"] == "BASE64"
    json_body = capture_record(request=b"[1]", request_content_type="application/json")
    assert json_body["captureData"]["endpointInput"]["encoding"] == "JSON"


def test_format_time_is_utc_with_milliseconds() -> None:
    assert format_time(datetime(2026, 1, 1, 23, 59, 59, 999_999, tzinfo=UTC)) == (
        "2026-01-01T23:59:59.999Z"
    )


def test_writer_files_by_hour_and_round_trips(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, endpoint="ep", variant="AllTraffic")
    first = writer.write(b"40,1,1,1\n41,2,2,2", "text/csv", b"0.1\n0.2", "text/csv", when=WHEN)
    again = writer.write(
        b'{"instances": [{"Age": 50, "Shape": 3, "Margin": null, "Density": 3}]}',
        "application/json",
        when=WHEN.replace(minute=59),
    )
    later = writer.write(
        b'[60, 4, 5, 3]\n{"features": [70, 4, 4, 3]}',
        "application/jsonlines",
        when=WHEN.replace(hour=6),
    )
    tagged = writer.write(b"1,1,1,1", "text/csv", when=WHEN, event_id="e-9", inference_id="i-9")
    assert first == again == tagged != later
    assert first.parent == tmp_path / "ep" / "AllTraffic" / "2026" / "03" / "04" / "05"
    assert later.parent.name == "06"
    assert first.name.endswith(".jsonl")
    lines = first.read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["eventVersion"] == "0" for line in lines)
    assert json.loads(lines[2])["eventMetadata"] == {
        "eventId": "e-9",
        "inferenceId": "i-9",
        "inferenceTime": "2026-03-04T05:06:07.890Z",
    }

    summary = ReadSummary()
    chunks = list(read_capture(tmp_path, FEATURES, summary))
    values = np.vstack([chunk.values for chunk in chunks]).astype(np.float32)
    expected = [
        [40, 1, 1, 1],
        [41, 2, 2, 2],
        [1, 1, 1, 1],
        [50, 3, np.nan, 3],
        [60, 4, 5, 3],
        [70, 4, 4, 3],
    ]
    # Row order within a chunk is CSV rows first, then JSON rows: compare as sets of rows.
    assert sorted(map(tuple, np.nan_to_num(values, nan=-1))) == sorted(
        map(tuple, np.nan_to_num(np.array(expected, dtype=float), nan=-1))
    )
    assert (summary.files, summary.records, summary.rows, summary.unreadable) == (2, 4, 6, 0)


def test_reader_decodes_shipped_requests_as_the_model_server_does(
    make_outliers: ModuleType,
) -> None:
    """Every request in the shipped batch, decoded by the server's codec and by the monitor's reader."""
    from model_container.serve import codec  # noqa: PLC0415  (the server's own decoding)

    features, codes = SCHEMA.feature_names, codec.codes_of(SCHEMA.categories())
    served = []
    for path in sorted(SHIPPED.rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            payload = json.loads(line)["captureData"]["endpointInput"]
            body = payload["data"].encode()
            if payload["encoding"] == "BASE64":
                body = base64.b64decode(body)
            kind = codec.media_type(payload["observedContentType"])
            served.append(codec.parse(kind, body, features, codes))
    expected = np.vstack(served)  # the server scores float32 rows
    summary = ReadSummary()
    chunks = read_capture(SHIPPED, features, summary, codes=codes)
    values = np.vstack([chunk.values for chunk in chunks]).astype(np.float32)
    assert summary.rows == len(expected) == len(make_outliers.bundled_features())
    assert summary.unreadable == 0

    def ordered(table: np.ndarray) -> list[tuple[float, ...]]:
        return sorted(map(tuple, np.nan_to_num(table, nan=-1.0)))

    assert ordered(values) == ordered(expected)
