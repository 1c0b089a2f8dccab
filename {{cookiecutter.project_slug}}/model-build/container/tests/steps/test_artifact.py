"""The model artifact (model-metadata.json + the estimator's file) and reading SageMaker's model.tar.gz."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from step_helpers import save_model

import project_model
from model_container import artifact
from model_container.data import Dataset
from model_container.entrypoint import StepError
from project_model import SCHEMA, Fitted


def test_round_trip_through_an_archive(
    tmp_path: Path, trained: Fitted, splits: dict[str, Dataset]
) -> None:
    folder = tmp_path / "model"
    names = splits["train"].feature_names
    save_model(folder, trained, names, threshold=0.4)
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:  # SageMaker's archives list members as ./<name>
        tar.add(folder, arcname=".")
    model = artifact.load_archive(archive)
    assert model.features == names and model.spec.threshold == 0.4
    assert model.spec.categories == {
        name: values for name, values in SCHEMA.categories().items() if name in names
    }
    meta = model.spec.metadata
    assert set(meta) == {
        "format_version",
        "features",
        "categories",
        "label",
        "threshold",
        "model_file",
        "info",
    }
    assert meta["format_version"] == artifact.FORMAT_VERSION and meta["label"] == SCHEMA.label
    assert meta["info"] == json.loads(json.dumps(trained.info))
    test = splits["test"]
    np.testing.assert_array_equal(
        model.predict(test.features), project_model.predict(trained.estimator, test.features)
    )


def test_model_error_is_a_step_error() -> None:
    assert issubclass(artifact.ModelError, StepError)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format_version": 1}, f"format_version must be {artifact.FORMAT_VERSION}, got 1"),
        ({"features": []}, "'features' must be a non-empty list of names, got []"),
        (  # a row wider than the estimator's
            {"features": [*SCHEMA.feature_names, "extra"]},
            f"cannot score a row of the {len(SCHEMA.feature_names) + 1} features",
        ),
        ({"categories": {"nope": ["x"]}}, "'categories' must map features to non-empty lists"),
        ({"threshold": "0.5"}, "'threshold' must be a number in (0, 1), got '0.5'"),
        ({"model_file": "missing.json"}, "missing.json not found"),
    ],
)
def test_bad_metadata_is_named(
    tmp_path: Path,
    trained: Fitted,
    splits: dict[str, Dataset],
    change: dict[str, object],
    message: str,
) -> None:
    save_model(tmp_path, trained, splits["train"].feature_names)
    meta = tmp_path / artifact.METADATA_FILE
    meta.write_text(json.dumps({**json.loads(meta.read_text()), **change}))
    with pytest.raises(artifact.ModelError) as error:
        artifact.load(tmp_path)
    assert message in str(error.value)
