"""The preprocess step: outputs, determinism, stratification, and its one-line errors."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from step_helpers import assert_one_line_error, raw_line, split_sizes

from model_container import preprocess
from model_container.data import read_channel, read_raw, read_with_header
from model_container.entrypoint import StepError
from model_container.split import SPLITS, stratified_split
from project_model import SCHEMA


def run_on_raw(opt_ml: Path, raw_data: Path, *args: str) -> Path:
    shutil.copytree(raw_data, opt_ml / "processing" / "input" / "raw", dirs_exist_ok=True)
    assert preprocess.main(list(args)) == 0
    return opt_ml / "processing" / "output"


def test_writes_label_first_splits_and_a_header_baseline(opt_ml: Path, raw_data: Path) -> None:
    labels = read_raw(raw_data, SCHEMA).data.labels
    out = run_on_raw(opt_ml, raw_data)
    data = {name: read_channel(out / name, name=name) for name in SPLITS}
    sizes = {name: len(d) for name, d in data.items()}
    assert sum(sizes.values()) == len(labels)
    assert sizes == split_sizes(labels, 0.6, 0.2)  # 60/20/20 per class, rounded half up
    # Stratified: each split within one row of the overall share of positives.
    for d in data.values():
        assert abs(d.labels.sum() - len(d) * labels.mean()) <= 1.0
        assert d.feature_names == SCHEMA.feature_names
    header, first = (out / "train" / "train.csv").read_text().splitlines()[:2]
    assert header.split(",") == [SCHEMA.label, *SCHEMA.feature_names]  # a header, label first
    assert first.split(",")[0] in ("0", "1")
    header, baseline = read_with_header(out / "baseline" / "baseline.csv")
    assert header == SCHEMA.feature_names
    # The baseline is the training rows.
    np.testing.assert_array_equal(baseline, data["train"].features)
    assert not (opt_ml / "output" / "message").exists()


def test_same_seed_same_bytes_other_seed_other_split(
    opt_ml: Path, raw_data: Path, tmp_path: Path
) -> None:
    out = run_on_raw(opt_ml, raw_data, "--seed", "7")
    first = {name: (out / name / f"{name}.csv").read_bytes() for name in SPLITS}
    shutil.rmtree(out)
    run_on_raw(opt_ml, raw_data, "--seed", "7")
    assert {name: (out / name / f"{name}.csv").read_bytes() for name in SPLITS} == first
    shutil.rmtree(out)
    run_on_raw(opt_ml, raw_data, "--seed", "8")
    assert (out / "test" / "test.csv").read_bytes() != first["test"]


def test_custom_fractions_and_unused_columns(opt_ml: Path, raw_data: Path) -> None:
    labels = read_raw(raw_data, SCHEMA).data.labels
    out = run_on_raw(opt_ml, raw_data, "--train-fraction", "0.5", "--validation-fraction", "0.25")
    train = read_channel(out / "train", name="train")
    assert len(train) == split_sizes(labels, 0.5, 0.25)["train"]  # x.5 rounds half up
    assert not set(train.feature_names) & SCHEMA.unused  # read and checked, never a feature


@settings(max_examples=60, deadline=None)
@given(
    counts=st.tuples(st.integers(3, 80), st.integers(3, 80)),
    seed=st.integers(0, 2**32 - 1),
    fractions=st.tuples(st.floats(0.3, 0.8), st.floats(0.1, 0.3)).filter(
        lambda f: f[0] + f[1] < 0.95
    ),
)
def test_split_is_a_stratified_partition(
    counts: tuple[int, int], seed: int, fractions: tuple[float, float]
) -> None:
    labels = np.array([0.0] * counts[0] + [1.0] * counts[1])
    np.random.default_rng(seed).shuffle(labels)
    try:
        parts = stratified_split(
            labels, seed=seed, train_fraction=fractions[0], validation_fraction=fractions[1]
        )
    except StepError as error:  # only when a class is too small for one row in every split
        assert "too few rows of class" in str(error)
        return
    joined = np.concatenate([parts[name] for name in SPLITS])
    assert sorted(joined.tolist()) == list(range(len(labels)))  # disjoint and complete
    for name in SPLITS:
        assert set(labels[parts[name]]) == {0.0, 1.0}
    again = stratified_split(
        labels, seed=seed, train_fraction=fractions[0], validation_fraction=fractions[1]
    )
    for name in SPLITS:
        np.testing.assert_array_equal(parts[name], again[name])


NAMES = SCHEMA.names
POSITIVE = raw_line()
NEGATIVE = raw_line(**{SCHEMA.label: SCHEMA.negative, SCHEMA.feature_names[-1]: "?"})
GOOD = POSITIVE + NEGATIVE


@pytest.mark.parametrize(
    ("files", "args", "fragments"),
    [
        ({}, [], ["no input files in", ", ".join(NAMES)]),
        (
            {"d.csv": GOOD + ",".join(["1"] * (len(NAMES) - 2)) + "\n"},
            [],
            [f"d.csv:3: {len(NAMES) - 2} fields, expected {len(NAMES)}"],
        ),
        (
            {"d.csv": GOOD + POSITIVE.rstrip("\n") + ",9\n"},
            [],
            [f"d.csv:3: {len(NAMES) + 1} fields, expected {len(NAMES)}"],
        ),
        (
            {"d.csv": GOOD + raw_line(**{SCHEMA.feature_names[0]: "n/a"})},
            [],
            [f"d.csv:3: {SCHEMA.feature_names[0]}: 'n/a' is not a "],
        ),
        (
            {"d.csv": GOOD + raw_line(**{SCHEMA.label: "maybe"})},
            [],
            [f"{SCHEMA.label} is 'maybe'; expected {SCHEMA.negative!r} or {SCHEMA.positive!r}"],
        ),
        ({"d.csv": GOOD * 2}, [], ["too few rows of class 0 (2)"]),
        ({"d.csv": POSITIVE * 40}, [], ["the label has one class only (1)"]),
        (
            {"d.csv": POSITIVE * 3 + NEGATIVE * 40},
            [],
            ["too few rows of class 1 (3)", "the test split"],
        ),
        (
            {"d.csv": GOOD},
            ["--train-fraction", "0.9", "--validation-fraction", "0.1"],
            ["leaves nothing for the test split"],
        ),
        (
            {"d.csv": GOOD},
            ["--train-fraction", "1.5"],
            ["train fraction 1.5 is not between 0 and 1"],
        ),
        (
            {"d.csv": GOOD},
            ["--seed", "abc"],
            ["preprocess: argument --seed: invalid int value: 'abc'"],
        ),
        ({"d.csv": GOOD}, ["--bogus"], ["preprocess: unrecognized arguments: --bogus"]),
    ],
)
def test_bad_input_fails_with_one_clear_line(
    opt_ml: Path,
    write_raw: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    *,
    files: dict[str, str],
    args: list[str],
    fragments: list[str],
) -> None:
    (opt_ml / "processing" / "input" / "raw").mkdir(parents=True)
    for name, text in files.items():
        write_raw(text, name)
    assert preprocess.main(args) == 1
    assert_one_line_error(capsys, opt_ml, *fragments)
    assert not (opt_ml / "processing" / "output" / "train").exists()
