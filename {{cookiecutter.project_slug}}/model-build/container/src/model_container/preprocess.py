"""Processing step: read the raw data as the model's schema declares it, split it, write a baseline.

``python3 -m model_container.preprocess [--seed N] [--train-fraction F] [--validation-fraction F]``
reads ``processing/input/raw/`` (columns: ``project_model.SCHEMA``) and writes
``processing/output/{train,validation,test}/<split>.csv`` (header, label first) and
``processing/output/baseline/baseline.csv`` (the training rows' features) for the drift monitor.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from model_container.data import Dataset, read_raw, write_channel, write_with_header
from model_container.entrypoint import StepArgumentParser, run_step
from model_container.paths import PROCESSING_FAILURE_FILE, processing
from model_container.split import SPLITS, check_fractions, stratified_split
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
    raw = read_raw(processing("input", "raw"), SCHEMA)
    features, labels, names = raw.data.features, raw.data.labels, raw.data.feature_names
    splits = stratified_split(
        labels,
        seed=args.seed,
        train_fraction=args.train_fraction,
        validation_fraction=args.validation_fraction,
    )
    out = processing("output")
    for name in SPLITS:
        rows = splits[name]
        split = Dataset(features[rows], labels[rows], names)
        write_channel(out / name / f"{name}.csv", split, label=SCHEMA.label)
    # The drift baseline is what the model learned from: the training rows, features only.
    write_with_header(out / "baseline" / "baseline.csv", names, features[splits["train"]])

    cleaned = ", ".join(f"{column} {count}" for column, count in raw.blanked.items() if count)
    print(
        f"read {len(labels)} rows ({int(labels.sum())} positive); out-of-range -> missing: {cleaned or 'none'}"
    )
    print(f"features: {', '.join(names)}")
    sizes = ", ".join(
        f"{name} {len(rows)} ({np.mean(labels[rows]):.1%} positive)"
        for name, rows in splits.items()
    )
    print(f"split (seed {args.seed}): {sizes}")


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(preprocess, argv, PROCESSING_FAILURE_FILE)


if __name__ == "__main__":
    raise SystemExit(main())
