"""The sample's small-batch scorer (project_model/trees.py) scores xgboost trees exactly like
xgboost's ``inplace_predict``, and leaves the models it cannot walk to xgboost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from project_model import trees


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


def test_the_walker_of_a_sliced_booster_uses_only_its_trees(tmp_path: Path) -> None:
    # The default estimator saves the booster sliced at the best iteration, as here.
    booster = _trained({"objective": "binary:logistic", "eta": 0.3}, rounds=30)
    booster[:10].save_model(tmp_path / "sliced.json")
    sliced = xgb.Booster(model_file=tmp_path / "sliced.json")
    rows = _continuous_rows(300, seed=18)
    expected = sliced.inplace_predict(rows)
    np.testing.assert_allclose(
        expected, booster.inplace_predict(rows, iteration_range=(0, 10)), atol=1e-6
    )
    assert not np.allclose(booster.inplace_predict(rows), expected)
    arrays = trees.from_booster(sliced)
    np.testing.assert_allclose(
        np.concatenate([arrays.predict(rows[i : i + 1]) for i in range(len(rows))]),
        expected,
        rtol=0,
        atol=1e-6,
    )
