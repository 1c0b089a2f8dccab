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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Network guard (pytest-socket): tests here may connect to the loopback address only."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.allow_hosts(["127.0.0.1"]))


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
def opt_ml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty /opt/ml tree (the failure file goes to output/message) resolved through OPT_ML."""
    root = tmp_path / "opt_ml"
    root.mkdir()
    monkeypatch.setenv("OPT_ML", str(root))
    return root


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and region (eu-west-1) and moto's in-process AWS: no sockets."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),  # botocore asks the instance metadata for a region
        ("AWS_DEFAULT_REGION", "eu-west-1"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield
