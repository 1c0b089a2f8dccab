"""Feature rows sent as the requests clients make, stored as an endpoint's data capture stores them.

For shipped example batches (a shifted one the monitor must flag, a normal one it must pass) and for
tests: requests one minute apart from ``START``, holding 1, 1, 2, 4 rows in turn and cycling through
the payload forms clients use (CSV, JSON instances, CSV stored base64, JSON by feature name, JSON
lines). Deterministic: fixed times and event ids, so a shipped batch can be checked against its
generator. Categorical features are sent as their category text.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from model_container.monitor.capture import capture_line, capture_record, hour_folder

START = datetime(2026, 1, 1, tzinfo=UTC)
FORMATS = ("csv", "json", "base64-csv", "json-by-name", "jsonlines")
SIZES = (1, 1, 2, 4)
Value = float | int | str | None


def values(
    rows: np.ndarray, names: Sequence[str], categories: Mapping[str, Sequence[str]]
) -> list[list[Value]]:
    """Rows of model inputs (codes, NaN) as a client sends them: numbers, category text, null."""
    decoded: list[list[Value]] = []
    for row in rows:
        out: list[Value] = []
        for name, value in zip(names, row, strict=True):
            if np.isnan(value):
                out.append(None)
            elif name in categories:
                out.append(categories[name][int(value)])
            else:
                out.append(int(value) if value == int(value) else float(value))
        decoded.append(out)
    return decoded


def _text(value: Value) -> str:
    return "" if value is None else value if isinstance(value, str) else f"{value:g}"


def _request(rows: list[list[Value]], names: Sequence[str], form: str) -> tuple[bytes, str, bool]:
    """(body, content type, store base64) of one request."""
    if form in ("csv", "base64-csv"):
        body = "\n".join(",".join(map(_text, row)) for row in rows)
        return body.encode(), "text/csv", form == "base64-csv"
    if form == "jsonlines":
        body = "\n".join(json.dumps(row) for row in rows)
        return body.encode(), "application/jsonlines", True  # not a capture JSON type: base64
    if form == "json-by-name":
        instances: list = [dict(zip(names, row, strict=True)) for row in rows]
    else:
        instances = rows
    return json.dumps({"instances": instances}).encode(), "application/json", False


def write_capture(
    rows: list[list[Value]],
    names: Sequence[str],
    root: Path,
    name: str,
    *,
    endpoint: str = "outliers",
    variant: str = "AllTraffic",
) -> list[Path]:
    """Capture files of ``rows`` sent as requests (one file per hour); returns their paths."""
    lines: dict[Path, list[str]] = {}
    row = request = 0
    while row < len(rows):
        size = SIZES[request % len(SIZES)]
        body, content_type, base64 = _request(
            rows[row : row + size], names, FORMATS[request % len(FORMATS)]
        )
        when = START + timedelta(minutes=request)
        record = capture_record(
            request=body,
            request_content_type=content_type,
            when=when,
            event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/{request}")),
            csv_content_types=() if base64 else ("text/csv",),
        )
        path = hour_folder(root, endpoint, variant, when) / f"{name}.jsonl"
        lines.setdefault(path, []).append(capture_line(record))
        row += size
        request += 1
    for path, content in lines.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(content), encoding="utf-8")
    return sorted(lines)


def batch_command(
    argv: Sequence[str] | None,
    description: str,
    rows: Callable[[], np.ndarray],
    shift: Callable[[np.ndarray], np.ndarray],
    write: Callable[[np.ndarray, Path, str], list[Path]],
) -> None:
    """The command line of a data folder's ``make_outliers.py``: ``<folder>`` writes the shifted
    batch (named ``outliers``), ``--normal <folder>`` the same requests without the shift."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--normal", action="store_true", help="no shift (the normal batch)")
    args = parser.parse_args(argv)
    features = rows()
    if args.normal:
        write(features, args.folder, "normal")
    else:
        write(shift(features), args.folder, "outliers")
