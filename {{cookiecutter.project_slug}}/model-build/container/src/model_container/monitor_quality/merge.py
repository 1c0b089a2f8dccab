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
import functools
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

import numpy as np
import orjson

from model_container.monitor import parallel
from model_container.monitor.reader import parse_time
from model_container.monitor.rows import ReadSummary
from model_container.monitor_quality.facet import FacetField
from model_container.monitor_quality.ground_truth import Truth, label_values

_COMMON_LABELS = {"0": 0.0, "1": 1.0}
_SUFFIXES = {  # what a merged line ends with, for the common labels
    data: b',"groundTruthData":{"data":"' + data.encode() + b'","encoding":"CSV"}}\n'
    for data in _COMMON_LABELS
}


@dataclass
class Merged:
    """The merged rows: labels, scores and, when a facet is read, its value per row."""

    labels: np.ndarray
    scores: np.ndarray
    facet: np.ndarray | None = None


@dataclass
class MergeSummary:
    """What the merge found; ``unmatched`` = window records without ground truth."""

    capture: ReadSummary = field(default_factory=ReadSummary)
    ground_truth: ReadSummary = field(default_factory=ReadSummary)
    matched: int = 0
    unmatched: int = 0
    mismatched: int = 0  # label count differs from the score count, or a label is not 0/1

    def add(self, other: MergeSummary) -> None:
        """Add the capture counts of a later part of the merge (another task's files)."""
        self.capture.merge(other.capture)
        self.matched += other.matched
        self.unmatched += other.unmatched
        self.mismatched += other.mismatched


_TRUTH: dict[str, Truth] = {}  # the ground truth the forked workers inherit (merge_files sets it)


def merge_files(
    files: Sequence[parallel.FileRef],
    truth: dict[str, Truth],
    summary: MergeSummary,
    folder: Path,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    facet: FacetField | None = None,
    processes: int = 1,
) -> Merged:
    """``merge`` of the window's files in ``processes`` worker processes (forked: they share the
    ground truth read here), each task writing its merged records to ``folder/part-NNNNN.jsonl``;
    the rows come back in the files' order, as one process would merge them."""
    work = parallel.tasks(files, parallel.TASK_BYTES)
    processes = min(processes, len(work))
    pool = parallel.start_pool(processes, "monitor_quality") if processes > 1 else None
    folder.mkdir(parents=True, exist_ok=True)
    global _TRUTH  # noqa: PLW0603 (read by the forked workers, not passed: a copy per task)
    _TRUTH = truth
    task = functools.partial(_merge_task, folder=folder, start=start, end=end, facet=facet)
    parts: list[Merged] = []
    try:
        if pool is None:  # one process: every file in one task, here
            results: Iterable[tuple[Merged, MergeSummary]] = [task((0, list(files)))]
        else:
            summary.capture.processes = processes
            results = parallel.in_order(pool, task, enumerate(work), processes)
        for rows, counts in results:
            summary.add(counts)
            parts.append(rows)
    finally:
        _TRUTH = {}
    return Merged(
        np.concatenate([part.labels for part in parts]),
        np.concatenate([part.scores for part in parts]),
        None if facet is None else np.concatenate([part.facet for part in parts]),
    )


def _part(index: int) -> str:
    return f"part-{index:05d}.jsonl"


def _merge_task(
    numbered: tuple[int, list[parallel.FileRef]],
    *,
    folder: Path,
    start: datetime | None,
    end: datetime | None,
    facet: FacetField | None,
) -> tuple[Merged, MergeSummary]:
    index, task = numbered
    summary = MergeSummary()
    with (folder / _part(index)).open("wb") as merged:
        rows = merge(
            parallel.opened(task), _TRUTH, summary, start=start, end=end, merged=merged, facet=facet
        )
    return rows, summary


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
    facet: FacetField | None = None,
) -> Merged:
    """The labels and scores of the window's captured rows that have ground truth (and, with
    ``facet``, each row's facet value); ``merged`` receives each merged record as a JSON line.

    The hot path (a million records take a few seconds): a one-row CSV answer with a CSV label of
    0 or 1 is handled inline with local counters; any other record goes to ``_general``.
    """
    rows = _Rows(array("d"), array("d"), [], array("d"), facet)
    add_label, add_score, keep = rows.labels.append, rows.scores.append, rows.out.append
    add_facet = rows.facet.append
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
                        if facet is not None:
                            add_facet(facet.one(record, line))
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
    return Merged(
        np.frombuffer(rows.labels, dtype=np.float64),
        np.frombuffer(rows.scores, dtype=np.float64),
        None if facet is None else np.frombuffer(rows.facet, dtype=np.float64),
    )


@dataclass
class _Rows:
    labels: array
    scores: array
    out: list[bytes]  # merged lines of the current file
    facet: array
    facet_field: FacetField | None
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
    if rows.facet_field is not None:
        rows.facet.extend(rows.facet_field.many(line, len(row_scores)))
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
