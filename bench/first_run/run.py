"""A newcomer's first minutes: a fresh bake's first `make local` (it creates .venv with the local
loop's packages through uv, then runs the pipeline), side by side with two peers on the same bake:
the same packages installed by pip (the Makefile's installer before uv), and `make venv` + `make
local` (every package: what the first `make local` installed before the local targets got their own
set).

    .venv/bin/python bench/first_run/run.py

Installs come from the wheel cache `./dev test` fills, with the index switched off (a warm package
cache); uv starts with an empty cache of its own, so its figure includes unpacking every wheel once.
The goals: a first `make local` within 60 s, a local-loop .venv within 800 MB. Prints a markdown
table."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
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


def pip_first_run(project: Path) -> float:
    """What the first `make local` ran before uv: pip's two installs of the same files, the run."""
    pip = [
        f"{project}/.venv/bin/python", "-m", "pip", "install", "--quiet",
        "--disable-pip-version-check", "--no-index", "--find-links", str(WHEELS),
        "-c", "constraints.txt", "-c", "model-build/container/requirements.txt",
    ]  # fmt: skip
    started = time.perf_counter()
    for command in (
        [sys.executable, "-m", "venv", ".venv"],
        [*pip, "--no-deps", "-r", "requirements-sdk.lock", "-e", "./model-build"],
        [*pip, "-r", "requirements-local.txt"],
        [".venv/bin/run-local", "--work-dir", ".local"],
    ):
        subprocess.run(command, cwd=project, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    if not (WHEELS / ".complete").is_file():
        sys.exit(f"no wheel cache at {WHEELS}: run ./dev test first")
    with tempfile.TemporaryDirectory() as scratch:
        template = pristine_copy(Path(scratch) / "template")
        os.environ["UV_CACHE_DIR"] = str(Path(scratch) / "uv-cache")
        ours, by_pip, full_peer = (
            bake(template, Path(scratch) / name, {}) for name in ("ours", "pip", "full")
        )
        local = timed(ours, "local")
        local_mb = size_mb(ours / ".venv")
        pip = pip_first_run(by_pip)
        pip_mb = size_mb(by_pip / ".venv")
        full = timed(full_peer, "venv") + timed(full_peer, "local")
        full_mb = size_mb(full_peer / ".venv")
    print("| first run of a fresh bake | seconds | .venv MB |")
    print("|---|---|---|")
    print(f"| `make local` (local loop's packages, uv) | {local:.0f} | {local_mb:.0f} |")
    print(f"| peer: the same packages through pip, the run | {pip:.0f} | {pip_mb:.0f} |")
    print(f"| peer: `make venv` + `make local` (every package) | {full:.0f} | {full_mb:.0f} |")
    print(f"\nratio to pip: {local / pip:.2f} of the time, {local_mb / pip_mb:.2f} of the size")
    print(
        f"ratio to every package: {local / full:.2f} of the time, {local_mb / full_mb:.2f} of the size"
    )
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
