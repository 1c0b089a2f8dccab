"""Make the shipped outliers batch (capture format) from the bundled UCI data; also the normal batch.

    python3 make_outliers.py capture            # rewrites ./capture (the shipped files)
    python3 make_outliers.py --normal <folder>  # the same requests without the shift

The shift (see README.md): Age + 20 years, Margin + 2 codes (capped at 5, spiculated); Shape and
Density untouched. Output is deterministic (fixed times and event ids), so a test checks that the
shipped files are exactly what this script makes.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from model_container.monitor.capture import capture_line, capture_record, hour_folder
from model_container.schema import COLUMN_NAMES, blank_invalid, feature_names

BUNDLED = Path(__file__).resolve().parents[1] / "mammographic_masses.data"
FEATURES = feature_names()  # Age, Shape, Margin, Density: the model's default inputs
AGE_SHIFT = 20.0
MARGIN_SHIFT = 2.0
SHIFTED = ("Age", "Margin")
START = datetime(2026, 1, 1, tzinfo=UTC)
ENDPOINT, VARIANT = "outliers", "AllTraffic"
# Requests cycle through these payload forms and sizes, as different clients would send them.
FORMATS = ("csv", "json", "base64-csv", "json-by-name", "jsonlines")
SIZES = (1, 1, 2, 4)


def bundled_features(path: Path = BUNDLED) -> np.ndarray:
    """The bundled rows' model features (NaN = missing or invalid, as the pipeline cleans them)."""
    table = np.genfromtxt(path, delimiter=",", missing_values="?", filling_values=np.nan)
    blank_invalid(table)
    return table[:, [COLUMN_NAMES.index(name) for name in FEATURES]]


def shift(features: np.ndarray) -> np.ndarray:
    shifted = features.copy()
    shifted[:, FEATURES.index("Age")] += AGE_SHIFT
    margin = FEATURES.index("Margin")
    shifted[:, margin] = np.minimum(shifted[:, margin] + MARGIN_SHIFT, 5.0)
    return shifted


def _value(value: float) -> float | int | None:
    return None if np.isnan(value) else int(value) if value == int(value) else float(value)


def _text(value: float) -> str:
    return "" if np.isnan(value) else f"{value:g}"


def _request(rows: np.ndarray, form: str) -> tuple[bytes, str, bool]:
    """(body, content type, store base64) of one request."""
    if form in ("csv", "base64-csv"):
        body = "\n".join(",".join(map(_text, row)) for row in rows)
        return body.encode(), "text/csv", form == "base64-csv"
    values = [[_value(v) for v in row] for row in rows]
    if form == "jsonlines":
        body = "\n".join(json.dumps(row) for row in values)
        return body.encode(), "application/jsonlines", True  # not a capture JSON type: base64
    if form == "json-by-name":
        instances: list = [dict(zip(FEATURES, row, strict=True)) for row in values]
    else:
        instances = values
    return json.dumps({"instances": instances}).encode(), "application/json", False


def write_batch(features: np.ndarray, root: Path, name: str) -> list[Path]:
    """Capture records of ``features`` sent as requests, one per minute from START, one file per hour."""
    lines: dict[Path, list[str]] = {}
    row = request = 0
    while row < len(features):
        size = SIZES[request % len(SIZES)]
        body, content_type, base64 = _request(
            features[row : row + size], FORMATS[request % len(FORMATS)]
        )
        when = START + timedelta(minutes=request)
        record = capture_record(
            request=body,
            request_content_type=content_type,
            when=when,
            event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/{request}")),
            csv_content_types=() if base64 else ("text/csv",),
        )
        path = hour_folder(root, ENDPOINT, VARIANT, when) / f"{name}.jsonl"
        lines.setdefault(path, []).append(capture_line(record))
        row += size
        request += 1
    for path, content in lines.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(content), encoding="utf-8")
    return sorted(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--normal", action="store_true", help="no shift (the normal batch)")
    args = parser.parse_args(argv)
    features = bundled_features()
    if args.normal:
        write_batch(features, args.folder, "normal")
    else:
        write_batch(shift(features), args.folder, "outliers")


if __name__ == "__main__":
    main()
