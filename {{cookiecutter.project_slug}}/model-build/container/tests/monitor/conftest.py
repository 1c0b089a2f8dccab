"""Fixtures for the monitor tests: the bundled data as a baseline and capture batches."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from moto import mock_aws

from model_container.data_quality import constraints, statistics

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[2] / "data"
OUTLIERS = DATA / "outliers"


@pytest.fixture(scope="session")
def make_outliers() -> ModuleType:
    """The generator of the shipped outliers batch (a script beside the data, not a package)."""
    spec = importlib.util.spec_from_file_location("make_outliers", OUTLIERS / "make_outliers.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def split(make_outliers: ModuleType) -> tuple[np.ndarray, np.ndarray]:
    """The bundled features split 70/30 at random: (baseline rows, normal rows)."""
    features = make_outliers.bundled_features()
    order = np.random.default_rng(7).permutation(len(features))
    cut = int(0.7 * len(features))
    return features[order[:cut]], features[order[cut:]]


def write_baseline(folder: Path, names: list[str], table: np.ndarray) -> Path:
    """statistics.json and constraints.json as the baselines step writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "statistics.json").write_text(json.dumps(statistics(names, table)))
    (folder / "constraints.json").write_text(json.dumps(constraints(names, table)))
    return folder


@pytest.fixture(scope="session")
def baseline_dir(
    tmp_path_factory: pytest.TempPathFactory,
    make_outliers: ModuleType,
    split: tuple[np.ndarray, np.ndarray],
) -> Path:
    return write_baseline(
        tmp_path_factory.mktemp("baseline"), list(make_outliers.FEATURES), split[0]
    )


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
