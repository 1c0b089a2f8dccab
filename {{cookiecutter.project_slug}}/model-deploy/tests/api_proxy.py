"""What the API handler's tests share (and the twin's API test, infra/tests/twin/test_api_front_door.py,
loads by path): api/handler.py loaded as Lambda loads it, and API Gateway's REST proxy events."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import socket
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

HANDLER = Path(__file__).resolve().parents[1] / "api" / "handler.py"
ENDPOINT = "demo-staging"


def free_port() -> int:
    """A port nothing listens on (yet), on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load_handler(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """api/handler.py as Lambda loads it, with fake credentials and this stage's settings."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "ENDPOINT_NAME": ENDPOINT,
        "MAX_BODY_BYTES": "100000",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    spec = importlib.util.spec_from_file_location("api_handler", HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def event(body: bytes, content_type: str | None = "text/csv", **headers: str) -> dict[str, Any]:
    """An API Gateway REST proxy event as the API sends it (binary media types */*: base64)."""
    given = {"Content-Type": content_type} if content_type else {}
    given.update({k.replace("_", "-"): v for k, v in headers.items()})
    return {
        "httpMethod": "POST",
        "path": "/invocations",
        "headers": given,
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


def body_of(response: dict[str, Any]) -> bytes:
    if response["isBase64Encoded"]:
        return base64.b64decode(response["body"])
    return str(response["body"]).encode("utf-8")


def error_of(response: dict[str, Any], status: int) -> str:
    assert response["statusCode"] == status, body_of(response)[:300]
    assert response["headers"]["Content-Type"] == "application/json"
    message = json.loads(body_of(response))["error"]
    assert isinstance(message, str) and message
    assert "Traceback" not in message
    return message
