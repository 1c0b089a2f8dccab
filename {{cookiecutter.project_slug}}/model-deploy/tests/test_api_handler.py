"""The API's Lambda handler (api/handler.py): how it maps what the SageMaker runtime answers to HTTP
statuses, with botocore's Stubber for what no local server produces (throttling, a 5xx, an
unexpected failure). The same handler in front of the image's real model server, and this folder's
endpoint suite through it, run in the twin's tests (infra/tests/twin/test_api_front_door.py)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from api_proxy import ENDPOINT, error_of, event, free_port, load_handler
from botocore.stub import Stubber


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_handler(monkeypatch)


def test_an_unreachable_runtime_is_a_503(
    handler: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{free_port()}")
    message = error_of(handler.handler(event(b"1,2,3")), 503)
    assert message == f"endpoint {ENDPOINT} did not answer: EndpointConnectionError"


@pytest.mark.parametrize(
    ("code", "http", "extra", "status"),
    [
        ("ThrottlingException", 400, {}, 429),
        ("ModelError", 424, {"OriginalStatusCode": 500, "OriginalMessage": "boom"}, 502),
        ("ModelError", 424, {"OriginalStatusCode": 415, "OriginalMessage": "not csv"}, 415),
        ("ModelNotReadyException", 429, {}, 503),
        ("ServiceUnavailable", 503, {}, 503),
        ("InternalFailure", 500, {}, 502),
        ("ValidationError", 400, {}, 400),
        ("AccessDeniedException", 400, {}, 502),
    ],
)
def test_runtime_errors_map_to_statuses(
    handler: ModuleType, code: str, http: int, extra: dict[str, Any], status: int
) -> None:
    client = handler.runtime()
    with Stubber(client) as stub:
        stub.add_client_error(
            "invoke_endpoint",
            service_error_code=code,
            service_message=f"{code} from the stub",
            http_status_code=http,
            response_meta=None,
            modeled_fields=extra or None,
        )
        error_of(handler.handler(event(b"1,2,3")), status)


def test_an_unexpected_failure_is_a_502_without_a_stack_trace(
    handler: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(handler.runtime(), "invoke_endpoint", broken)
    message = error_of(handler.handler(event(b"1,2,3")), 502)
    assert "secret" not in message
