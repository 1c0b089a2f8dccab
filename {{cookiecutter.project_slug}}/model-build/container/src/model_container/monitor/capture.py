"""Writing SageMaker data-capture records, so local serving produces what an endpoint puts in S3.

One JSON object per line::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "45,2,1,3", "encoding": "CSV"},
                     "endpointOutput": {...  "mode": "OUTPUT" ...}},
     "eventMetadata": {"eventId": "<uuid>", "inferenceId": "<the caller's InferenceId>",
                       "inferenceTime": "2026-01-01T10:00:00.000Z"},
     "eventVersion": "0"}

under ``<root>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm-ss-mmm>-<uuid>.jsonl`` (hour of the capture, UTC).
As on SageMaker, bodies whose content type is listed as CSV or JSON are stored as text; anything else
(or a body that is not UTF-8) is stored base64-encoded.

As on SageMaker, ``inferenceId`` is there only when the caller gave one (InvokeEndpoint's
``InferenceId``); without it the record's id is its ``eventId``, which the server makes up and
answers with. Model Monitor joins ground truth on ``inferenceId`` and, when a record has none, on
``eventId`` (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html):
``record_id`` reads that rule back.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# SageMaker Python SDK defaults of DataCaptureConfig.csv_content_types / json_content_types.
CSV_CONTENT_TYPES: tuple[str, ...] = ("text/csv",)
JSON_CONTENT_TYPES: tuple[str, ...] = ("application/json",)


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _payload(
    body: bytes,
    content_type: str,
    mode: str,
    csv_types: Sequence[str],
    json_types: Sequence[str],
) -> dict[str, str]:
    media = _media_type(content_type)
    encoding = "CSV" if media in csv_types else "JSON" if media in json_types else "BASE64"
    if encoding != "BASE64":
        try:
            data = body.decode("utf-8")
        except UnicodeDecodeError:
            encoding = "BASE64"
    if encoding == "BASE64":
        data = base64.b64encode(body).decode("ascii")
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


def format_time(when: datetime) -> str:
    """``2026-01-01T10:00:00.123Z``: UTC with milliseconds, as SageMaker writes ``inferenceTime``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def capture_record(
    *,
    request: bytes,
    request_content_type: str,
    response: bytes | None = None,
    response_content_type: str | None = None,
    when: datetime | None = None,
    event_id: str | None = None,
    inference_id: str | None = None,
    csv_content_types: Sequence[str] = CSV_CONTENT_TYPES,
    json_content_types: Sequence[str] = JSON_CONTENT_TYPES,
) -> dict[str, Any]:
    """One capture record (a dict ready for ``json.dumps``) of a request and, if given, its response."""
    data: dict[str, Any] = {
        "endpointInput": _payload(
            request, request_content_type, "INPUT", csv_content_types, json_content_types
        )
    }
    if response is not None:
        data["endpointOutput"] = _payload(
            response,
            response_content_type or request_content_type,
            "OUTPUT",
            csv_content_types,
            json_content_types,
        )
    metadata = {"eventId": event_id or str(uuid.uuid4())}
    if inference_id is not None:
        metadata["inferenceId"] = inference_id
    metadata["inferenceTime"] = format_time(when or datetime.now(UTC))
    return {"captureData": data, "eventMetadata": metadata, "eventVersion": "0"}


def record_id(record: dict[str, Any]) -> tuple[str, bool]:
    """(the id ground truth joins on, whether it was generated): ``inferenceId``, else ``eventId``."""
    metadata = record["eventMetadata"]
    caller = metadata.get("inferenceId")
    return (caller, False) if caller else (metadata["eventId"], True)


def capture_line(record: dict[str, Any]) -> str:
    """The record as one JSON line (no spaces, like SageMaker's files), newline-terminated."""
    return json.dumps(record, separators=(",", ":")) + "\n"


def hour_folder(root: Path, endpoint: str, variant: str, when: datetime) -> Path:
    """``<root>/<endpoint>/<variant>/yyyy/mm/dd/hh`` of a UTC time."""
    return root / endpoint / variant / when.astimezone(UTC).strftime("%Y/%m/%d/%H")


class CaptureWriter:
    """Appends capture records to one file per hour (per writer), like an endpoint's capture.

    Safe across threads of one process; every process needs its own writer (file names carry a
    random id, so processes never share a file).
    """

    def __init__(self, root: Path, *, endpoint: str = "local", variant: str = "AllTraffic") -> None:
        self.root = Path(root)
        self.endpoint = endpoint
        self.variant = variant
        self._lock = threading.Lock()
        self._files: dict[Path, Path] = {}  # hour folder -> this writer's file in it

    def path_for(self, when: datetime) -> Path:
        folder = hour_folder(self.root, self.endpoint, self.variant, when)
        if folder not in self._files:
            utc = when.astimezone(UTC)
            name = f"{utc:%M-%S}-{utc.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
            self._files[folder] = folder / name
        return self._files[folder]

    def write(
        self,
        request: bytes,
        request_content_type: str,
        response: bytes | None = None,
        response_content_type: str | None = None,
        when: datetime | None = None,
        *,
        event_id: str | None = None,
        inference_id: str | None = None,
    ) -> Path:
        """Capture one request (and its response); returns the file written to."""
        when = when or datetime.now(UTC)
        line = capture_line(
            capture_record(
                request=request,
                request_content_type=request_content_type,
                response=response,
                response_content_type=response_content_type,
                when=when,
                event_id=event_id,
                inference_id=inference_id,
            )
        )
        with self._lock:
            path = self.path_for(when)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as handle:
                handle.write(line)
        return path
