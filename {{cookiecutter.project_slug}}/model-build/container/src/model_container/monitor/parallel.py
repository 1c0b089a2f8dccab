"""Reading a window's files in worker processes, results in the files' order.

The read is the monitor's cost (about 4 s of CPU per million captured records: JSON decoding in a
Python loop), and a processing instance has several cores. The files are cut into tasks of
consecutive files of about ``TASK_BYTES`` or more (one large file is a task); each worker reads a
task with the same reader as the one-process path and sends back its chunks and counts, which are
merged in task order: the statistics and counts equal a one-process read's, the first unreadable
records' reasons too (only the chunks' boundaries differ). At most ``2 x processes`` tasks are in
flight, so memory stays bounded by a few tasks' rows whatever the window holds. One process (one
core, or one task) reads here, as before.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from model_container.entrypoint import StepError
from model_container.monitor.rows import Chunk, ReadSummary

MAX_PROCESSES = 64  # a bound that catches a typo, not a tuned figure
TASK_BYTES = 8 << 20  # about 30,000 captured requests: a task's rows are a few MB of floats
T = TypeVar("T")
R = TypeVar("R")
Lines = tuple[str, Iterable[bytes]]  # (name for the reasons, the file's lines)
Read = Callable[..., Iterator[Chunk]]  # read(files, summary=...): a reader of monitor.reader


@dataclass(frozen=True)
class LocalFile:
    path: Path
    size: int

    @contextlib.contextmanager
    def lines(self) -> Iterator[Lines]:
        with self.path.open("rb") as handle:
            yield self.path.name, handle


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int
    region: str | None

    @contextlib.contextmanager
    def lines(self) -> Iterator[Lines]:
        from model_container.monitor.s3 import object_lines  # noqa: PLC0415

        body = object_lines(_s3_client(self.region), self.bucket, self.key)
        try:
            yield self.key.rsplit("/", 1)[-1], body
        finally:
            body.close()


FileRef = LocalFile | S3Object


@functools.cache
def _s3_client(region: str | None) -> object:
    """One client per process: a worker makes its own."""
    from model_container import registry  # noqa: PLC0415

    return registry.client("s3", region)


def add_processes_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--read-processes",
        type=_processes,
        default=default_processes(),
        help="processes reading the files (default: one per core this job may use)",
    )


def _processes(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_PROCESSES:
        raise StepError(f"read processes {text!r} must be a whole number from 1 to {MAX_PROCESSES}")
    return int(text)


def default_processes() -> int:
    """The cores this process may use (a processing instance's vCPUs)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def tasks(files: Sequence[FileRef], task_bytes: int) -> list[list[FileRef]]:
    """Consecutive files grouped into tasks, each closed once it holds ``task_bytes`` or more."""
    grouped: list[list[FileRef]] = []
    size = task_bytes
    for ref in files:
        if size >= task_bytes:
            grouped.append([])
            size = 0
        grouped[-1].append(ref)
        size += ref.size
    return grouped


def start_pool(processes: int, job: str = "monitor") -> ProcessPoolExecutor | None:
    """Worker processes forked from this one (they start in milliseconds with its imports and
    data; a spawned one would import numpy and the reader again), or None, said in one line, when
    the system gives no shared memory for the pool's locks (/dev/shm)."""
    try:
        return ProcessPoolExecutor(
            max_workers=processes, mp_context=multiprocessing.get_context("fork")
        )
    except OSError as error:
        print(f"{job}: reading in one process ({error})", file=sys.stderr)
        return None


def in_order(
    pool: ProcessPoolExecutor, function: Callable[[T], R], work: Iterable[T], processes: int
) -> Iterator[R]:
    """``function(task)`` of each task, run in ``pool``, yielded in the tasks' order; at most
    ``2 x processes`` tasks are in flight (their results wait here until their turn)."""
    queue = iter(work)
    with pool:
        pending: deque[Future[R]] = deque(
            pool.submit(function, task) for task in itertools.islice(queue, 2 * processes)
        )
        while pending:
            result = pending.popleft().result()
            pending.extend(pool.submit(function, task) for task in itertools.islice(queue, 1))
            yield result


def read_files(
    files: Sequence[FileRef], read: Read, summary: ReadSummary, processes: int
) -> Iterator[Chunk]:
    """The chunks of ``read`` over ``files`` (counts into ``summary``), in ``processes`` processes."""
    work = tasks(files, TASK_BYTES)
    processes = min(processes, len(work))
    pool = start_pool(processes) if processes > 1 else None
    if pool is None:
        yield from read(opened(files), summary=summary)
        return
    summary.processes = processes
    for chunks, counts in in_order(pool, functools.partial(_read_task, read=read), work, processes):
        summary.merge(counts)
        yield from chunks


def opened(files: Iterable[FileRef]) -> Iterator[Lines]:
    """(name, lines) of each file, opened one at a time as the reader takes them."""
    for ref in files:
        with ref.lines() as lines:
            yield lines


def _read_task(task: list[FileRef], read: Read) -> tuple[list[Chunk], ReadSummary]:
    summary = ReadSummary()
    return list(read(opened(task), summary=summary)), summary
