"""Endpoint contract suite: point ENDPOINT_URL at a running model server (container or local `serve`),
or ENDPOINT_NAME at a deployed SageMaker endpoint (through the SageMaker runtime API).

ENDPOINT_URL=http://127.0.0.1:8080 pytest tests/endpoint
ENDPOINT_NAME=<project>-staging pytest tests/endpoint   (what the endpoint-test build runs)
ENDPOINT_MODEL_DIR=<folder with model-metadata.json>  also check exact scores against xgboost
ENDPOINT_MAX_P50_MS / ENDPOINT_MAX_P99_MS              latency bounds at small load (20 / 250)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from transport import HttpTransport, SageMakerTransport

DEFAULT_FEATURES = ("Age", "Shape", "Margin", "Density")


@pytest.fixture(scope="session")
def endpoint() -> Iterator[HttpTransport | SageMakerTransport]:
    name = os.environ.get("ENDPOINT_NAME", "").strip()
    url = os.environ.get("ENDPOINT_URL", "").strip()
    if name and url:
        raise pytest.UsageError(f"set ENDPOINT_NAME={name!r} or ENDPOINT_URL={url!r}, not both")
    if not (name or url):
        pytest.skip(
            "neither ENDPOINT_NAME (a deployed endpoint) nor ENDPOINT_URL (a running model server, "
            "http://host:port) is set"
        )
    transport = SageMakerTransport(name) if name else HttpTransport(url)
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
