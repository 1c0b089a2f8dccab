"""Endpoint contract suite: point ENDPOINT_URL at a running model server (container or local `serve`).

ENDPOINT_URL=http://127.0.0.1:8080 pytest tests/endpoint
ENDPOINT_MODEL_DIR=<folder with model-metadata.json>  also check exact scores against xgboost
ENDPOINT_MAX_P50_MS / ENDPOINT_MAX_P99_MS              latency bounds at small load (20 / 250)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from transport import HttpTransport

DEFAULT_FEATURES = ("Age", "Shape", "Margin", "Density")


@pytest.fixture(scope="session")
def endpoint() -> Iterator[HttpTransport]:
    url = os.environ.get("ENDPOINT_URL", "").strip()
    if not url:
        pytest.skip(
            "ENDPOINT_URL is not set: start a model server and set ENDPOINT_URL=http://host:port"
        )
    transport = HttpTransport(url)
    yield transport
    transport.close()


@pytest.fixture(scope="session")
def model_dir() -> Path | None:
    raw = os.environ.get("ENDPOINT_MODEL_DIR", "").strip()
    return Path(raw) if raw else None


@pytest.fixture(scope="session")
def features(model_dir: Path | None) -> tuple[str, ...]:
    if model_dir is None:
        return DEFAULT_FEATURES
    return tuple(json.loads((model_dir / "model-metadata.json").read_text())["features"])


def latency_bound(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        raise pytest.UsageError(f"{name}={raw!r} is not a number of milliseconds") from None
