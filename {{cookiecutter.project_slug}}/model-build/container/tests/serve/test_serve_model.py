"""Loading the training step's model folder and scoring with it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from serve_fixtures import FEATURES, make_rows

from model_container.serve.model import Model, ModelError, load_model, read_spec


def test_loads_features_threshold_and_predicts_like_xgboost(model: Model, model_dir: Path) -> None:
    assert model.features == FEATURES
    assert model.threshold == 0.5
    rows = make_rows(50, seed=7)
    booster = xgb.Booster(model_file=str(model_dir / "xgboost-model.json"))
    expected = booster.predict(xgb.DMatrix(rows, feature_names=list(FEATURES)))
    np.testing.assert_allclose(model.predict(rows), expected, rtol=1e-6)
    assert ((model.predict(rows) > 0) & (model.predict(rows) < 1)).all()


def test_best_iteration_limits_the_trees_used(model_dir: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(model_dir, tmp_path / "model"))
    meta = json.loads((copy / "model-metadata.json").read_text())
    meta["best_iteration"] = 9
    (copy / "model-metadata.json").write_text(json.dumps(meta))
    rows = make_rows(20, seed=3)
    booster = xgb.Booster(model_file=str(copy / "xgboost-model.json"))
    expected = booster.predict(
        xgb.DMatrix(rows, feature_names=list(FEATURES)), iteration_range=(0, 10)
    )
    assert not np.allclose(
        booster.predict(xgb.DMatrix(rows, feature_names=list(FEATURES))), expected
    )
    np.testing.assert_allclose(load_model(copy).predict(rows), expected, rtol=1e-6)


def broken(model_dir: Path, tmp_path: Path, **changes: object) -> Path:
    copy = Path(shutil.copytree(model_dir, tmp_path / "model"))
    meta = json.loads((copy / "model-metadata.json").read_text())
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    (copy / "model-metadata.json").write_text(json.dumps(meta))
    return copy


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"format_version": 2}, "format_version must be 1, got 2"),
        ({"features": []}, "'features' must be a non-empty list of names"),
        ({"features": ["a", 1]}, "'features' must be a non-empty list of names"),
        ({"threshold": 1.5}, "'threshold' must be a number in [0, 1], got 1.5"),
        ({"threshold": "0.5"}, "'threshold' must be a number in [0, 1], got '0.5'"),
        ({"model_file": "../xgboost-model.json"}, "'model_file' must be a file name"),
        ({"model_file": "missing.json"}, "missing.json not found"),
        ({"best_iteration": -1}, "'best_iteration' must be a non-negative integer"),
    ],
)
def test_bad_metadata_is_one_clear_line(
    model_dir: Path, tmp_path: Path, changes: dict, fragment: str
) -> None:
    with pytest.raises(ModelError) as info:
        read_spec(broken(model_dir, tmp_path, **changes))
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_metadata_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"model-metadata.json not found"):
        load_model(tmp_path)


def test_unparsable_metadata(tmp_path: Path) -> None:
    (tmp_path / "model-metadata.json").write_text("{nope")
    with pytest.raises(ModelError, match="is not readable JSON"):
        load_model(tmp_path)


def test_corrupt_model_file(model_dir: Path, tmp_path: Path) -> None:
    copy = broken(model_dir, tmp_path)
    (copy / "xgboost-model.json").write_text('{"learner": 1}')
    with pytest.raises(ModelError, match="xgboost cannot load it") as info:
        load_model(copy)
    assert "\n" not in str(info.value)


def test_feature_count_must_match_the_booster(model_dir: Path, tmp_path: Path) -> None:
    copy = broken(model_dir, tmp_path, features=["Age", "Shape", "Margin"])
    with pytest.raises(ModelError, match="expects 4 features but metadata lists 3"):
        load_model(copy)


def test_best_iteration_beyond_the_trees(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="best_iteration 100 >= its 100 boosting rounds"):
        load_model(broken(model_dir, tmp_path, best_iteration=100))
