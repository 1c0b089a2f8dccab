"""The preprocess step: outputs, determinism, stratification, and its one-line errors."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from step_helpers import assert_one_line_error

from model_container import preprocess
from model_container.data import read_channel, read_with_header
from model_container.split import SPLITS, stratified_split
from model_container.steps import StepError


def run_on_bundled(opt_ml: Path, bundled: Path, *args: str) -> Path:
    raw = opt_ml / "processing" / "input" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    shutil.copy(bundled, raw)
    assert preprocess.main(list(args)) == 0
    return opt_ml / "processing" / "output"


def test_writes_label_first_splits_and_a_header_baseline(opt_ml: Path, bundled_data: Path) -> None:
    out = run_on_bundled(opt_ml, bundled_data)
    data = {name: read_channel(out / name, name=name) for name in SPLITS}
    sizes = {name: len(d) for name, d in data.items()}
    assert sum(sizes.values()) == 961
    assert sizes == {"train": 577, "validation": 192, "test": 192}  # 60/20/20 per class, rounded
    for (
        d
    ) in data.values():  # stratified: each split within one row of the overall 445/961 positives
        assert abs(d.labels.sum() - len(d) * 445 / 961) <= 1.0
        assert d.feature_names == ["Age", "Shape", "Margin", "Density"]
    first = (out / "train" / "train.csv").read_text().splitlines()[0].split(",")
    assert len(first) == 5 and first[0] in ("0", "1")  # label first, no header
    header, baseline = read_with_header(out / "baseline" / "baseline.csv")
    assert header == ["Age", "Shape", "Margin", "Density"]
    # The baseline is the training rows.
    np.testing.assert_array_equal(baseline, data["train"].features)
    assert not (opt_ml / "output" / "message").exists()


def test_same_seed_same_bytes_other_seed_other_split(
    opt_ml: Path, bundled_data: Path, tmp_path: Path
) -> None:
    out = run_on_bundled(opt_ml, bundled_data, "--seed", "7")
    first = {name: (out / name / f"{name}.csv").read_bytes() for name in SPLITS}
    shutil.rmtree(out)
    run_on_bundled(opt_ml, bundled_data, "--seed", "7")
    assert {name: (out / name / f"{name}.csv").read_bytes() for name in SPLITS} == first
    shutil.rmtree(out)
    run_on_bundled(opt_ml, bundled_data, "--seed", "8")
    assert (out / "test" / "test.csv").read_bytes() != first["test"]


def test_keep_bi_rads_and_custom_fractions(opt_ml: Path, bundled_data: Path) -> None:
    out = run_on_bundled(
        opt_ml,
        bundled_data,
        "--keep-bi-rads",
        "--train-fraction",
        "0.5",
        "--validation-fraction",
        "0.25",
    )
    train = read_channel(out / "train", name="train")
    assert train.feature_names[0] == "BI-RADS"
    assert len(train) == 481  # 258 + 223: 222.5 rounds half up
    assert np.nanmax(train.features[:, 0]) <= 5  # out-of-range assessments were blanked


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


GOOD = "5,67,3,5,3,1\n4,43,1,1,?,0\n"


@pytest.mark.parametrize(
    ("files", "args", "fragments"),
    [
        ({}, [], ["no input files in", "BI-RADS, Age"]),
        ({"d.csv": GOOD + "5,67,3,5\n"}, [], ["d.csv:3: 4 fields, expected 6"]),
        ({"d.csv": GOOD + "5,67,3,5,3,1,9\n"}, [], ["d.csv:3: 7 fields, expected 6"]),
        ({"d.csv": GOOD + "5,n/a,3,5,3,1\n"}, [], ["d.csv:3: Age is 'n/a'"]),
        ({"d.csv": GOOD + "5,60,3,5,3,yes\n"}, [], ["Severity is 'yes'; expected 0 or 1"]),
        ({"d.csv": GOOD * 2}, [], ["too few rows of class 0 (2)"]),
        ({"d.csv": "5,67,3,5,3,1\n" * 40}, [], ["the label has one class only (1)"]),
        (
            {"d.csv": "5,67,3,5,3,1\n" * 3 + "5,67,3,5,3,0\n" * 40},
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
