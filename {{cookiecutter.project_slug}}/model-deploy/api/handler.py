"""The stage API's Lambda handler: one API Gateway request -> one InvokeEndpoint on the stage's endpoint.

API Gateway (REST API, Lambda proxy integration, IAM auth, stage throttling: endpoint.yml) has already
checked the caller's SigV4 signature; this checks what it cannot (the body's size and content type),
calls ``sagemaker-runtime.invoke_endpoint`` and maps every failure to a status and a one-line JSON
``{"error": ...}``. Nothing but the standard library and boto3 (the Lambda runtime has both), so
``aws cloudformation package`` uploads this folder as it is.

| what happened | status |
|---|---|
| body over ``MAX_BODY_BYTES`` / content type the model server does not read | 413 / 415 |
| the model server answered 4xx (``ModelError`` with ``OriginalStatusCode`` 4xx) | that 4xx, the server's body |
| InvokeEndpoint refused the request (``ValidationError``) | 400 |
| throttled | 429 |
| the endpoint is missing or not ready, SageMaker unavailable, a network failure | 503 |
| the model server failed (5xx), any other error | 502 |

Errors of InvokeEndpoint: https://docs.aws.amazon.com/AWSJavaSDK/latest/javadoc/com/amazonaws/services/sagemakerruntime/model/package-summary.html
(ModelError carries OriginalStatusCode and OriginalMessage:
https://docs.aws.amazon.com/botocore/latest/reference/services/sagemaker-runtime/client/exceptions/ModelError.html).
"""

from __future__ import annotations

import base64
import json
import logging
import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

# REPLACE: the media types your model server reads (model-build/container README, "The container
# contract"): the image's CSV, JSON and JSON Lines with the aliases it accepts.
CONTENT_TYPES = frozenset(
    {
        "text/csv",
        "application/json",
        "application/jsonlines",
        "application/x-jsonlines",
        "application/jsonl",
        "application/x-ndjson",
    }
)
INFERENCE_ID = "x-amzn-sagemaker-inference-id"  # InvokeEndpoint's InferenceId, as a header
THROTTLED = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException"})
UNAVAILABLE = frozenset(
    {"ServiceUnavailable", "ModelNotReadyException", "InternalDependencyException"}
)
# API Gateway waits 29 s for an integration; the call gives up first so the caller gets our answer.
RUNTIME_CONFIG = Config(
    connect_timeout=5, read_timeout=20, retries={"mode": "standard", "max_attempts": 2}
)


@cache
def runtime() -> Any:
    return boto3.client("sagemaker-runtime", config=RUNTIME_CONFIG)


def answer(status: int, body: bytes, content_type: str) -> dict[str, Any]:
    """A Lambda proxy response. Text (what the model server writes) goes as text; other bytes
    base64-encoded, which API Gateway decodes only when the caller's Accept matches the API's binary
    media types: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html"""
    try:
        return {
            "statusCode": status,
            "headers": {"Content-Type": content_type},
            "body": body.decode("utf-8"),
            "isBase64Encoded": False,
        }
    except UnicodeDecodeError:
        return {
            "statusCode": status,
            "headers": {"Content-Type": content_type},
            "body": base64.b64encode(body).decode("ascii"),
            "isBase64Encoded": True,
        }


def error(status: int, message: str) -> dict[str, Any]:
    return answer(status, json.dumps({"error": message}).encode(), "application/json")


def _headers(event: dict[str, Any]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}


def _body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8")


def _model_error(details: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """The model server's own answer: its 4xx and body pass through; a 5xx or none is a 502."""
    status = int(response.get("OriginalStatusCode") or 0)
    message = str(response.get("OriginalMessage") or details.get("Message") or "")
    if 400 <= status < 500:
        try:
            json.loads(message)
        except ValueError:
            return error(status, message[:1000])
        return answer(status, message.encode(), "application/json")
    return error(502, f"the model server failed ({status or 'no status'}): {message[:300]}")


def _client_error(caught: ClientError, endpoint: str) -> dict[str, Any]:
    details = caught.response.get("Error", {})
    code, message = str(details.get("Code", "")), str(details.get("Message", ""))
    if code == "ModelError":
        return _model_error(details, caught.response)
    if code in THROTTLED:
        return error(429, f"throttled by SageMaker: {message[:300]}")
    if code == "ValidationError" and "not found" in message.lower():
        # The API's own endpoint is missing: the deployment is broken, not the caller's request.
        return error(503, f"endpoint {endpoint} is not available: {message[:300]}")
    if code == "ValidationError":
        return error(400, message[:1000])
    if code in UNAVAILABLE:
        return error(503, f"endpoint {endpoint} is not available ({code}): {message[:300]}")
    LOG.error("InvokeEndpoint %s failed: %s %s", endpoint, code, message)
    return error(502, f"InvokeEndpoint failed ({code or 'unknown error'})")


def _refusal(body: bytes, raw_type: str) -> dict[str, Any] | None:
    """413 / 415 for what API Gateway passes on unchecked; None when the request may go on."""
    limit = int(os.environ.get("MAX_BODY_BYTES") or 0)
    if limit and len(body) > limit:
        return error(413, f"body of {len(body)} bytes exceeds the limit of {limit} bytes")
    if raw_type.split(";", maxsplit=1)[0].strip().lower() not in CONTENT_TYPES:
        return error(
            415,
            f"Content-Type {raw_type[:60] or '(none)'!r} is not supported; allowed: "
            + ", ".join(sorted(CONTENT_TYPES)),
        )
    return None


def _invoke(request: dict[str, Any]) -> dict[str, Any]:
    endpoint = request["EndpointName"]
    try:
        response = runtime().invoke_endpoint(**request)
        payload = response["Body"].read()
    except ClientError as caught:
        return _client_error(caught, endpoint)
    except (ConnectionError, ReadTimeoutError) as caught:
        return error(503, f"endpoint {endpoint} did not answer: {type(caught).__name__}")
    except ParamValidationError as caught:  # a header botocore refuses (e.g. a long InferenceId)
        return error(400, str(caught)[:1000])
    except BotoCoreError as caught:  # e.g. no credentials: the function's setup, not the caller
        LOG.error("InvokeEndpoint %s failed: %s", endpoint, caught)
        return error(502, f"the API failed to call the endpoint ({type(caught).__name__})")
    except Exception:  # never a stack trace to the caller; the log has it
        LOG.exception("InvokeEndpoint %s failed", endpoint)
        return error(502, "the API failed to call the endpoint; see the function's log")
    return answer(200, payload, str(response.get("ContentType") or "application/octet-stream"))


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    headers = _headers(event)
    try:
        body = _body(event)
    except (ValueError, UnicodeError):
        return error(400, "the request body is not valid base64")
    raw_type = headers.get("content-type", "")
    refused = _refusal(body, raw_type)
    if refused is not None:
        return refused
    request: dict[str, Any] = {
        "EndpointName": os.environ.get("ENDPOINT_NAME", ""),
        "Body": body,
        "ContentType": raw_type,
    }
    if headers.get("accept"):
        request["Accept"] = headers["accept"]
    if headers.get(INFERENCE_ID):
        request["InferenceId"] = headers[INFERENCE_ID]
    return _invoke(request)
