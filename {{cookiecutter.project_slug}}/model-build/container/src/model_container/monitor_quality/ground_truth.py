"""Ground-truth records as SageMaker Model Monitor reads them, and a writer for them.

One JSON object per line (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html)::

    {"groundTruthData": {"data": "1", "encoding": "CSV"},
     "eventMetadata": {"eventId": "<the captured record's inferenceId, else its eventId>"},
     "eventVersion": "0"}

under ``<prefix>/yyyy/mm/dd/hh/*.jsonl``, the hour being when the label was collected (not when the
request was made), the same path format as data capture. ``data`` holds the label (``0`` or ``1``);
a request of several rows gets one label per row, one per line. ``encoding`` CSV or JSON (a JSON
number or list) as text; BASE64 is decoded first.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import orjson

from model_container.monitor.rows import ReadSummary


def ground_truth_record(event_id: str, labels: Iterable[int | float]) -> dict:
    """One record: ``labels`` of one request (one per row), as CSV text."""
    data = "\n".join(f"{label:g}" for label in labels)
    return {
        "groundTruthData": {"data": data, "encoding": "CSV"},
        "eventMetadata": {"eventId": event_id},
        "eventVersion": "0",
    }


def write_ground_truth(
    labels: Mapping[str, Iterable[int | float]], root: Path, when: datetime, name: str = "labels"
) -> Path:
    """Write ``{id: labels}`` as one file in ``<root>/yyyy/mm/dd/hh/`` of ``when`` (label time)."""
    folder = root / when.astimezone(UTC).strftime("%Y/%m/%d/%H")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.jsonl"
    lines = (
        json.dumps(ground_truth_record(key, values), separators=(",", ":")) + "\n"
        for key, values in labels.items()
    )
    path.write_text("".join(lines), encoding="utf-8")
    return path


def label_values(data: str, encoding: str = "CSV") -> list[float]:
    """The labels of one record's ``groundTruthData`` (each 0 or 1); ValueError names a bad one."""
    if encoding == "BASE64":
        try:
            data = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise ValueError(f"base64 data does not decode to UTF-8 text ({error})") from None
        encoding = "CSV"
    if encoding == "JSON":
        value = orjson.loads(data)
        items = value if isinstance(value, list) else [value]
    elif encoding == "CSV":
        items = [part.strip() for part in data.replace(",", "\n").splitlines() if part.strip()]
    else:
        raise ValueError(f"encoding {encoding!r} is not one of CSV, JSON, BASE64")
    labels = []
    for item in items:
        value = float(item)
        if value not in (0.0, 1.0):
            raise ValueError(f"label {item!r} is not 0 or 1")
        labels.append(value)
    if not labels:
        raise ValueError("groundTruthData.data holds no label")
    return labels


Truth = str | tuple[str, str]  # a CSV record's data ("0", "1", shared), else (data, encoding)
_SHARED = {"0": "0", "1": "1"}  # one object per common label: a million ids stay ~150 MB


def read_ground_truth(
    files: Iterable[tuple[str, Iterable[bytes]]], summary: ReadSummary
) -> dict[str, Truth]:
    """``{eventId: data}`` (CSV) or ``{eventId: (data, encoding)}`` of every record; a later record
    of an id replaces an earlier one (a corrected label). Labels are parsed when merged."""
    labels: dict[str, Truth] = {}
    shared = _SHARED.get
    loads = orjson.loads
    for name, lines in files:
        summary.files += 1
        for line_no, line in enumerate(lines, start=1):
            try:
                record = loads(line)
                truth = record["groundTruthData"]
                event_id, data, encoding = (
                    record["eventMetadata"]["eventId"],
                    truth["data"],
                    truth["encoding"],
                )
                if type(event_id) is not str or type(data) is not str:
                    raise TypeError
            except (orjson.JSONDecodeError, KeyError, TypeError):
                if line.strip():
                    summary.unreadable_record(
                        f"{name}:{line_no}",
                        "not a ground-truth record (groundTruthData.data/encoding, eventMetadata.eventId)",
                    )
                continue
            summary.records += 1
            labels[event_id] = shared(data, data) if encoding == "CSV" else (data, encoding)
    return labels


def ground_truth_files(root: Path, start: datetime | None) -> Iterator[Path]:
    """The ``*.jsonl`` files below ``root`` (hidden ones skipped) whose hour is not before ``start``'s
    (labels come after the request they label)."""
    if not root.is_dir():
        raise FileNotFoundError(f"ground-truth folder {root} does not exist")
    first = start.astimezone(UTC).strftime("%Y/%m/%d/%H") if start else None
    for path in sorted(root.rglob("*.jsonl")):
        relative = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in relative.split("/")) or not path.is_file():
            continue
        hour = "/".join(relative.split("/")[-5:-1])
        if first and len(hour) == 13 and hour < first:
            continue
        yield path
