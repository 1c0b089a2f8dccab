"""Fixtures of the model package's tests: the network guard and the bundled data."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "data" / "raw"  # model-build/data/raw: the bundled raw files


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Network guard (pytest-socket): tests here may connect to the loopback address only."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.allow_hosts(["127.0.0.1"]))


@pytest.fixture(scope="session")
def raw_data() -> Path:
    assert DATA.is_dir(), f"bundled data missing at {DATA}"
    return DATA
