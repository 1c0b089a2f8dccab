"""Fixtures for the step-code tests: a relocated /opt/ml, the bundled data, a trained model."""

from __future__ import annotations

import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from model_container import model_files
from model_container.data import Dataset, read_raw
from model_container.hyperparameters import Hyperparameters
from model_container.schema import COLUMN_NAMES, LABEL, blank_invalid, feature_names
from model_container.split import stratified_split
from model_container.training import FitResult, fit

HERE = Path(__file__).resolve().parent
BUNDLED = HERE.parents[3] / "model-build" / "data" / "mammographic_masses.data"


@pytest.fixture(scope="session")
def bundled_data() -> Path:
    assert BUNDLED.is_file(), f"bundled data missing at {BUNDLED}"
    return BUNDLED


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
def splits(bundled_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Dataset]:
    """The bundled data cleaned and split as preprocess does with its defaults."""
    folder = tmp_path_factory.mktemp("raw")
    shutil.copy(bundled_data, folder)
    table = read_raw(folder)
    blank_invalid(table)
    names = feature_names()
    features = table[:, [COLUMN_NAMES.index(name) for name in names]]
    labels = table[:, COLUMN_NAMES.index(LABEL)]
    rows = stratified_split(labels, seed=42, train_fraction=0.7, validation_fraction=0.15)
    return {name: Dataset(features[r], labels[r], names) for name, r in rows.items()}


@pytest.fixture(scope="session")
def trained(splits: dict[str, Dataset]) -> FitResult:
    return fit(splits["train"], splits["validation"], Hyperparameters())


@pytest.fixture(scope="session")
def model_archive(
    trained: FitResult, splits: dict[str, Dataset], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """model.tar.gz as SageMaker packs the train step's model/ folder."""
    folder = tmp_path_factory.mktemp("model")
    model_files.save(
        folder,
        trained.booster,
        features=splits["train"].feature_names,
        threshold=0.5,
        best_iteration=trained.best_iteration,
    )
    archive = folder.parent / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name)
    return archive
