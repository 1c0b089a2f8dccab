"""Merging captured predictions with ground truth as Model Monitor does, in one pass over the capture.

A captured record joins the ground-truth record whose ``eventMetadata.eventId`` equals its
``inferenceId`` or, without one, its ``eventId``
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html). The score
is read from ``captureData.endpointOutput`` in any form the server answers with: CSV (one score per
line), JSON ``{"predictions": [{"score": ...}]}`` or a list, JSON lines. A request of n rows needs n
labels. Each merged record is written out as the captured line with ``groundTruthData`` added, so
the file stays a data-capture file (features in ``endpointInput``) that the drift monitor's reader
and a later bias check can read.
"""

from __future__ import annotations

import base64
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

import numpy as np
import orjson

from model_container.monitor.reader import parse_time
from model_container.monitor.rows import ReadSummary
from model_container.monitor_quality.ground_truth import Truth, label_values

_COMMON_LABELS = {"0": 0.0, "1": 1.0}
_SUFFIXES = {  # what a merged line ends with, for the common labels
    data: b',"groundTruthData":{"data":"' + data.encode() + b'","encoding":"CSV"}}\n'
    for data in _COMMON_LABELS
}


@dataclass
class MergeSummary:
    """What the merge found; ``unmatched`` = window records without ground truth."""

    capture: ReadSummary = field(default_factory=ReadSummary)
    ground_truth: ReadSummary = field(default_factory=ReadSummary)
    matched: int = 0
    unmatched: int = 0
    mismatched: int = 0  # label count differs from the score count, or a label is not 0/1


def scores_of(output: dict) -> list[float]:
    """The scores of one ``captureData.endpointOutput`` (CSV, JSON or JSON lines; text or base64)."""
    data, encoding = output["data"], output.get("encoding")
    if encoding == "BASE64":
        data = base64.b64decode(data).decode("utf-8")
    media = str(output.get("observedContentType", "")).split(";", 1)[0].strip().lower()
    if media == "text/csv" or (not media and encoding == "CSV"):
        return [float(part) for part in data.replace(",", "\n").split() if part]
    if "jsonl" in media or "ndjson" in media:
        items = [orjson.loads(line) for line in data.splitlines() if line.strip()]
    else:
        document = orjson.loads(data)
        items = document["predictions"] if isinstance(document, dict) else document
        items = items if isinstance(items, list) else [items]
    return [float(item["score"] if isinstance(item, dict) else item) for item in items]


def merge(
    files: Iterable[tuple[str, Iterable[bytes]]],
    truth: dict[str, Truth],
    summary: MergeSummary,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    merged: IO[bytes] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, scores) of the window's captured rows that have ground truth; ``merged`` receives
    each merged record as a JSON line.

    The hot path (a million records take a few seconds): a one-row CSV answer with a CSV label of
    0 or 1 is handled inline with local counters; any other record goes to ``_general``.
    """
    rows = _Rows(array("d"), array("d"), [])
    add_label, add_score, keep = rows.labels.append, rows.scores.append, rows.out.append
    loads, lookup, common = orjson.loads, truth.get, _COMMON_LABELS.get
    windowed = start is not None or end is not None
    read = summary.capture
    for name, lines in files:
        read.files += 1
        for line_no, line in enumerate(lines, start=1):
            try:
                record = loads(line)
                metadata = record["eventMetadata"]
                if windowed:
                    when = parse_time(metadata["inferenceTime"])
                    if (start and when < start) or (end and when >= end):
                        read.outside_window += 1
                        continue
                found = lookup(metadata.get("inferenceId") or metadata["eventId"])
                output = record["captureData"]["endpointOutput"] if found is not None else None
                label = common(found) if type(found) is str else None
                if label is not None and output["encoding"] == "CSV":
                    try:
                        score = float(output["data"])  # one score; float() ignores the newline
                    except ValueError:  # several scores: the general path reads them
                        score = None
                    if score is not None:
                        rows.matched += 1
                        add_label(label)
                        add_score(score)
                        keep(line.rstrip()[:-1] + _SUFFIXES[found])
                        continue
            except Exception as error:  # a bad record is counted, never fatal
                if line.strip():
                    read.unreadable_record(f"{name}:{line_no}", _reason(error))
                continue
            _general(summary, rows, record, found, line=line, where=f"{name}:{line_no}")
        if merged is not None:
            merged.writelines(rows.out)
        rows.out.clear()
    read.records += rows.matched
    summary.matched += rows.matched
    return np.frombuffer(rows.labels, dtype=np.float64), np.frombuffer(
        rows.scores, dtype=np.float64
    )


@dataclass
class _Rows:
    labels: array
    scores: array
    out: list[bytes]  # merged lines of the current file
    matched: int = 0


def _general(
    summary: MergeSummary,
    rows: _Rows,
    record: dict,
    found: Truth | None,
    *,
    line: bytes,
    where: str,
) -> None:
    """Any record but the common one: several rows, JSON answers or labels, no ground truth."""
    if found is None:
        summary.capture.records += 1
        summary.unmatched += 1
        return
    try:
        row_scores = scores_of(record["captureData"]["endpointOutput"])
    except Exception as error:  # a bad record is counted, never fatal
        summary.capture.unreadable_record(where, _reason(error))
        return
    try:
        row_labels = _labels(found)
    except ValueError:
        row_labels = []
    if len(row_labels) != len(row_scores):
        summary.capture.records += 1
        summary.mismatched += 1
        return
    rows.matched += 1  # merge() adds the matched records to summary.capture.records
    rows.labels.extend(row_labels)
    rows.scores.extend(row_scores)
    data, encoding = (found, "CSV") if type(found) is str else found
    document = orjson.dumps({"data": data, "encoding": encoding})
    rows.out.append(line.rstrip()[:-1] + b',"groundTruthData":' + document + b"}\n")


def _labels(found: Truth) -> list[float]:
    return label_values(found) if isinstance(found, str) else label_values(*found)


def _reason(error: Exception) -> str:
    if isinstance(error, orjson.JSONDecodeError):
        return f"not a JSON line or payload ({error})"
    if isinstance(error, (KeyError, TypeError)):
        return "no captureData.endpointOutput score (a capture without responses cannot be merged)"
    if isinstance(error, ValueError):
        return str(error)
    raise error
