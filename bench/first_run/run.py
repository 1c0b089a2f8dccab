"""A newcomer's first minutes: a fresh bake's first `make local` (it creates .venv with the local
loop's packages, then runs the pipeline), side by side with the peer, the same bake's `make venv`
(every package: what the first `make local` installed before the local targets got their own set).

    .venv/bin/python bench/first_run/run.py

Installs come from the wheel cache `./dev test` fills, with pip's index switched off (a warm
package cache); the goals: a first `make local` within 60 s, a local-loop .venv within 800 MB.
Prints a markdown table."""

from __future__ import annotations

import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.baking import WHEELS, bake, make, pristine_copy  # noqa: E402

GOAL_S = 60
GOAL_MB = 800


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def timed(project: Path, target: str) -> float:
    started = time.perf_counter()
    done = make(project, target)
    if done.returncode != 0:
        sys.exit(f"make {target} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    if not (WHEELS / ".complete").is_file():
        sys.exit(f"no wheel cache at {WHEELS}: run ./dev test first")
    with tempfile.TemporaryDirectory() as scratch:
        template = pristine_copy(Path(scratch) / "template")
        ours = bake(template, Path(scratch) / "ours", {})
        peer = bake(template, Path(scratch) / "peer", {})
        local = timed(ours, "local")
        local_mb = size_mb(ours / ".venv")
        full = timed(peer, "venv") + timed(peer, "local")
        full_mb = size_mb(peer / ".venv")
    print("| first run of a fresh bake | seconds | .venv MB |")
    print("|---|---|---|")
    print(f"| `make local` (local loop's packages) | {local:.0f} | {local_mb:.0f} |")
    print(f"| peer: `make venv` + `make local` (every package) | {full:.0f} | {full_mb:.0f} |")
    print(f"\nratio: {local / full:.2f} of the time, {local_mb / full_mb:.2f} of the size")
    print(
        f"\n{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {platform.machine()}, "
        f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}"
    )
    if local > GOAL_S:
        print(f"\nFAIL: first make local took {local:.0f} s, above the {GOAL_S} s goal")
    if local_mb > GOAL_MB:
        print(
            f"\nFAIL: the local loop's .venv holds {local_mb:.0f} MB, above the {GOAL_MB} MB goal"
        )


if __name__ == "__main__":
    main()
