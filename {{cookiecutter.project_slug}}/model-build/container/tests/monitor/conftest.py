"""Fixtures for the monitor tests: the project's data as a baseline and capture batches.

The features and their categories are the model's (``SCHEMA``); the data folder's
``outliers/make_outliers.py`` made the shipped batch and declares the features it shifts.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from moto import mock_aws

from model_container.data_quality import constraints, statistics
from model_container.extension_constraints import FILE_NAME, document
from model_container.monitor.requests import values
from project_model import SCHEMA

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[2] / "data"
OUTLIERS = DATA / "outliers"
FEATURES = SCHEMA.feature_names
CATEGORIES = SCHEMA.categories()


@pytest.fixture(scope="session")
def make_outliers() -> ModuleType:
    """The generator of the shipped outliers batch (a script beside the data, not a package)."""
    spec = importlib.util.spec_from_file_location("make_outliers", OUTLIERS / "make_outliers.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def shifted(make_outliers: ModuleType) -> list[str]:
    """The features the shipped batch shifts, in the model's feature order (as the monitor lists)."""
    assert make_outliers.SHIFTED and set(make_outliers.SHIFTED) <= set(FEATURES)
    return [name for name in FEATURES if name in make_outliers.SHIFTED]


@pytest.fixture(scope="session")
def split(make_outliers: ModuleType) -> tuple[np.ndarray, np.ndarray]:
    """The project's features split 70/30 at random: (baseline rows, normal rows)."""
    features = make_outliers.bundled_features()
    order = np.random.default_rng(7).permutation(len(features))
    cut = int(0.7 * len(features))
    return features[order[:cut]], features[order[cut:]]


@pytest.fixture(scope="session")
def as_csv() -> Callable[[np.ndarray], str]:
    """Feature rows as clients send CSV: numbers, category text, an empty field for missing."""

    def text(rows: np.ndarray) -> str:
        return "".join(
            ",".join("" if v is None else v if isinstance(v, str) else f"{v:g}" for v in row) + "\n"
            for row in values(rows, FEATURES, CATEGORIES)
        )

    return text


def write_baseline(folder: Path, names: list[str], table: np.ndarray) -> Path:
    """statistics.json, constraints.json and extension_constraints.json as the baselines step
    writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    categories = {name: CATEGORIES[name] for name in names if name in CATEGORIES}
    (folder / "statistics.json").write_text(json.dumps(statistics(names, table, categories)))
    (folder / "constraints.json").write_text(json.dumps(constraints(names, table, categories)))
    (folder / FILE_NAME).write_text(json.dumps(document(names, SCHEMA.columns)))
    return folder


@pytest.fixture(scope="session")
def baseline_dir(
    tmp_path_factory: pytest.TempPathFactory,
    make_outliers: ModuleType,
    split: tuple[np.ndarray, np.ndarray],
) -> Path:
    assert list(make_outliers.FEATURES) == FEATURES  # the batch's columns are the model's
    return write_baseline(tmp_path_factory.mktemp("baseline"), FEATURES, split[0])


@pytest.fixture(scope="session")
def normal_dir(
    tmp_path_factory: pytest.TempPathFactory,
    make_outliers: ModuleType,
    split: tuple[np.ndarray, np.ndarray],
) -> Path:
    folder = tmp_path_factory.mktemp("normal")
    make_outliers.write_batch(split[1], folder, "normal")
    return folder


@pytest.fixture
def aws(aws_env: str) -> Iterator[None]:
    """Fake credentials and region (eu-west-1) and moto's in-process AWS: no sockets."""
    with mock_aws():
        yield
