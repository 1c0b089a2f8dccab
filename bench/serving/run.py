"""Side-by-side serving benchmark (issue 4): our `serve` vs gunicorn + Flask + gevent (the stack of
SageMaker's first-party XGBoost container) on the same model, same machine, loopback only.

    python bench/serving/run.py [--seconds 10] [--rounds 2] [--out bench/serving/results.md]

Needs `wrk` (Debian package) for the load, and Flask + gevent in the environment for the peer.
Every server runs one worker per CPU with one OpenMP thread per worker. Exits 1 when a floor fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import importlib.util
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONTAINER = REPO / "{{cookiecutter.project_slug}}" / "model-build" / "container"
BENCH_LINE = re.compile(r"BENCH (.*)")


def load_fixtures() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "serve_fixtures", CONTAINER / "tests" / "serve" / "serve_fixtures.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def to_csv(rows: np.ndarray) -> bytes:
    return "\n".join(
        ",".join("" if np.isnan(v) else f"{v:g}" for v in row) for row in rows
    ).encode()


def free_port(below: int = 65536) -> int:
    """A free loopback port; `below` bounds it (MMS rejects ports >= 32767)."""
    for candidate in [0] if below == 65536 else random.sample(range(20000, below), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError(f"no free loopback port below {below}")


@contextmanager
def running(name: str, argv: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=out, stderr=out, cwd=HERE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                sys.exit(f"{name} exited with {proc.returncode}: {log.read_text()[-1500:]}")
            try:
                with urllib.request.urlopen(url + "/ping", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit(f"{name} did not answer /ping in 60 s: {log.read_text()[-1500:]}")
                time.sleep(0.2)
        time.sleep(1.0)  # let every worker finish booting
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def mms_running(
    mms_bin: Path, model_dir: Path, workers: int, port: int, work: Path
) -> Iterator[str]:
    """The MMS peer: archive the handler with the model (no-archive format) and start MMS on loopback."""
    src, store = work / "mms-src", work / "mms-store"
    shutil.copytree(model_dir, src)
    shutil.copy(HERE / "peer_mms_handler.py", src / "peer_mms_handler.py")
    store.mkdir()
    subprocess.run(
        [mms_bin / "model-archiver", "--model-name", "model", "--handler", "peer_mms_handler:handle",
         "--model-path", src, "--export-path", store, "--archive-format", "no-archive", "-f"],
        check=True, capture_output=True,
    )  # fmt: skip
    config = work / "mms.properties"
    config.write_text(
        f"inference_address=http://127.0.0.1:{port}\nmanagement_address=http://127.0.0.1:{free_port(32767)}\n"
        f"default_workers_per_model={workers}\nmodel_store={store}\nload_models=model\n"
        "decode_input_request=false\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PATH": f"{mms_bin}:{os.environ['PATH']}"}
    log = work / "mms.log"
    with log.open("wb") as out:
        subprocess.run(
            [mms_bin / "multi-model-server", "--start", "--mms-config", config, "--model-store", store,
             "--models", "model=model"],
            env=env, stdout=out, stderr=out, check=True, cwd=work, timeout=120,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                request = urllib.request.Request(
                    url + "/invocations", b"1,2,3,4", {"Content-Type": "text/csv"}
                )
                with urllib.request.urlopen(request, timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"MMS did not serve within 120 s: {log.read_text()[-300:]}"
                    ) from None
                time.sleep(0.5)
        yield url
    finally:
        subprocess.run(
            [mms_bin / "multi-model-server", "--stop"], env=env, capture_output=True, check=False
        )


def wrk(url: str, body_file: Path, connections: int, seconds: int) -> dict[str, float]:
    threads = min(connections, 2)
    done = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(HERE / "post.lua"),
         url + "/invocations"],
        env={**os.environ, "BENCH_BODY_FILE": str(body_file)},
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    )  # fmt: skip
    match = BENCH_LINE.search(done.stdout)
    assert match, done.stdout
    fields = {k: float(v) for k, v in (item.split("=") for item in match.group(1).split())}
    fields["rps"] = fields["requests"] / (fields["duration_us"] / 1e6)
    return fields


def big_requests(url: str, model_dir: Path, body: bytes, n: int) -> tuple[float, float]:
    """Median round trip of `body` to the server and median in-process parse + inplace_predict of the
    same body (no HTTP: the floor's reference), interleaved so machine load hits both alike."""
    sys.path.insert(0, str(CONTAINER / "src"))
    from model_container.serve import codec  # noqa: PLC0415
    from model_container.serve.model import load_model  # noqa: PLC0415

    model = load_model(model_dir, nthread=1)
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    trips, raw = [], []
    for i in range(n + 10):
        started = time.perf_counter()
        conn.request("POST", "/invocations", body, {"Content-Type": "text/csv"})
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        middle = time.perf_counter()
        model.predict(codec.parse_csv(body, model.n_features))
        if i >= 10:
            trips.append((middle - started) * 1000)
            raw.append((time.perf_counter() - middle) * 1000)
    conn.close()
    return statistics.median(trips), statistics.median(raw)


def server_side_ms(log: Path, n: int) -> float:
    """Median of the server's own time for the last `n` requests in its access log (granian's `dt_ms`:
    from the request reaching the WSGI app, body read included, to the response handed back; idle
    time between keep-alive requests is not counted)."""
    time.sleep(0.5)  # let the access log lines reach the file
    pattern = r'"POST /invocations [^"]*" 200 ([\d.]+)ms'
    times = [float(m.group(1)) for m in re.finditer(pattern, log.read_text())]
    assert len(times) >= n, (len(times), n)
    return statistics.median(times[-n:])


Results = dict[str, dict[int, list[dict[str, float]]]]


def report(
    results: Results, big: dict[str, float], args: argparse.Namespace, cpus: int, mms_note: str
) -> tuple[str, bool]:
    """The markdown table and whether every floor was met."""

    def mean(name: str, connections: int, key: str) -> float:
        return statistics.fmean(r[key] for r in results[name][connections])

    errors_by = {
        name: sum(r["errors"] + r["non2xx"] for rs in runs.values() for r in rs)
        for name, runs in results.items()
    }
    floors = [
        ("1-row req/s, 1 connection: ours / peer", mean("ours", 1, "rps") / mean("peer", 1, "rps"), ">= 3", 3.0, True),
        ("1-row req/s, 8 connections: ours / peer", mean("ours", 8, "rps") / mean("peer", 8, "rps"), ">= 2", 2.0, True),
        ("1-row p99, 8 connections: ours / peer", mean("ours", 8, "p99_us") / mean("peer", 8, "p99_us"), "<= 0.2", 0.2, False),
        ("1000-row: ours server-side time / raw parse+predict", big["server"] / big["raw"], "<= 1.3", 1.3, False),
    ]  # fmt: skip
    lines = [
        "# Serving benchmark",
        "",
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {cpus} CPUs "
        f"({platform.processor() or platform.machine()}), Python {platform.python_version()}, "
        f"{args.rounds} alternating rounds x {args.seconds:g} s per cell, wrk, loopback, keep-alive. "
        "The machine is shared: absolute numbers are noisy, the ratios are what is checked.",
        "",
        "| server | conns | req/s | p50 ms | p90 ms | p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, label in (
        ("ours", "ours: granian WSGI + tree arrays/xgboost"),
        ("peer", "peer: gunicorn gevent + Flask"),
    ):
        for c in (1, 8):
            lines.append(
                f"| {label} | {c} | {mean(name, c, 'rps'):,.0f} | {mean(name, c, 'p50_us') / 1000:.2f} | "
                f"{mean(name, c, 'p90_us') / 1000:.2f} | {mean(name, c, 'p99_us') / 1000:.2f} |"
            )
    lines += [
        "",
        f"1000-row CSV request (medians): ours {big['server']:.2f} ms server-side (granian's request time), "
        f"{big['ours']:.2f} ms round trip; peer {big['peer']:.2f} ms round trip; raw parse + inplace_predict "
        f"in process {big['raw']:.2f} ms (interleaved with the round trips). Round trip / raw: "
        f"{big['ours'] / big['raw']:.2f} (includes client and scheduler wake-ups on a loaded 2-CPU machine).",
        "",
        "| floor | ratio | goal | met |",
        "|---|---|---|---|",
    ]
    failed = False
    for label, ratio, goal, bound, higher in floors:
        met = ratio >= bound if higher else ratio <= bound
        failed |= not met
        lines.append(f"| {label} | {ratio:.2f} | {goal} | {'yes' if met else 'NO'} |")
    if results["mms"][1]:
        lines.append(
            f"| 1-row req/s, 1 / 8 connections: ours / MMS | {mean('ours', 1, 'rps') / mean('mms', 1, 'rps'):.2f} / "
            f"{mean('ours', 8, 'rps') / mean('mms', 8, 'rps'):.2f} | (context) | |"
        )
    lines.append(f"\nMMS peer: {mms_note}.")
    shown = ", ".join(f"{name} {count:.0f}" for name, count in errors_by.items())
    lines.append(f"\nSocket errors and non-2xx responses during the runs: {shown}.")
    # Only our server's errors fail the run (a peer's are its own problem, reported above).
    return "\n".join(lines) + "\n", not failed and not errors_by["ours"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per run (default 10)")
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternating rounds per server (default 2)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    parser.add_argument(
        "--mms-bin",
        type=Path,
        default=os.environ.get("MMS_BIN"),
        help="bin/ of a venv with sagemaker-inference + multi-model-server (needs Java); omit to skip",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("error: wrk not found; install it (apt-get install wrk)")
    for module in ("flask", "gevent", "gunicorn"):
        if importlib.util.find_spec(module) is None:
            sys.exit(f"error: {module} is not installed; the peer needs flask, gevent and gunicorn")

    cpus = len(os.sched_getaffinity(0))
    fixtures = load_fixtures()
    work = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    model_dir = fixtures.write_model(work / "model")
    rows = fixtures.make_rows(1000, seed=5)
    one_row, many_rows = to_csv(rows[:1]), to_csv(rows)
    (work / "one.csv").write_bytes(one_row)
    common = {"OMP_NUM_THREADS": "1"}
    ours_port, peer_port = free_port(), free_port()
    ours_argv = [sys.executable, "-m", "model_container.serve"]
    ours_env = {**common, "MODEL_SERVER_MODEL_DIR": str(model_dir), "MODEL_SERVER_HOST": "127.0.0.1",
                "SAGEMAKER_BIND_TO_PORT": str(ours_port), "SAGEMAKER_MODEL_SERVER_WORKERS": str(cpus),
                "PYTHONPATH": str(CONTAINER / "src")}  # fmt: skip
    peer_argv = [sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", str(cpus), "-b",
                 f"127.0.0.1:{peer_port}", "--log-level", "warning", "peer_gevent_app:app"]  # fmt: skip
    peer_env = {**common, "MODEL_DIR": str(model_dir)}

    results: Results = {name: {1: [], 8: []} for name in ("ours", "peer", "mms")}
    big: dict[str, float] = {}
    with (
        running("ours", ours_argv, ours_env, ours_port, work / "ours.log") as ours_url,
        running("peer", peer_argv, peer_env, peer_port, work / "peer.log") as peer_url,
    ):
        for url in (ours_url, peer_url):  # warm-up
            wrk(url, work / "one.csv", 8, 2)
        for _ in range(args.rounds):
            for connections in (1, 8):
                for name, url in (("ours", ours_url), ("peer", peer_url)):
                    results[name][connections].append(
                        wrk(url, work / "one.csv", connections, args.seconds)
                    )
        big["peer"], _ = big_requests(peer_url, model_dir, many_rows, 100)
    # 1000-row requests on a fresh instance with the access log on: the server's own time of each
    # request alternates with an in-process parse + predict of the same body, so load hits both alike.
    logged = {**ours_env, "MODEL_SERVER_ACCESS_LOG": "1"}
    with running("ours", ours_argv, logged, ours_port, work / "ours-logged.log") as ours_url:
        big["ours"], big["raw"] = big_requests(ours_url, model_dir, many_rows, 200)
        big["server"] = server_side_ms(work / "ours-logged.log", 200)
    mms_note = "not run (no --mms-bin / MMS_BIN)"
    if args.mms_bin:
        try:
            with mms_running(args.mms_bin, model_dir, cpus, free_port(32767), work) as mms_url:
                wrk(mms_url, work / "one.csv", 8, 2)
                for _ in range(args.rounds):
                    for connections in (1, 8):
                        results["mms"][connections].append(
                            wrk(mms_url, work / "one.csv", connections, args.seconds)
                        )
            mms_note = "run after the other two, same model, workers and wrk settings"
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            mms_note = f"failed to run: {str(exc).splitlines()[-1]}"

    text, ok = report(results, big, args, cpus, mms_note)
    args.out.write_text(text)
    print(text)
    shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
