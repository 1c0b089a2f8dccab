"""The WSGI application: SageMaker's inference routes over one loaded model.

Plain WSGI (no framework): three routes do not need one, and every microsecond of per-request
overhead shows at one-row requests. Nothing is cached: every invocation runs the model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Protocol

import orjson

from model_container.monitor.capture import CaptureWriter
from model_container.serve import codec, inference_id
from model_container.serve.codec import RequestError
from model_container.serve.model import Model

log = logging.getLogger("model_container.serve")

# Bytes of an oversized body read and thrown away so its client can read the 413. SageMaker's largest
# payload (batch transform's MaxPayloadInMB) is 100 MB.
DISCARD_BYTES = 128 * 1024 * 1024

StartResponse = Callable[..., object]
Environ = dict
# Where invoke leaves the request's inference id (an application key in the WSGI environ, PEP 3333),
# for the answer's header and the error log.
REQUEST_ID = "model_container.inference_id"


class InferenceApp:
    """`GET /ping`, `POST /invocations`, `GET /execution-parameters`."""

    def __init__(
        self,
        model: Model,
        max_body_bytes: int,
        workers: int,
        capture: CaptureWriter | None = None,
        gate: AbstractContextManager | None = None,
    ) -> None:
        self.model = model
        # Held while a request is scored (parse, predict, encode, capture), never while its body arrives:
        # the server runs requests on several threads so a slow upload waits alone (see server.py).
        self.gate = threading.Lock() if gate is None else gate
        self.codes = codec.codes_of(model.categories)
        self.max_body_bytes = max_body_bytes
        self.capture = capture
        self.execution_parameters = orjson.dumps(
            {
                # Batch transform: one request in flight per worker keeps every CPU busy without queueing.
                "MaxConcurrentTransforms": workers,
                "BatchStrategy": "MULTI_RECORD",
                # Whole MB, rounded up; 0 = no limit (chunked bodies of any size).
                "MaxPayloadInMB": -(-max_body_bytes // (1024 * 1024)),
            }
        )

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        try:
            if path == "/invocations":
                self._require(method, "POST")
                status, content_type, body = self.invoke(environ)
            elif path == "/ping":
                self._require(method, "GET")
                status, content_type, body = 200, codec.JSON, b'{"status":"ok"}'
            elif path == "/execution-parameters":
                self._require(method, "GET")
                status, content_type, body = 200, codec.JSON, self.execution_parameters
            else:
                raise RequestError(
                    404,
                    f"path {path[:80]!r} not found; routes: /ping, /invocations, /execution-parameters",
                )
        except RequestError as exc:
            status, content_type, body = (
                exc.status,
                codec.JSON,
                codec.error_body(exc.status, exc.message),
            )
        except Exception:  # a bug, not bad input: answer 500 and keep the worker alive
            log.exception(
                "unexpected error on %s %s (inference id %s)",
                method,
                path,
                environ.get(REQUEST_ID, "-"),
            )
            status, content_type, body = (
                500,
                codec.JSON,
                codec.error_body(500, "internal error; see the server log"),
            )
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        request_id = environ.get(REQUEST_ID)
        if request_id is not None:
            # Echoed for direct callers (local serving, the endpoint suite): with a caller's id it is
            # theirs; without, the id capture recorded as eventId. InvokeEndpoint's answer has no such
            # member (InvokeEndpointOutput), so through SageMaker only the capture and log carry it.
            headers.append((inference_id.HEADER, request_id))
        start_response(_STATUS[status], headers)
        return [body]

    @staticmethod
    def _require(method: str, allowed: str) -> None:
        if method != allowed and not (allowed == "GET" and method == "HEAD"):
            raise RequestError(405, f"method {method[:16]!r} not allowed here; use {allowed}")

    def _read_body(self, environ: Environ) -> bytes:
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH") or ""
        if length:
            try:
                size = int(length)
            except ValueError:
                raise RequestError(400, f"Content-Length {length[:20]!r} is not a number") from None
            if self.max_body_bytes and size > self.max_body_bytes:
                # A client that asked first (Expect: 100-continue) has sent nothing yet: answer now.
                if "100-continue" not in environ.get("HTTP_EXPECT", "").lower():
                    _discard(stream, size)
                raise RequestError(
                    413, f"body of {size} bytes exceeds the limit of {self.max_body_bytes} bytes"
                )
            return stream.read(size) if size > 0 else b""
        if not self.max_body_bytes:
            return stream.read()
        # Chunked upload: read one byte past the limit to detect an oversized body without holding it all.
        body = stream.read(self.max_body_bytes + 1)
        if len(body) > self.max_body_bytes:
            _discard(stream, DISCARD_BYTES)
            raise RequestError(413, f"body exceeds the limit of {self.max_body_bytes} bytes")
        return body

    def invoke(self, environ: Environ) -> tuple[int, str, bytes]:
        # Read the body before judging the headers: a body left unread on a keep-alive connection
        # has to be drained by the server before the next request, so consume it here, once.
        body = self._read_body(environ)
        try:
            caller_id = inference_id.from_environ(environ)
        except inference_id.InferenceIdError as exc:
            raise RequestError(400, str(exc)) from None
        # Without the caller's id, one is made here and captured as the record's eventId (the id
        # Model Monitor joins ground truth on when a record has no inferenceId).
        environ[REQUEST_ID] = caller_id or inference_id.generate()
        content_type = codec.media_type(environ.get("CONTENT_TYPE"))
        if content_type not in codec.CONTENT_TYPES:
            shown = environ.get("CONTENT_TYPE") or "(none)"
            raise RequestError(
                415,
                f"Content-Type {shown[:60]!r} is not supported; allowed: {', '.join(codec.CONTENT_TYPES)}",
            )
        accept = codec.negotiate_accept(environ.get("HTTP_ACCEPT"), content_type)
        with self.gate:
            rows = codec.parse(content_type, body, self.model.features, self.codes)
            scores = self.model.predict(rows)
            answer = codec.encode(accept, scores, self.model.threshold)
            if self.capture is not None:
                self.capture.write(
                    body,
                    content_type,
                    answer,
                    accept,
                    event_id=None if caller_id else environ[REQUEST_ID],
                    inference_id=caller_id,
                )
        return 200, accept, answer


class _Input(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _discard(stream: _Input, size: int) -> None:
    """Read and drop up to `size` (at most DISCARD_BYTES) of a body that will be answered 413.

    A server that closes a connection with unread data makes the kernel reset it, and a client still
    sending its body (http.client, requests) gets a broken pipe instead of the answer. Past the bound
    the connection is closed anyway: reading 100+ MB to say "too large" is not worth a thread's time.
    """
    left = min(size, DISCARD_BYTES)
    while left > 0:
        chunk = stream.read(min(left, 1024 * 1024))
        if not chunk:
            return
        left -= len(chunk)


_STATUS = {
    200: "200 OK",
    400: "400 Bad Request",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    406: "406 Not Acceptable",
    413: "413 Payload Too Large",
    415: "415 Unsupported Media Type",
    500: "500 Internal Server Error",
}
