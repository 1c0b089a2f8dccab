"""Processing step: read the raw data as the model's schema declares it, split it, write a baseline.

``python3 -m model_container.preprocess [--seed N] [--train-fraction F] [--validation-fraction F]``
reads ``processing/input/raw/`` (columns: ``project_model.SCHEMA``) and writes
``processing/output/{train,validation,test}/<split>-<host>.csv`` (header, label first) and
``processing/output/baseline/baseline-<host>.csv`` (the training rows' features) for the drift monitor; its MLflow record (first host) goes to
``processing/output/tracking/`` (model_container.tracking).

It runs on one instance or several (ProcessingInstanceCount): SageMaker then gives each instance a
share of the raw objects (ShardedByS3Key) and uploads every instance's files to the same S3 prefixes,
so each names its files after its host (``algo-1``, ``algo-2``, ... from
``/opt/ml/config/resourceconfig.json``,
https://docs.aws.amazon.com/sagemaker/latest/dg/build-your-own-processing-container.html) and the
steps after it read every file of a prefix. A row's split depends only on its file, line and the
seed (``split.keyed_split``): N instances write the same rows to each split as one does.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from model_container import tracking
from model_container.cluster import read_cluster
from model_container.data import Dataset, data_files, read_raw, write_channel, write_with_header
from model_container.entrypoint import StepArgumentParser, run_step
from model_container.paths import PROCESSING_FAILURE_FILE, opt_ml, processing
from model_container.split import SPLITS, check_classes, check_fractions, keyed_split
from project_model import SCHEMA


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = StepArgumentParser(prog="preprocess", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42, help="seed of the split (default 42)")
    parser.add_argument(
        "--train-fraction", type=float, default=0.60, help="share of rows to train on"
    )
    parser.add_argument(
        "--validation-fraction", type=float, default=0.20, help="share for early stopping"
    )
    return parser.parse_args(argv)


def preprocess(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    check_fractions(args.train_fraction, args.validation_fraction)
    cluster = read_cluster(opt_ml("config", "resourceconfig.json"))
    host = cluster.current_host
    if cluster.size > 1 and not data_files(processing("input", "raw")):
        # Fewer raw objects than instances: this one got none.
        print(f"{host}: no raw objects in this instance's share; nothing to write")
        return
    raw = read_raw(processing("input", "raw"), SCHEMA)
    features, labels, names = raw.data.features, raw.data.labels, raw.data.feature_names
    fractions = {
        "train_fraction": args.train_fraction,
        "validation_fraction": args.validation_fraction,
    }
    splits = keyed_split(raw.keys, seed=args.seed, **fractions)
    if cluster.size == 1:  # the whole data: check it here; with several, the steps after see it
        check_classes(labels, splits, **fractions)
    out = processing("output")
    for name in SPLITS:
        rows = splits[name]
        if len(rows):  # a file of a header alone is not a table the steps after read
            split = Dataset(features[rows], labels[rows], names)
            write_channel(out / name / f"{name}-{host}.csv", split, label=SCHEMA.label)
    # The drift baseline is what the model learned from: the training rows, features only.
    if len(splits["train"]):
        write_with_header(
            out / "baseline" / f"baseline-{host}.csv", names, features[splits["train"]]
        )

    cleaned = ", ".join(f"{column} {count}" for column, count in raw.blanked.items() if count)
    where = f"{host} of {cluster.size}: " if cluster.size > 1 else ""
    print(
        f"{where}read {len(labels)} rows ({int(labels.sum())} positive); "
        f"out-of-range -> missing: {cleaned or 'none'}"
    )
    print(f"features: {', '.join(names)}")
    sizes = ", ".join(
        f"{name} {len(rows)} ({np.mean(labels[rows]) if len(rows) else 0:.1%} positive)"
        for name, rows in splits.items()
    )
    print(f"split (seed {args.seed}): {sizes}")
    if cluster.index == 0:  # one child run per step, from its first host
        with tracking.step_run("Preprocess", processing("output", "tracking")) as run:
            counts = {f"{name}_rows": len(rows) for name, rows in splits.items()}
            run.log(
                params={"seed": args.seed, "instances": cluster.size, **fractions},
                # With several hosts, the first host's share only.
                metrics={"raw_rows": len(labels), **counts},
            )


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(preprocess, argv, PROCESSING_FAILURE_FILE)


if __name__ == "__main__":
    raise SystemExit(main())
