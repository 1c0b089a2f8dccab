"""Benchmark: the model-quality job over 1M captured, labelled predictions vs a load-everything peer.

    .venv/bin/python bench/monitor_quality/run.py [--rows 1000000] [--repeat 3]

A child process writes 1,000,000 SageMaker data-capture records (one CSV request and its CSV score
per record, 24 hourly files; every other record carries a caller's inferenceId) and one ground-truth
record per request (Model Monitor's format, keyed by inferenceId or eventId, shuffled over 4
files), the model-quality constraints the Evaluate step writes and the Bias step's post-training
report (so the job also runs its bias drift check, as it does for the shipped model). Then, each in
its own process:

- ``job``: ``python -m model_container.monitor_quality`` with the image's packages
  (``bench/image_venv.py``): the labels in a dict, the capture merged by one worker process per core
  (each reading the facet of its rows), merged records written out, numpy metrics as Evaluate
  computes them, bias drift;
- ``1 proc``: the same with ``--read-processes 1`` (the merge in the job's own process);
- ``peer``: the obvious implementation: pandas reads every capture and ground-truth line into
  DataFrames, merges them on the id, and scikit-learn computes AUC, accuracy, precision, recall, F1
  and the confusion matrix.

Wall time and peak RSS per process (wait4's ru_maxrss: the largest of the job and its workers),
and the ratios job / peer and job / one process.
Goals: 1M rows in <= 10 s and peak RSS <= 500 MB on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from image_venv import image_path, image_python

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "{{cookiecutter.project_slug}}"
HOURS = 24

PEER = r"""
import sys
import numpy as np, pandas as pd
from pathlib import Path
from sklearn import metrics
capture, truth = Path(sys.argv[1]), Path(sys.argv[2])
records = pd.concat([pd.read_json(p, lines=True) for p in sorted(capture.rglob("*.jsonl"))], ignore_index=True)
meta = pd.json_normalize(records["eventMetadata"].tolist())
data = pd.json_normalize(records["captureData"].tolist())
ids = meta["inferenceId"].fillna(meta["eventId"]) if "inferenceId" in meta else meta["eventId"]
predictions = pd.DataFrame({"id": ids, "score": data["endpointOutput.data"].str.strip().astype(float)})
labels = pd.concat([pd.read_json(p, lines=True) for p in sorted(truth.rglob("*.jsonl"))], ignore_index=True)
labels = pd.DataFrame({"id": pd.json_normalize(labels["eventMetadata"].tolist())["eventId"],
                       "label": pd.json_normalize(labels["groundTruthData"].tolist())["data"].astype(float)})
merged = predictions.merge(labels, on="id")
y, s = merged["label"].to_numpy(), merged["score"].to_numpy()
p = s >= 0.5
print("peer rows", len(merged), "auc", round(metrics.roc_auc_score(y, s), 4), "accuracy",
      round(metrics.accuracy_score(y, p), 4), "f1", round(metrics.f1_score(y, p), 4),
      metrics.confusion_matrix(y, p).ravel().tolist(), round(metrics.precision_score(y, p), 4),
      round(metrics.recall_score(y, p), 4))
"""


def generate(folder: Path, rows: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    labels = (rng.random(rows) < 0.46).astype(int)
    scores = 1 / (1 + np.exp(-(np.where(labels == 1, 1.25, -1.25) + rng.normal(0, 1.2, rows))))
    ages = rng.integers(18, 97, rows)
    per_hour = -(-rows // HOURS)
    ids = []
    for hour in range(HOURS):
        path = folder / "capture" / "ep" / "AllTraffic" / "2026" / "01" / "01" / f"{hour:02d}"
        path.mkdir(parents=True, exist_ok=True)
        lines = []
        for i in range(hour * per_hour, min(rows, (hour + 1) * per_hour)):
            second = (i - hour * per_hour) * 3600 // per_hour
            caller = f'"inferenceId":"r-{i}",' if i % 2 else ""
            ids.append(f"r-{i}" if i % 2 else f"e-{i}")
            lines.append(
                '{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT",'
                f'"data":"{ages[i]},{i % 4 + 1},{i % 5 + 1},3","encoding":"CSV"}},'
                '"endpointOutput":{"observedContentType":"text/csv","mode":"OUTPUT",'
                f'"data":"{scores[i]:.6f}\\n","encoding":"CSV"}}}},'
                f'"eventMetadata":{{"eventId":"e-{i}",{caller}'
                f'"inferenceTime":"2026-01-01T{hour:02d}:{second // 60:02d}:{second % 60:02d}.000Z"}},'
                '"eventVersion":"0"}\n'
            )
        (path / "capture.jsonl").write_text("".join(lines), encoding="utf-8")
    order = rng.permutation(rows)
    for part in range(4):
        path = folder / "truth" / "2026" / "01" / "02" / f"{part:02d}"
        path.mkdir(parents=True, exist_ok=True)
        chosen = order[part::4]
        path.joinpath("labels.jsonl").write_text(
            "".join(
                f'{{"groundTruthData":{{"data":"{labels[i]}","encoding":"CSV"}},'
                f'"eventMetadata":{{"eventId":"{ids[i]}"}},"eventVersion":"0"}}\n'
                for i in chosen.tolist()
            ),
            encoding="utf-8",
        )
    from model_container.metrics import metric_report  # noqa: PLC0415
    from model_container.quality_constraints import suggest  # noqa: PLC0415

    report = metric_report(labels[:5000].astype(float), scores[:5000], 0.5)
    (folder / "baseline").mkdir()
    (folder / "baseline" / "constraints.json").write_text(
        json.dumps(suggest(report["binary_classification_metrics"], 0.5))
    )
    bias_baseline(folder / "baseline", ages[:5000], labels[:5000], scores[:5000])


def bias_baseline(folder: Path, ages: np.ndarray, labels: np.ndarray, scores: np.ndarray) -> None:
    """The Bias step's post_training_bias.json for the model folder's facet (Age > 59), so the job
    runs its bias drift check over the merged rows too, as it does for the shipped model."""
    from model_container import bias_metrics as bm  # noqa: PLC0415
    from project_model import BIAS  # noqa: PLC0415

    column = ages.astype(float)
    observed, predicted = bm.outcomes(labels.astype(float), scores, 1.0, 0.5)
    g = bm.groups(bm.in_facet(BIAS.facet, column, None), observed, predicted)
    values = bm.compute(bm.POST_TRAINING, g)
    section = bm.section(
        bm.POST_TRAINING, values, label="Severity", positive_label="1", facet=BIAS.facet,
        facet_column=column,
    )  # fmt: skip
    document = {"version": "1.0", "post_training_bias_metrics": section}
    (folder / "post_training_bias.json").write_text(json.dumps(document))


def run(command: list[str], env: dict[str, str]) -> tuple[float, float, str, int]:
    """(seconds, peak RSS MB, output, exit status) of one process, via wait4."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0)
        return seconds, usage.ru_maxrss / 1024, out.read(), os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="job runs; the best is reported")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:  # the child that writes the data: its memory never counts against the runs
        generate(args.generate, args.rows)
        return
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--generate", str(work), "--rows", str(args.rows)],
            check=True,
        )
        size = sum(p.stat().st_size for p in work.rglob("*.jsonl")) / 1e6
        print(
            f"generated {args.rows:,} records + labels ({size:.0f} MB) in {time.perf_counter() - started:.1f} s"
        )
        env = {**os.environ, "OPT_ML": str(work / "opt_ml")}
        # The job with the image's packages (bench/image_venv.py), the peer with the dev venv's.
        job_env = {**env, "PYTHONPATH": image_path()}
        job = [
            str(image_python()), "-m", "model_container.monitor_quality",
            "--capture-dir", str(work / "capture"), "--ground-truth-dir", str(work / "truth"),
            "--baseline-dir", str(work / "baseline"), "--output-dir", str(work / "out"),
        ]  # fmt: skip
        peer = [sys.executable, "-c", PEER, str(work / "capture"), str(work / "truth")]
        results = {}
        one_process = [*job, "--read-processes", "1"]  # the merge without its workers
        for name, command in [("job", job), ("1 proc", one_process), ("peer", peer)]:
            if name == "peer" and args.no_peer:
                continue
            best = None
            for _ in range(1 if name == "peer" else args.repeat):  # the peer is slow: once
                seconds, rss, text, status = run(command, env if name == "peer" else job_env)
                if status not in (0, 2):
                    raise SystemExit(f"{name} failed ({status}):\n{text}")
                if best is None or seconds < best[0]:
                    best = (seconds, rss, text)
            assert best is not None
            results[name] = best
            print(
                f"{name:5s} {best[0]:6.2f} s  {args.rows / best[0]:>10,.0f} rows/s  peak RSS {best[1]:6.0f} MB"
            )
            for line in best[2].strip().splitlines():
                if line.startswith(("bias drift", "monitor_quality:", "peer")):
                    print("      " + line[:300])
        if "peer" in results:
            j, p = results["job"], results["peer"]
            print(f"ratio job/peer: time {j[0] / p[0]:.2f}, peak RSS {j[1] / p[1]:.2f}")
        j = results["job"]
        print(f"ratio job/one process: time {j[0] / results['1 proc'][0]:.2f}")
        verdict = "meets" if j[0] <= 10 and j[1] <= 500 else "MISSES"
        print(
            f"goal (<= 10 s, <= 500 MB for 1M rows): {verdict}; cpus {os.cpu_count()}, "
            f"load {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
