"""Reading in worker processes gives what one process reads: the rows, every count, the reasons."""

from __future__ import annotations

import base64
import dataclasses
import functools
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from test_monitor_reader import record

from model_container.monitor import parallel
from model_container.monitor.reader import (
    ReadSummary,
    capture_files,
    read_capture_lines,
    read_csv_lines,
)
from model_container.serve.codec import codes_of

FEATURES = ["Age", "Shape", "Margin", "Density"]
SHAPES = ["round", "oval", "lobular", "irregular"]
CODES = codes_of({"Shape": SHAPES})


def at(minute: int) -> str:
    return f"2026-01-01T10:{minute:02d}:00Z"


def capture(root: Path, files: int) -> list[parallel.FileRef]:
    """Files mixing what the reader counts: CSV, base64, JSON (by name, with an extra key), rows
    of the wrong width, unknown categories, unreadable lines and records outside the window."""
    for index in range(files):
        lines = [
            record(f"{40 + index},oval,{index % 5 + 1},3", when=at(1)),
            record(base64.b64encode(b"61,irregular,4,?").decode(), encoding="BASE64", when=at(2)),
            record(
                json.dumps({"instances": [[50, "round", 2, 3], [51, "lobular", 3, 4]]}),
                "application/json",
                "JSON",
                when=at(3),
            ),
            record(
                json.dumps(
                    {"Age": 70, "Shape": "oval", "Margin": 1, "Density": 2, f"note{index}": 1}
                ),
                "application/json",
                "JSON",
                when=at(4),
            ),
            record(f"{index},oval", when=at(5)),  # too few fields
            record(f"{index},hexagonal,1,2,9", when=at(6)),  # too many, and no such shape
            record(f"{index},hexagonal,1,2", when=at(7)),  # no such shape
            f"not json {index}",
            record("33,round,1,1", when="2026-01-01T11:59:00Z"),  # outside the window
        ]
        path = root / "ep" / "AllTraffic" / "2026" / "01" / "01" / "10" / f"{index:02d}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
    paths = capture_files(root, **WINDOW)
    return [parallel.LocalFile(path, path.stat().st_size) for path in paths]


def read_all(
    files: list[parallel.FileRef], processes: int, read: parallel.Read
) -> tuple[np.ndarray, ReadSummary]:
    summary = ReadSummary()
    chunks = list(parallel.read_files(files, read, summary, processes))
    rows = np.vstack([chunk.values for chunk in chunks])
    # A chunk stacks its CSV rows before its JSON rows: compare the rows as a set, in one order.
    rows = rows[np.lexsort(np.nan_to_num(rows, nan=-9).T[::-1])]
    return rows, summary


WINDOW = {
    "start": datetime(2026, 1, 1, 10, tzinfo=UTC),
    "end": datetime(2026, 1, 1, 11, tzinfo=UTC),
}
READ_CAPTURE = functools.partial(read_capture_lines, features=FEATURES, codes=CODES, **WINDOW)


def test_workers_read_what_one_process_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = capture(tmp_path, 7)
    one_rows, one = read_all(files, 1, READ_CAPTURE)
    monkeypatch.setattr(parallel, "TASK_BYTES", 1)  # every file a task of its own
    many_rows, many = read_all(files, 3, READ_CAPTURE)
    assert many.processes == 3 and one.processes == 1
    np.testing.assert_array_equal(many_rows, one_rows)
    assert dataclasses.replace(many, processes=1) == one
    # Every count the fixture exercises is there (a merge that dropped one would still be equal
    # to a reader that never counted it).
    assert (one.files, one.records, one.outside_window, one.unreadable) == (7, 49, 7, 7)
    assert (one.short_rows, one.long_rows, one.fewest_fields, one.most_fields) == (7, 7, 2, 5)
    assert len(one.extra_names) == 7 and len(one.examples) == 5
    assert one.examples[0].startswith("00.jsonl:8:") and one.examples[4].startswith("04.jsonl:8:")


def test_batch_csv_in_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = []
    for index in range(5):
        path = tmp_path / f"part-{index}.csv"
        path.write_text(f"{index},oval,1,2\n{index},round,2,3\n{index},square,3,4\n1,2\n")
        paths.append(path)
    files = [parallel.LocalFile(path, path.stat().st_size) for path in paths]
    read = functools.partial(read_csv_lines, features=FEATURES, codes=CODES)
    one_rows, one = read_all(files, 1, read)
    monkeypatch.setattr(parallel, "TASK_BYTES", 80)  # two 40-byte files a task
    assert len(parallel.tasks(files, parallel.TASK_BYTES)) == 3
    many_rows, many = read_all(files, 2, read)
    np.testing.assert_array_equal(many_rows, one_rows)
    assert dataclasses.replace(many, processes=1) == one and many.processes == 2
    assert (one.rows, one.wrong_width_rows) == (15, 5)


def test_one_task_or_one_process_reads_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = capture(tmp_path, 3)
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", None)  # would fail if a pool started
    assert read_all(files, 4, READ_CAPTURE)[1].processes == 1  # 3 small files: one task
    monkeypatch.setattr(parallel, "TASK_BYTES", 1)
    assert read_all(files, 1, READ_CAPTURE)[1].processes == 1


@pytest.mark.parametrize(
    ("sizes", "task_bytes", "grouped"),
    [
        ([5, 5, 5, 20, 1], 10, [[5, 5], [5, 20], [1]]),
        ([30, 1, 1], 10, [[30], [1, 1]]),
        ([], 10, []),
        ([0, 0, 0], 10, [[0, 0, 0]]),  # sizes unknown: one task
    ],
)
def test_tasks_group_consecutive_files(
    sizes: list[int], task_bytes: int, grouped: list[list[int]]
) -> None:
    files = [parallel.LocalFile(Path(f"{i}.jsonl"), size) for i, size in enumerate(sizes)]
    assert [[ref.size for ref in task] for task in parallel.tasks(files, task_bytes)] == grouped
    assert [ref for task in parallel.tasks(files, task_bytes) for ref in task] == files


def test_no_pool_reads_here_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = capture(tmp_path, 3)
    one_rows, one = read_all(files, 1, READ_CAPTURE)

    def no_shared_memory(**_: object) -> None:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", no_shared_memory)
    monkeypatch.setattr(parallel, "TASK_BYTES", 1)
    rows, summary = read_all(files, 2, READ_CAPTURE)
    np.testing.assert_array_equal(rows, one_rows)
    assert summary == one
    err = capsys.readouterr().err
    assert err == "monitor: reading in one process ([Errno 38] Function not implemented)\n"
