"""The small-batch fast path (serve/trees.py) must score exactly like xgboost's `inplace_predict`."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from serve_fixtures import make_rows

from model_container.serve import trees
from model_container.serve.model import SMALL_BATCH_ROWS, Model, load_model


def xgboost_scores(model_dir: Path, rows: np.ndarray, stop: int = 0) -> np.ndarray:
    """What xgboost itself says, from a booster loaded afresh (not the server's)."""
    booster = xgb.Booster(model_file=str(model_dir / "xgboost-model.json"))
    return booster.inplace_predict(rows, iteration_range=(0, stop))


def one_by_one(model: Model, rows: np.ndarray) -> np.ndarray:
    return np.concatenate([model.predict(rows[i : i + 1]) for i in range(len(rows))])


def test_the_fast_path_is_on_for_the_training_steps_model(model: Model) -> None:
    assert model.small_batch is not None


def test_one_row_requests_equal_xgboost_within_1e6(model: Model, model_dir: Path) -> None:
    rows = make_rows(2000, seed=11)  # about 5 % missing values
    rows[:50] = np.nan  # all missing: every default branch
    scores = one_by_one(model, rows)
    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, xgboost_scores(model_dir, rows), rtol=0, atol=1e-6)


def test_every_batch_size_equals_xgboost_within_1e6(model: Model, model_dir: Path) -> None:
    rows = make_rows(64, seed=12)
    expected = xgboost_scores(model_dir, rows)
    for n in range(1, 2 * SMALL_BATCH_ROWS + 2):
        np.testing.assert_allclose(model.predict(rows[:n]), expected[:n], rtol=0, atol=1e-6)


def test_the_fast_path_of_a_sliced_model_uses_only_its_trees(
    model_dir: Path, tmp_path: Path
) -> None:
    # The train step saves the booster sliced at the best iteration, as here.
    copy = Path(shutil.copytree(model_dir, tmp_path / "model"))
    rows = make_rows(300, seed=13)
    full = xgboost_scores(copy, rows)
    booster = xgb.Booster(model_file=str(copy / "xgboost-model.json"))
    booster[:10].save_model(str(copy / "xgboost-model.json"))
    sliced = load_model(copy)
    assert sliced.small_batch is not None
    expected = xgboost_scores(copy, rows)
    np.testing.assert_allclose(expected, xgboost_scores(model_dir, rows, stop=10), atol=1e-6)
    assert not np.allclose(full, expected)
    np.testing.assert_allclose(one_by_one(sliced, rows), expected, rtol=0, atol=1e-6)


def test_large_batches_go_to_xgboost(model: Model, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tree arrays used for a large batch")

    monkeypatch.setattr(trees.TreeArrays, "predict", refuse)
    assert model.predict(make_rows(SMALL_BATCH_ROWS + 1, seed=14)).shape == (SMALL_BATCH_ROWS + 1,)


def test_the_fast_path_is_off_when_it_disagrees_with_xgboost(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = trees.TreeArrays.predict

    def off_by_a_little(self: trees.TreeArrays, rows: np.ndarray) -> np.ndarray:
        return real(self, rows) + np.float32(1e-5)

    monkeypatch.setattr(trees.TreeArrays, "predict", off_by_a_little)
    model = load_model(model_dir)
    assert model.small_batch is None
    rows = make_rows(3, seed=15)
    np.testing.assert_array_equal(model.predict(rows), xgboost_scores(model_dir, rows))


def test_the_fast_path_is_off_when_it_gives_nan(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        trees.TreeArrays, "predict", lambda self, rows: np.full(len(rows), np.nan, np.float32)
    )
    assert load_model(model_dir).small_batch is None


def _continuous_rows(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((n, 4)).astype(np.float32)
    rows[rng.random(rows.shape) < 0.05] = np.nan
    return rows


def _trained(params: dict, rounds: int = 5) -> xgb.Booster:
    rows = _continuous_rows(2000, seed=16)
    # A noisy interaction of continuous features: trees of the full depth, with uneven branches.
    x = np.nan_to_num(rows)
    noise = np.random.default_rng(16).standard_normal(len(rows))
    labels = (x[:, 0] * x[:, 1] - x[:, 2] + noise > 0).astype(np.float32)
    return xgb.train({"max_depth": 3, **params}, xgb.DMatrix(rows, label=labels), rounds)


@pytest.mark.parametrize(
    "params",
    [
        {"objective": "reg:squarederror"},  # not a probability
        {"objective": "binary:logistic", "booster": "dart"},
        {"objective": "binary:logistic", "num_parallel_tree": 2},
    ],
    ids=["regression", "dart", "forest"],
)
def test_models_the_training_step_does_not_make_are_left_to_xgboost(params: dict) -> None:
    with pytest.raises(trees.UnsupportedModelError):
        trees.from_booster(_trained(params))


def test_deeper_and_uneven_trees_equal_xgboost() -> None:
    booster = _trained({"objective": "binary:logistic", "max_depth": 7, "eta": 0.3}, rounds=30)
    arrays = trees.from_booster(booster)
    assert arrays.depth > 3
    rows = _continuous_rows(500, seed=17)
    np.testing.assert_allclose(
        arrays.predict(rows), booster.inplace_predict(rows), rtol=0, atol=1e-6
    )
