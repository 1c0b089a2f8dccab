"""The model folder contract (model-metadata.json + xgboost JSON) and reading SageMaker's model.tar.gz."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from model_container import model_files
from model_container.data import Dataset
from model_container.steps import StepError
from model_container.training import FitResult, predict


def test_round_trip_through_an_archive(
    tmp_path: Path, trained: FitResult, splits: dict[str, Dataset]
) -> None:
    folder = tmp_path / "model"
    names = splits["train"].feature_names
    model_files.save(
        folder,
        trained.booster,
        features=names,
        threshold=0.4,
        best_iteration=trained.best_iteration,
    )
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:  # SageMaker's archives list members as ./<name>
        tar.add(folder, arcname=".")
    model = model_files.load_archive(archive)
    assert model.features == names and model.threshold == 0.4
    test = splits["test"]
    np.testing.assert_array_equal(
        predict(model.booster, test.features, names), predict(trained.booster, test.features, names)
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format_version": 2}, "format_version 2, expected 1"),
        ({"features": []}, "'features' must be a non-empty list of names, got []"),
        ({"features": ["Age", "Shape"]}, "takes 4 features"),
        ({"threshold": "0.5"}, "'threshold' must be a number in (0, 1), got '0.5'"),
        ({"model_file": "missing.json"}, "cannot load the model"),
    ],
)
def test_bad_metadata_is_named(
    tmp_path: Path,
    trained: FitResult,
    splits: dict[str, Dataset],
    change: dict[str, object],
    message: str,
) -> None:
    model_files.save(
        tmp_path,
        trained.booster,
        features=splits["train"].feature_names,
        threshold=0.5,
        best_iteration=1,
    )
    meta = tmp_path / model_files.METADATA_FILE
    meta.write_text(json.dumps({**json.loads(meta.read_text()), **change}))
    with pytest.raises(StepError) as error:
        model_files.load(tmp_path)
    assert message in str(error.value)
