"""Reading SageMaker data-capture files of a time window into feature rows, chunk by chunk.

Files are ``<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl``, in a folder or streamed from S3
(``monitor.s3`` lists them; both feed the same parser as (name, lines) pairs); a window [start,
end) skips files whose hour lies outside it and records whose ``eventMetadata.inferenceTime``
does. Request payloads (``captureData.endpointInput``) may be CSV (one or many rows, no header),
JSON (``{"instances": [...]}``, a list of rows, one row, by-name objects, ``{"features": [...]}``)
or JSON lines, stored as text or base64. Memory stays bounded: rows are handed out in chunks of
``chunk_rows`` (plus at most one request's rows), whatever the window holds; a chunk holds the rows
of one inference hour (``Chunk.hour``: the report plots drift hour by hour). A categorical feature
(``codes``: its categories' codes, from the baseline's constraints) is read as its code; a value
outside its categories counts as a value of the wrong type, like text in a numeric feature.

A line that cannot be read is counted (with the first few reasons kept for the report), never fatal.
``read_csv_lines`` reads a batch transform's input (CSV feature rows) through the same row buffer.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from model_container.monitor.rows import (
    PLAIN_TYPES,
    Chunk,
    PayloadError,
    ReadSummary,
    RowBuffer,
    by_index,
)
from model_container.serve.codec import Codes

__all__ = ["Chunk", "PayloadError", "ReadSummary", "RowBuffer", "read_capture", "read_csv_lines"]

CSV, JSON, JSONLINES = "csv", "json", "jsonlines"
_FORMATS = {
    "text/csv": CSV,
    "application/json": JSON,
    "application/jsonlines": JSONLINES,
    "application/x-jsonlines": JSONLINES,
    "application/jsonl": JSONLINES,
    "application/x-ndjson": JSONLINES,
}
_HOUR_PATH = re.compile(r"(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]+$")
CSV_SUFFIXES = (".csv", ".txt")  # files of a batch input (--input-format csv)


def parse_time(text: str) -> datetime:
    """An ISO 8601 time (``Z`` or an offset); a time without zone is taken as UTC."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def capture_files(root: Path, start: datetime | None, end: datetime | None) -> list[Path]:
    """The ``*.jsonl`` files below ``root`` (hidden ones skipped) whose path hour meets the window."""
    if not root.is_dir():
        raise FileNotFoundError(f"capture folder {root} does not exist")
    selected = []
    for path in sorted(root.rglob("*.jsonl")):
        relative = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in relative.split("/")) or not path.is_file():
            continue
        match = _HOUR_PATH.search(path.as_posix())
        if match and (start or end):
            hour = datetime(*map(int, match.groups()), tzinfo=UTC)
            if (end and hour >= end) or (start and hour + timedelta(hours=1) <= start):
                continue
        selected.append(path)
    return selected


@functools.lru_cache(maxsize=64)
def payload_format(content_type: object, encoding: object) -> str:
    """CSV, JSON or JSONLINES from ``observedContentType`` (or, without one, the encoding)."""
    text = content_type if isinstance(content_type, str) else ""
    media = text.split(";", 1)[0].strip().lower()
    if media in _FORMATS:
        return _FORMATS[media]
    if not media and encoding in ("CSV", "JSON"):
        return CSV if encoding == "CSV" else JSON
    raise PayloadError(
        f"content type {media or '(none)'!r} is not supported; allowed: {', '.join(_FORMATS)}"
    )


def _payload_text(endpoint_input: dict) -> str:
    data = endpoint_input.get("data")
    if not isinstance(data, str):
        raise PayloadError("endpointInput.data is missing or not a string")
    encoding = endpoint_input.get("encoding")
    if encoding == "BASE64":
        try:
            return base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise PayloadError(f"base64 data does not decode to UTF-8 text ({error})") from None
    if encoding not in ("CSV", "JSON"):
        raise PayloadError(f"encoding {encoding!r} is not one of CSV, JSON, BASE64")
    return data


def _add_payload(buffer: RowBuffer, endpoint_input: dict, features: Sequence[str]) -> None:
    kind = payload_format(endpoint_input.get("observedContentType"), endpoint_input.get("encoding"))
    text = _payload_text(endpoint_input)
    if kind == CSV:
        buffer.add_csv(text)
        return
    try:
        if kind == JSONLINES:
            items = [orjson.loads(line) for line in text.splitlines() if line.strip()]
        else:
            items = _json_instances(orjson.loads(text))
    except orjson.JSONDecodeError as error:
        raise PayloadError(f"payload is not valid JSON ({error})") from None
    _add_instances(buffer, items, features)


def _add_json_text(buffer: RowBuffer, text: str, features: Sequence[str]) -> None:
    """A JSON payload stored as text; one plain row (the common request) is appended directly."""
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise PayloadError(f"payload is not valid JSON ({error})") from None
    items = document.get("instances") if type(document) is dict else document
    if (
        type(items) is list
        and len(items) == 1
        and type(row := items[0]) is list
        and len(row) == buffer.width
        and not buffer.codes
        and PLAIN_TYPES.issuperset(map(type, row))
    ):
        buffer.json_rows.append(row)
    else:
        _add_instances(buffer, _json_instances(document), features)


def _add_instances(buffer: RowBuffer, items: list, features: Sequence[str]) -> None:
    # Check every instance before adding any, so a bad payload adds no rows.
    rows = []
    bad: list[int] = []
    wrong_widths: list[int] = []
    extra: list[str] = []
    for item in items:
        row, columns, fields, names = buffer.instance_row(item, features)
        extra.extend(names)
        if row is None:
            wrong_widths.append(fields)
        else:
            rows.append(row)
            bad.extend(columns)
    buffer.json_rows.extend(rows)
    for fields in wrong_widths:
        buffer.summary.wrong_width(fields, buffer.width)
    for name in extra:
        buffer.summary.extra_name(name)
    for column in bad:
        buffer.json_non_numeric[column] += 1


def _json_instances(document: object) -> list:
    """The rows of a JSON request body in any of the forms the model server accepts."""
    if isinstance(document, dict):
        if "instances" in document:
            items = document["instances"]
            if not isinstance(items, list):
                raise PayloadError('"instances" is not a list')
            return items
        return [document]  # one instance: {"features": [...]} or by name
    if isinstance(document, list):
        if document and all(isinstance(item, (list, dict)) for item in document):
            return document
        return [document]  # one row of values
    raise PayloadError(f"JSON payload is {type(document).__name__}; expected an object or a list")


def folder_files(paths: Iterable[Path]) -> Iterator[tuple[str, Iterable[bytes]]]:
    """(name, lines) of local files; each is closed once its lines have been read."""
    for path in paths:
        with path.open("rb") as handle:
            yield path.name, handle


def csv_files(root: Path) -> list[Path]:
    """The ``*.csv`` and ``*.txt`` files below ``root`` (hidden ones skipped): a batch's input."""
    if not root.is_dir():
        raise FileNotFoundError(f"input folder {root} does not exist")
    return [
        path
        for path in sorted(root.rglob("*"))
        if path.suffix in CSV_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    ]


def read_capture(
    root: Path,
    features: Sequence[str],
    summary: ReadSummary,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    chunk_rows: int = 65_536,
    codes: Codes | None = None,
) -> Iterator[Chunk]:
    """The window's request rows of the capture files below the folder ``root``."""
    files = folder_files(capture_files(root, start, end))
    return read_capture_lines(
        files, features, summary, start=start, end=end, chunk_rows=chunk_rows, codes=codes
    )


def read_capture_lines(
    files: Iterable[tuple[str, Iterable[bytes]]],
    features: Sequence[str],
    summary: ReadSummary,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    chunk_rows: int = 65_536,
    codes: Codes | None = None,
) -> Iterator[Chunk]:
    """Yield the window's request rows as chunks of about ``chunk_rows`` rows (``summary`` counts).

    ``files`` are (name, lines) pairs of capture files, from a folder or streamed from S3; the
    name appears in the reasons of unreadable records.
    The loop is the hot path (a million records take a few seconds): a CSV payload stored as text,
    the common request, is added without a function call; JSON text takes one call.
    """
    buffer = RowBuffer(len(features), summary, by_index(features, codes))
    add_csv_text = buffer.csv_texts.append
    windowed = start is not None or end is not None
    loads = orjson.loads
    hour = (
        ""  # of the rows in the buffer: a chunk holds one hour's rows (the report's hourly drift)
    )
    for name, lines in files:
        summary.files += 1
        records = 0
        for line_no, line in enumerate(lines, start=1):
            try:
                record = loads(line)
                endpoint_input = record["captureData"]["endpointInput"]
                if windowed:
                    when = parse_time(record["eventMetadata"]["inferenceTime"])
                    if (start and when < start) or (end and when >= end):
                        summary.outside_window += 1
                        continue
                record_hour = capture_hour(record)
                if record_hour != hour:
                    yield from _flush(buffer, hour)
                    hour = record_hour
                data = endpoint_input["data"]
                encoding = endpoint_input["encoding"]
                kind = payload_format(endpoint_input["observedContentType"], encoding)
                if type(data) is not str:
                    raise PayloadError("endpointInput.data is not a string")
                if encoding == "CSV" and kind == CSV:
                    add_csv_text(data)
                    buffer.csv_rows += data.count("\n") + 1
                elif encoding == "JSON" and kind == JSON:
                    _add_json_text(buffer, data, features)
                else:
                    _add_payload(buffer, endpoint_input, features)
            except Exception as error:  # a bad record is counted; _reason re-raises our own bugs
                if line.strip():
                    summary.unreadable_record(f"{name}:{line_no}", _reason(error))
                continue
            records += 1
            if buffer.csv_rows + len(buffer.json_rows) >= chunk_rows:
                yield _hour_chunk(buffer.take(), hour)
        summary.records += records
    yield from _flush(buffer, hour)


def capture_hour(record: dict) -> str:
    """A capture record's inference hour, "YYYY-MM-DDTHH" in UTC; "" without a readable time."""
    metadata = record.get("eventMetadata")
    text = metadata.get("inferenceTime") if type(metadata) is dict else None
    if type(text) is not str:
        return ""
    if len(text) > 13 and text[10] == "T" and text[-1] == "Z":
        return text[:13]  # already UTC (what SageMaker writes): no parsing on the hot path
    try:
        return f"{parse_time(text):%Y-%m-%dT%H}"
    except ValueError:
        return ""


def _hour_chunk(chunk: Chunk, hour: str) -> Chunk:
    chunk.hour = hour
    return chunk


def _flush(buffer: RowBuffer, hour: str) -> Iterator[Chunk]:
    """The buffer's rows, all of ``hour``, as one chunk (none if it is empty)."""
    if len(buffer):
        yield _hour_chunk(buffer.take(), hour)


def read_csv_lines(
    files: Iterable[tuple[str, Iterable[bytes]]],
    features: Sequence[str],
    summary: ReadSummary,
    *,
    chunk_rows: int = 65_536,
    codes: Codes | None = None,
) -> Iterator[Chunk]:
    """Feature rows of CSV files (a batch transform's input: no header, no label), chunk by chunk.

    Every non-blank line is a record and a row; rows of another width and fields that are not
    numbers are counted as for captured CSV payloads.
    """
    buffer = RowBuffer(len(features), summary, by_index(features, codes))
    for name, lines in files:
        summary.files += 1
        for line_no, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                buffer.add_csv(line.decode("utf-8"))
            except UnicodeDecodeError as error:
                summary.unreadable_record(f"{name}:{line_no}", f"not UTF-8 text ({error})")
                continue
            summary.records += 1
            if len(buffer) >= chunk_rows:
                yield buffer.take()
    if len(buffer):
        yield buffer.take()


def _reason(error: Exception) -> str:
    if isinstance(error, orjson.JSONDecodeError):
        return f"not a JSON line ({error})"
    if isinstance(error, (KeyError, TypeError)):
        return "not a capture record (captureData.endpointInput.data/encoding, eventMetadata)"
    if isinstance(error, ValueError):  # PayloadError, a bad time
        return str(error)
    raise error
