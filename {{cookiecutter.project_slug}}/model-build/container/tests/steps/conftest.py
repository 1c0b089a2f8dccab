"""Fixtures for the step-code tests: a relocated /opt/ml, the raw data, a model trained on it."""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from step_helpers import save_model

from model_container.data import Dataset, read_raw
from model_container.split import stratified_split
from project_model import SCHEMA, Fitted, Hyperparameters, fit

HERE = Path(__file__).resolve().parent
RAW = HERE.parents[2] / "data" / "raw"  # model-build/data/raw: the project's training data


@pytest.fixture(scope="session")
def raw_data() -> Path:
    """The raw data folder (any files: the model's SCHEMA says how to read them)."""
    assert RAW.is_dir(), f"training data missing at {RAW}"
    return RAW


@pytest.fixture
def write_raw(opt_ml: Path) -> Callable[..., Path]:
    """Write text as a raw input file of the preprocess step."""

    def write(text: str, name: str = "data.csv") -> Path:
        path = opt_ml / "processing" / "input" / "raw" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def splits(raw_data: Path) -> dict[str, Dataset]:
    """The raw data read as the schema declares it and split (70/15/15)."""
    data = read_raw(raw_data, SCHEMA).data
    rows = stratified_split(data.labels, seed=42, train_fraction=0.7, validation_fraction=0.15)
    return {
        name: Dataset(data.features[r], data.labels[r], data.feature_names)
        for name, r in rows.items()
    }


@pytest.fixture(scope="session")
def trained(splits: dict[str, Dataset]) -> Fitted:
    return fit(splits["train"], splits["validation"], Hyperparameters())


@pytest.fixture(scope="session")
def model_archive(
    trained: Fitted, splits: dict[str, Dataset], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """model.tar.gz as SageMaker packs the train step's model/ folder."""
    folder = tmp_path_factory.mktemp("model")
    save_model(folder, trained, splits["train"].feature_names)
    archive = folder.parent / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name)
    return archive
