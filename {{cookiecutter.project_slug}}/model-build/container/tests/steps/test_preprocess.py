"""The preprocess step: outputs, determinism, the split by row key (one instance or several),
and its one-line errors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from step_helpers import assert_one_line_error, raw_line

from model_container import preprocess
from model_container.data import read_channel, read_raw, read_with_header
from model_container.split import SPLITS, keyed_split
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
    # 60/20/20 and the class balance up to sampling noise (961 rows: about 2 % either way).
    for (name, d), fraction in zip(data.items(), (0.6, 0.2, 0.2), strict=True):
        assert abs(sizes[name] / len(labels) - fraction) < 0.03, sizes
        assert abs(d.labels.mean() - labels.mean()) < 0.06, (name, d.labels.mean())
        assert d.feature_names == SCHEMA.feature_names
    # Without a resourceconfig.json it is the one host algo-1: its files carry the name.
    assert sorted(p.name for p in out.rglob("*.csv")) == [
        "baseline-algo-1.csv",
        "test-algo-1.csv",
        "train-algo-1.csv",
        "validation-algo-1.csv",
    ]
    header, first = (out / "train" / "train-algo-1.csv").read_text().splitlines()[:2]
    assert header.split(",") == [SCHEMA.label, *SCHEMA.feature_names]  # a header, label first
    assert first.split(",")[0] in ("0", "1")
    header, baseline = read_with_header(out / "baseline" / "baseline-algo-1.csv")
    assert header == SCHEMA.feature_names
    # The baseline is the training rows.
    np.testing.assert_array_equal(baseline, data["train"].features)
    assert not (opt_ml / "output" / "message").exists()


def test_same_seed_same_bytes_other_seed_other_split(opt_ml: Path, raw_data: Path) -> None:
    out = run_on_raw(opt_ml, raw_data, "--seed", "7")
    first = {name: (out / name / f"{name}-algo-1.csv").read_bytes() for name in SPLITS}
    shutil.rmtree(out)
    run_on_raw(opt_ml, raw_data, "--seed", "7")
    assert {name: (out / name / f"{name}-algo-1.csv").read_bytes() for name in SPLITS} == first
    shutil.rmtree(out)
    run_on_raw(opt_ml, raw_data, "--seed", "8")
    assert (out / "test" / "test-algo-1.csv").read_bytes() != first["test"]


def test_custom_fractions_and_unused_columns(opt_ml: Path, raw_data: Path) -> None:
    labels = read_raw(raw_data, SCHEMA).data.labels
    out = run_on_raw(opt_ml, raw_data, "--train-fraction", "0.5", "--validation-fraction", "0.25")
    train = read_channel(out / "train", name="train")
    assert abs(len(train) / len(labels) - 0.5) < 0.03
    assert not set(train.feature_names) & SCHEMA.unused  # read and checked, never a feature


def test_several_hosts_each_write_their_share_under_their_own_names(
    opt_ml: Path, raw_data: Path, tmp_path: Path
) -> None:
    """Two hosts given a share of the raw files each (as ShardedByS3Key does) write, together, the
    rows one host writes to every split; a host whose share is empty writes nothing."""
    lines = next(p for p in raw_data.iterdir() if p.is_file()).read_text().splitlines(True)
    whole = tmp_path / "whole"
    whole.mkdir()
    for index in range(3):  # three objects, dealt to two hosts: a.csv + c.csv, b.csv
        (whole / f"{'abc'[index]}.csv").write_text("".join(lines[index::3]))
    one = {name: read_channel(run_on_raw(opt_ml, whole) / name, name=name) for name in SPLITS}
    shares = {"algo-1": ("a.csv", "c.csv"), "algo-2": ("b.csv",), "algo-3": ()}
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for host, files in shares.items():
        shutil.rmtree(opt_ml)
        (opt_ml / "config").mkdir(parents=True)
        config = {"current_host": host, "hosts": list(shares)}
        (opt_ml / "config" / "resourceconfig.json").write_text(json.dumps(config))
        raw = opt_ml / "processing" / "input" / "raw"
        raw.mkdir(parents=True)
        for name in files:
            shutil.copy(whole / name, raw / name)
        assert preprocess.main([]) == 0
        out = opt_ml / "processing" / "output"
        written = sorted(p.name for p in out.rglob("*.csv"))
        assert all(name.endswith(f"-{host}.csv") for name in written)
        assert bool(written) == bool(files)
        for name in SPLITS:
            if files:
                d = read_channel(out / name, name=name)
                parts[name].append(np.column_stack([d.labels, d.features]))
    for name in SPLITS:
        together = np.vstack(parts[name])
        alone = np.column_stack([one[name].labels, one[name].features])
        # The same rows (as multisets), whatever the order the hosts wrote them in.
        assert sorted(map(tuple, np.nan_to_num(together, nan=-1))) == sorted(
            map(tuple, np.nan_to_num(alone, nan=-1))
        )


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=60, unique=True),
    seed=st.integers(-(2**40), 2**40),
    fractions=st.tuples(st.floats(0.3, 0.8), st.floats(0.1, 0.3)).filter(
        lambda f: f[0] + f[1] < 0.95
    ),
    cut=st.integers(0, 60),
)
def test_keyed_split_is_a_partition_that_does_not_depend_on_the_other_rows(
    keys: list[str], seed: int, fractions: tuple[float, float], cut: int
) -> None:
    options = {"seed": seed, "train_fraction": fractions[0], "validation_fraction": fractions[1]}
    parts = keyed_split(keys, **options)
    joined = np.concatenate([parts[name] for name in SPLITS])
    assert sorted(joined.tolist()) == list(range(len(keys)))  # disjoint and complete
    where = {keys[i]: name for name, rows in parts.items() for i in rows}
    # Any share of the keys, split on its own (one instance's objects), puts each where the whole does.
    for share in (keys[:cut], keys[cut:]):
        for name, rows in keyed_split(share, **options).items():
            assert all(where[share[i]] == name for i in rows)


def test_keyed_split_follows_the_fractions_and_the_seed() -> None:
    keys = [f"part-{i % 7}.csv:{i}" for i in range(20_000)]
    parts = keyed_split(keys, seed=42, train_fraction=0.6, validation_fraction=0.25)
    shares = [len(parts[name]) / len(keys) for name in SPLITS]
    assert np.allclose(shares, [0.6, 0.25, 0.15], atol=0.015), shares
    other = keyed_split(keys, seed=43, train_fraction=0.6, validation_fraction=0.25)
    assert not np.array_equal(parts["test"], other["test"])


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
        ({"d.csv": GOOD * 2}, [], ["split got no rows of class", "(2 in all)"]),
        ({"d.csv": POSITIVE * 40}, [], ["the label has one class only (1)"]),
        (
            {"d.csv": POSITIVE * 2 + NEGATIVE * 40},
            [],
            ["split got no rows of class 1 (2 in all)", "too few rows of that class"],
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
