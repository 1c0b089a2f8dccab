"""Wall time of the local end-to-end pipeline run (`run-local`, all six steps, bundled data).

Goal (issue 3): <= 10 s on a 2-core machine. Two cases, each run in a fresh process as `make local`
runs it:
- cold: first run in a work folder (imports the SageMaker SDK and builds the definition);
- warm: the definition is reused from the work folder's cache (same key: names, code, SDK versions).
Prints a markdown table with the median and min of --repeat runs, the per-step times of the last warm
run, and the ratio to the goal. The machine is shared: numbers are noisy, so compare medians.

    python bench/pipeline/bench_local_run.py --repeat 3
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS = 10.0
RUN_LOCAL = Path(sys.executable).parent / "run-local"


# The defaults, as `make local` runs them: all six steps (the default model passes the gate).
ARGS: tuple[str, ...] = ()


def run_once(work: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [str(RUN_LOCAL), "--work-dir", str(work), *ARGS],
        capture_output=True,
        text=True,
        check=False,
        cwd=work.parent,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"run-local failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not RUN_LOCAL.exists():
        sys.exit(
            f"{RUN_LOCAL} not found: pip install -e the model-build package into this environment"
        )
    cold, warm = [], []
    last = ""
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(args.repeat):
            work = Path(tmp) / f"cold-{index}" / "work"
            work.parent.mkdir()
            cold.append(run_once(work)[0])
        work = Path(tmp) / "warm" / "work"
        work.parent.mkdir()
        run_once(work)  # fills the definition cache
        for _ in range(args.repeat):
            seconds, last = run_once(work)
            warm.append(seconds)
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {args.repeat} runs each\n"
    )
    print("| case | median s | min s | median / 10 s goal |")
    print("|---|---|---|---|")
    for name, values in (
        ("cold (SDK import + build + 6 steps)", cold),
        ("warm (cached definition + 6 steps)", warm),
    ):
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} | {min(values):.2f} | {median / GOAL_SECONDS:.2f} |")
    steps = re.findall(r"\] (\w+) .*\((\d+\.\d)s\)$", last, flags=re.MULTILINE)
    print("\nper step (last warm run): " + ", ".join(f"{name} {secs}s" for name, secs in steps))


if __name__ == "__main__":
    main()
