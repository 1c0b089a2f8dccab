"""Loading the training step's model folder and scoring with it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from serve_fixtures import CATEGORIES, FEATURES, csv_body, make_rows, parse

from model_container import artifact
from model_container.serve.model import Model, ModelError, load_model, probe_rows, read_spec


def test_loads_features_categories_threshold_and_predicts_like_the_estimator(
    model: Model, model_dir: Path
) -> None:
    assert model.features == FEATURES
    assert model.categories == CATEGORIES
    assert model.threshold == 0.5
    rows = parse(csv_body(make_rows(50, seed=7)))  # rows as the server reads a request
    expected = artifact.load(model_dir).predict(rows)  # the estimator, loaded afresh
    scores = model.predict(rows)
    assert scores.dtype == np.float32 and scores.shape == (50,)
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    assert ((scores >= 0) & (scores <= 1)).all()


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
        ({"categories": {FEATURES[0]: []}}, "'categories' must map features to non-empty lists"),
        ({"categories": {"x": ["a"]}}, "'categories' must map features to non-empty lists"),
        (
            {"categories": {FEATURES[0]: [1, 2]}},
            "'categories' must map features to non-empty lists",
        ),
        ({"threshold": 1.5}, "'threshold' must be a number in (0, 1), got 1.5"),
        ({"threshold": "0.5"}, "'threshold' must be a number in (0, 1), got '0.5'"),
        ({"model_file": "../model.file"}, "'model_file' must be a file name"),
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
    model_file = read_spec(copy).path
    model_file.write_text('{"learner": 1}\nnot a model\n')
    # The model's load raised ValueError (its own words follow): one line naming the file.
    with pytest.raises(ModelError, match=rf"cannot load the model .*{model_file.name}: ") as info:
        load_model(copy)
    assert "\n" not in str(info.value)


def test_feature_count_must_match_the_estimator(model_dir: Path, tmp_path: Path) -> None:
    # One feature fewer than the estimator was trained on (one more for a one-feature schema).
    other = list(FEATURES[:-1]) if len(FEATURES) > 1 else [*FEATURES, "extra"]
    kept = {name: list(values) for name, values in CATEGORIES.items() if name in other}
    copy = broken(model_dir, tmp_path, features=other, categories=kept)
    with pytest.raises(
        ModelError, match=f"cannot score a row of the {len(other)} features"
    ) as info:
        load_model(copy)
    assert "\n" not in str(info.value)


def test_categories_of_the_metadata_reach_the_model(model_dir: Path, tmp_path: Path) -> None:
    # A categorical feature of the schema, with fewer categories than it has (codes stay valid for
    # the estimator); without one, the first feature declared categorical in the metadata.
    name = next(iter(CATEGORIES), FEATURES[0])
    values = list(CATEGORIES.get(name, ("a", "b", "c")))[:3]
    model = load_model(broken(model_dir, tmp_path, categories={name: values}))
    assert model.categories == {name: tuple(values)}
    index = FEATURES.index(name)
    rows = probe_rows(model)
    present = rows[:, index][~np.isnan(rows[:, index])]
    assert set(present.tolist()) <= set(map(float, range(len(values))))  # valid codes only
