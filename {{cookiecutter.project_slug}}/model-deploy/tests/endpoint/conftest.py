"""Endpoint contract suite: point ENDPOINT_URL at a running model server (container or local `serve`),
or ENDPOINT_NAME at a deployed SageMaker endpoint (through the SageMaker runtime API).

ENDPOINT_URL=http://127.0.0.1:8080 pytest tests/endpoint
ENDPOINT_NAME=<project>-staging pytest tests/endpoint   (what the endpoint-test build runs)
ENDPOINT_API_URL=<the stack's ApiUrl> pytest tests/endpoint   through the stage's API front door
                                                       (SigV4-signed with the caller's credentials)
ENDPOINT_EXAMPLES=<CSV file>                           requests to send: a header naming the features,
                                                       then rows as clients send them (default:
                                                       build/examples.csv, the deployed package's,
                                                       written by build-deploy-config). A last
                                                       column `expected_score` (the package's copy
                                                       has it: the Evaluate step's scores) is not
                                                       sent: the endpoint must answer those scores
ENDPOINT_MAX_P50_MS / ENDPOINT_MAX_P99_MS              latency bounds at small load (20 / 250)
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from transport import ApiTransport, HttpTransport, SageMakerTransport

# The deployed package's examples (model_deploy.build writes them): this folder reads nothing of the
# model-build side's source.
EXAMPLES = Path(__file__).resolve().parents[2] / "build" / "examples.csv"
# Its last column: the score the Evaluate step computed for each row with the registered model.
SCORE_COLUMN = "expected_score"


@pytest.fixture(scope="session")
def endpoint() -> Iterator[HttpTransport | SageMakerTransport | ApiTransport]:
    name = os.environ.get("ENDPOINT_NAME", "").strip()
    url = os.environ.get("ENDPOINT_URL", "").strip()
    api = os.environ.get("ENDPOINT_API_URL", "").strip()
    given = [
        f"{k}={v!r}"
        for k, v in (("ENDPOINT_NAME", name), ("ENDPOINT_URL", url), ("ENDPOINT_API_URL", api))
        if v
    ]
    if len(given) > 1:
        raise pytest.UsageError(f"set one of {' or '.join(given)}, not several")
    if not given:
        pytest.skip(
            "neither ENDPOINT_NAME (a deployed endpoint), ENDPOINT_URL (a running model server, "
            "http://host:port) nor ENDPOINT_API_URL (the stage's API) is set"
        )
    try:
        transport = (
            SageMakerTransport(name) if name else HttpTransport(url) if url else ApiTransport(api)
        )
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    yield transport
    transport.close()


class Examples(NamedTuple):
    features: tuple[str, ...]
    rows: list[list[str]]  # field texts as clients send them; "" = missing
    expected: list[float] | None  # the model's score of each row, when the file gives them


@pytest.fixture(scope="session")
def examples() -> Examples:
    """The example requests (and their expected scores, from a last column SCORE_COLUMN)."""
    given = os.environ.get("ENDPOINT_EXAMPLES", "").strip()
    path = Path(given or EXAMPLES)
    if not given and not path.is_file():
        raise pytest.UsageError(
            f"no example requests at {path}: set ENDPOINT_EXAMPLES to a CSV file (a header naming "
            "the features, then rows) or run build-deploy-config, which writes that file"
        )
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            header, *rows = [row for row in csv.reader(handle) if row]
    except (OSError, ValueError) as error:
        raise pytest.UsageError(
            f"ENDPOINT_EXAMPLES={path}: not a readable CSV file ({error})"
        ) from None
    if not rows or any(len(row) != len(header) for row in rows):
        raise pytest.UsageError(f"{path}: expected a header and rows of {len(header)} fields")
    if header[-1] != SCORE_COLUMN:
        return Examples(tuple(header), rows, None)
    try:
        expected = [float(row[-1]) for row in rows]
    except ValueError as error:
        raise pytest.UsageError(f"{path}: column {SCORE_COLUMN}: {error}") from None
    return Examples(tuple(header[:-1]), [row[:-1] for row in rows], expected)


def latency_bound(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        raise pytest.UsageError(f"{name}={raw!r} is not a number of milliseconds") from None
