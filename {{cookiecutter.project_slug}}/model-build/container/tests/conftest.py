"""Fixtures every test folder of the image's code shares: the network guard, /opt/ml, fake AWS."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Network guard (pytest-socket): tests here may connect to the loopback address only."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.allow_hosts(["127.0.0.1"]))


@pytest.fixture
def opt_ml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty SageMaker /opt/ml tree (failures go to output/message) resolved through OPT_ML."""
    root = tmp_path / "opt_ml"
    root.mkdir()
    monkeypatch.setenv("OPT_ML", str(root))
    return root


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """Fake credentials and the region eu-west-1, nothing inherited from the machine; returns the region."""
    region = "eu-west-1"
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),  # botocore asks the instance metadata for a region
        ("AWS_DEFAULT_REGION", region),
    ):
        monkeypatch.setenv(name, value)
    for name in ("AWS_REGION", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    # An endpoint override (an emulator such as `make twin`'s) would take calls past moto's mock.
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    return region
