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

from model_container.monitor.rows import Chunk, ReadSummary

TASK_BYTES = 8 << 20  # about 30,000 captured requests: a task's rows are a few MB of floats
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


def read_files(
    files: Sequence[FileRef], read: Read, summary: ReadSummary, processes: int
) -> Iterator[Chunk]:
    """The chunks of ``read`` over ``files`` (counts into ``summary``), in ``processes`` processes."""
    work = tasks(files, TASK_BYTES)
    if processes <= 1 or len(work) <= 1:
        yield from read(_opened(files), summary=summary)
        return
    processes = min(processes, len(work))
    # fork: a worker starts in milliseconds with this process's imports (a spawned one would
    # import numpy and the reader again); no thread has been started here at this point.
    context = multiprocessing.get_context("fork")
    try:
        pool = ProcessPoolExecutor(max_workers=processes, mp_context=context)
    except OSError as error:  # no shared memory for the pool's locks (/dev/shm): read here
        print(f"monitor: reading in one process ({error})", file=sys.stderr)
        yield from read(_opened(files), summary=summary)
        return
    summary.processes = processes
    with pool:
        queue = iter(work)
        pending: deque[Future[tuple[list[Chunk], ReadSummary]]] = deque(
            pool.submit(_read_task, task, read) for task in itertools.islice(queue, 2 * processes)
        )
        while pending:
            chunks, counts = pending.popleft().result()
            summary.merge(counts)
            pending.extend(
                pool.submit(_read_task, task, read) for task in itertools.islice(queue, 1)
            )
            yield from chunks


def _opened(files: Iterable[FileRef]) -> Iterator[Lines]:
    for ref in files:
        with ref.lines() as lines:
            yield lines


def _read_task(task: list[FileRef], read: Read) -> tuple[list[Chunk], ReadSummary]:
    summary = ReadSummary()
    return list(read(_opened(task), summary=summary)), summary
