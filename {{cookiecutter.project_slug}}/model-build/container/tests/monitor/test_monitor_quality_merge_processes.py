"""The merge in worker processes gives what one process merges: rows in order, counts, merged lines."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from model_container.monitor import parallel
from model_container.monitor.capture import capture_line, capture_record
from model_container.monitor_quality.facet import FacetField
from model_container.monitor_quality.merge import Merged, MergeSummary, merge_files

FIELD = FacetField(("Age", "Shape"), 0, {"Shape": {"round": 0.0, "oval": 1.0}})


def _record(number: int, file: int) -> str:
    """Requests of one and two rows, CSV and JSON answers; ids of the form f<file>-<number>."""
    age = 20 + file * 10 + number
    if number % 3 == 2:
        request, answer = f"{age},oval\n{age + 1},round", b"0.4\n0.6"
    else:
        request, answer = f"{age},round", b"0.7" if number % 2 else b'{"predictions":[0.3]}'
    return capture_line(
        capture_record(
            request=request.encode(),
            request_content_type="text/csv",
            response=answer,
            response_content_type="text/csv" if not answer.startswith(b"{") else "application/json",
            event_id=f"f{file}-{number}",
        )
    )


def _window(folder: Path, files: int) -> tuple[list[parallel.FileRef], dict[str, str]]:
    refs, truth = [], {}
    for file in range(files):
        lines = [_record(number, file) for number in range(6)]
        lines.append(f"not json in file {file}\n")  # counted, with its reason
        path = folder / f"{file:02d}.jsonl"
        path.write_text("".join(lines))
        refs.append(parallel.LocalFile(path, path.stat().st_size))
        for number in range(5):  # the last record of each file has no ground truth
            truth[f"f{file}-{number}"] = "1\n0" if number % 3 == 2 else str(number % 2)
    return refs, truth


def _merge(
    tmp_path: Path, name: str, processes: int, refs: list[parallel.FileRef], truth: dict
) -> tuple[Merged, MergeSummary, bytes]:
    summary = MergeSummary()
    out = tmp_path / name
    rows = merge_files(refs, truth, summary, out, facet=FIELD, processes=processes)
    merged = b"".join(path.read_bytes() for path in sorted(out.glob("part-*.jsonl")))
    return rows, summary, merged


def test_workers_merge_what_one_process_merges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "capture").mkdir()
    refs, truth = _window(tmp_path / "capture", 5)
    one, one_summary, one_lines = _merge(tmp_path, "one", 1, refs, truth)
    monkeypatch.setattr(parallel, "TASK_BYTES", 1)  # every file a task of its own
    many, many_summary, many_lines = _merge(tmp_path, "many", 3, refs, truth)
    assert len(list((tmp_path / "many").glob("part-*.jsonl"))) == 5
    assert many_summary.capture.processes == 3
    many_summary.capture.processes = 1
    assert dataclasses.asdict(many_summary) == dataclasses.asdict(one_summary)
    for field in ("labels", "scores", "facet"):
        np.testing.assert_array_equal(getattr(many, field), getattr(one, field))
    assert many_lines == one_lines
    # What the fixture holds, so that equal counts are not equal zeros.
    assert (one_summary.matched, one_summary.unmatched, one_summary.capture.unreadable) == (
        25,
        5,
        5,
    )
    assert len(one.labels) == 30 and one.facet is not None and one.facet[:2].tolist() == [20, 21]
    assert one_summary.capture.examples[0].startswith("00.jsonl:7:")
