"""Loading the training step's model folder and scoring with it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from serve_fixtures import FEATURES, make_rows

from model_container.serve.model import Model, ModelError, load_model, probe_rows, read_spec


def test_loads_features_threshold_and_predicts_like_xgboost(model: Model, model_dir: Path) -> None:
    assert model.features == FEATURES
    assert model.threshold == 0.5
    rows = make_rows(50, seed=7)
    booster = xgb.Booster(model_file=str(model_dir / "xgboost-model.json"))
    expected = booster.predict(xgb.DMatrix(rows, feature_names=list(FEATURES)))
    np.testing.assert_allclose(model.predict(rows), expected, rtol=1e-6)
    assert ((model.predict(rows) > 0) & (model.predict(rows) < 1)).all()


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
        ({"format_version": 1}, "format_version must be 2, got 1"),
        ({"format_version": None}, "format_version must be 2, got None"),
        ({"features": []}, "'features' must be a non-empty list of names"),
        ({"features": ["a", 1]}, "'features' must be a non-empty list of names"),
        ({"categories": {"Age": []}}, "'categories' must map features to non-empty lists"),
        ({"categories": {"x": ["a"]}}, "'categories' must map features to non-empty lists"),
        ({"categories": {"Age": [1, 2]}}, "'categories' must map features to non-empty lists"),
        ({"threshold": 1.5}, "'threshold' must be a number in (0, 1), got 1.5"),
        ({"threshold": "0.5"}, "'threshold' must be a number in (0, 1), got '0.5'"),
        ({"model_file": "../xgboost-model.json"}, "'model_file' must be a file name"),
        ({"model_file": "missing.json"}, "missing.json not found"),
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
    # The model's load raised ValueError (its own words follow): one line naming the file.
    with pytest.raises(ModelError, match=r"cannot load the model .*xgboost-model\.json: ") as info:
        load_model(copy)
    assert "\n" not in str(info.value)


def test_feature_count_must_match_the_booster(model_dir: Path, tmp_path: Path) -> None:
    copy = broken(model_dir, tmp_path, features=list(FEATURES[:3]))
    with pytest.raises(ModelError, match="cannot score a row of the 3 features") as info:
        load_model(copy)
    assert "\n" not in str(info.value)


def test_categories_of_the_metadata_reach_the_model(model_dir: Path, tmp_path: Path) -> None:
    shapes = ["round", "oval", "lobular", "irregular"]
    model = load_model(broken(model_dir, tmp_path, categories={FEATURES[1]: shapes}))
    assert model.categories == {FEATURES[1]: tuple(shapes)}
    rows = probe_rows(model)
    present = rows[:, 1][~np.isnan(rows[:, 1])]
    assert set(present.tolist()) <= {0.0, 1.0, 2.0, 3.0}  # probes are valid codes only
