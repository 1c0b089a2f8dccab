"""Deterministic train/validation/test splits: by row key (the preprocess step, any number of
instances) and stratified by class (tests and notebooks that hold the whole table)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np

from model_container.entrypoint import StepError

SPLITS = ("train", "validation", "test")


def stratified_split(
    labels: np.ndarray, *, seed: int, train_fraction: float, validation_fraction: float
) -> dict[str, np.ndarray]:
    """Row indices of each split; every split gets at least one row of every class.

    Within each class the rows are shuffled by ``seed`` and cut at the fractions (rounded half up), so the
    class balance is the same in every split and the same seed gives the same split.
    """
    check_fractions(train_fraction, validation_fraction)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        n_train = _round_half_up(len(rows) * train_fraction)
        n_validation = _round_half_up(len(rows) * validation_fraction)
        cuts = {
            "train": rows[:n_train],
            "validation": rows[n_train : n_train + n_validation],
            "test": rows[n_train + n_validation :],
        }
        for name, chosen in cuts.items():
            if len(chosen) == 0:
                raise StepError(
                    f"too few rows of class {label:g} ({len(rows)}) to give the {name} split at least one "
                    f"with train {train_fraction:g} / validation {validation_fraction:g}"
                )
            parts[name].append(chosen)
    if len(parts["train"]) < 2:
        only = f"{np.unique(labels)[0]:g}" if len(labels) else "none"
        raise StepError(
            f"the label has one class only ({only}); need rows of both 0 and 1 to train"
        )
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}


def keyed_split(
    keys: Sequence[str], *, seed: int, train_fraction: float, validation_fraction: float
) -> dict[str, np.ndarray]:
    """Row indices of each split, every row's split decided by its key and the seed alone.

    A keyed hash (BLAKE2b, the seed as key) of the row's key, read as a number in [0, 1), falls in
    the first ``train_fraction``, the next ``validation_fraction`` or the rest. So rows read on
    several instances land where they would on one, and the same seed gives the same split. Sizes
    and class balance match the fractions up to sampling noise (1000 rows at 0.6: 600 +- 15).
    """
    check_fractions(train_fraction, validation_fraction)
    salt = str(seed).encode()
    draws = np.array(
        [
            int.from_bytes(hashlib.blake2b(key.encode(), key=salt, digest_size=8).digest(), "big")
            for key in keys
        ],
        dtype=np.uint64,
    ) / float(2**64)
    bounds = [train_fraction, train_fraction + validation_fraction]
    bins = np.searchsorted(bounds, draws, side="right")
    return {name: np.flatnonzero(bins == index) for index, name in enumerate(SPLITS)}


def check_classes(
    labels: np.ndarray,
    splits: dict[str, np.ndarray],
    train_fraction: float,
    validation_fraction: float,
) -> None:
    """Both classes in the data and in every split (what training and evaluation need)."""
    classes = np.unique(labels)
    if len(classes) < 2:
        only = f"{classes[0]:g}" if len(classes) else "none"
        raise StepError(
            f"the label has one class only ({only}); need rows of both 0 and 1 to train"
        )
    for name, rows in splits.items():
        for label in classes:
            if not np.any(labels[rows] == label):
                raise StepError(
                    f"the {name} split got no rows of class {label:g} "
                    f"({int(np.sum(labels == label))} in all) with train {train_fraction:g} / "
                    f"validation {validation_fraction:g}: too few rows of that class"
                )


def check_fractions(train_fraction: float, validation_fraction: float) -> None:
    """Both fractions in (0, 1) and leaving a test share."""
    for name, value in (
        ("train fraction", train_fraction),
        ("validation fraction", validation_fraction),
    ):
        if not 0 < value < 1:
            raise StepError(f"{name} {value:g} is not between 0 and 1 (exclusive)")
    if train_fraction + validation_fraction >= 1:
        raise StepError(
            f"train fraction {train_fraction:g} + validation fraction {validation_fraction:g} "
            "leaves nothing for the test split; the sum must be below 1"
        )


def _round_half_up(value: float) -> int:
    """School rounding (Python's round() sends 222.5 to 222), so split sizes are easy to predict."""
    return math.floor(value + 0.5)
