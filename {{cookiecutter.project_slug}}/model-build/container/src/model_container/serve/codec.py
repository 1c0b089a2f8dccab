"""Decode request bodies into feature rows and encode scores, for the content types SageMaker sends.

Every decoding failure raises `RequestError` with an HTTP status and a one-line message that names
the offending value; the server turns it into a 4xx JSON response.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import orjson

from model_container.columns import EncodeError, category_codes, category_text
from model_container.columns import encode as encode_field

Codes = Mapping[str, dict[str, float]]  # categorical feature -> category -> code

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
# Aliases clients send for the same formats (SageMaker Clarify and Model Monitor use the x- form).
_ALIASES = {
    "application/x-jsonlines": JSONLINES,
    "application/jsonl": JSONLINES,
    "application/x-ndjson": JSONLINES,
}
CONTENT_TYPES = (CSV, JSON, JSONLINES)
ACCEPT_TYPES = (CSV, JSON, JSONLINES)


class RequestError(Exception):
    """A client error: `status` is the 4xx code, `message` says what was wrong and what is allowed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _shorten(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def media_type(header: str | None) -> str:
    """`text/CSV; charset=utf-8` -> `text/csv` (parameters dropped, aliases folded)."""
    base = (header or "").split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def negotiate_accept(accept: str | None, content_type: str) -> str:
    """Pick the response type: the first supported type in Accept, else the request's own format."""
    if not accept or not accept.strip():
        return content_type
    for part in accept.split(","):
        kind = media_type(part)
        if kind in ACCEPT_TYPES:
            return kind
        if kind == "*/*":
            return content_type
        if kind == "text/*":
            return CSV
        if kind == "application/*":
            return content_type if content_type.startswith("application/") else JSON
    raise RequestError(
        406, f"Accept {_shorten(accept)} is not supported; allowed: {', '.join(ACCEPT_TYPES)}"
    )


def _text(body: bytes) -> str:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(
            400, f"body is not UTF-8 text (bad byte at offset {exc.start})"
        ) from None
    if not text.strip():
        raise RequestError(400, "body is empty; send at least one row of features")
    return text


def _finite(rows: np.ndarray) -> np.ndarray:
    if np.isinf(rows).any():
        row, col = (int(i) + 1 for i in np.argwhere(np.isinf(rows))[0])
        raise RequestError(
            400, f"row {row}, column {col}: value is infinite or too large; send a finite number"
        )
    return rows


# --- text/csv ------------------------------------------------------------------------------------------


def fill_empty_fields(text: str) -> str:
    """Write `nan` into empty fields so numpy's C parser reads them as missing values (the drift
    monitor reads captured CSV with this too, so both see the same rows)."""
    text = "\n" + text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace(",,", ",nan,").replace(",,", ",nan,")
    text = text.replace("\n,", "\nnan,").replace(",\n", ",nan\n")
    if text.endswith(","):
        text += "nan"
    return text[1:]


def _csv_error(text: str, n_features: int) -> RequestError:
    """Find the first bad row or field (slow path, only after the fast parser refused the body)."""
    lines = [
        line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if line.strip()
    ]
    for number, line in enumerate(lines, start=1):
        fields = line.split(",")
        if len(fields) != n_features:
            return RequestError(
                400,
                f"row {number} has {len(fields)} columns; expected {n_features} (no header, no label column)",
            )
        for col, field in enumerate(fields, start=1):
            if field.strip() == "":
                continue
            try:
                float(field)
            except ValueError:
                return RequestError(
                    400,
                    f"row {number}, column {col}: {_shorten(field)} is not a number; send numbers or leave empty",
                )
    # Unreachable while numpy and the loop above agree on what a number is.
    return RequestError(400, "body is not valid CSV of numbers")


def _csv_categorical(text: str, features: Sequence[str], codes: Codes) -> np.ndarray:
    """Field by field, for a model with categorical features (the fast parser reads numbers only)."""
    lines = [
        line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if line.strip()
    ]
    rows = np.empty((len(lines), len(features)), dtype=np.float32)
    columns = [codes.get(name) for name in features]
    for number, line in enumerate(lines, start=1):
        fields = line.split(",")
        if len(fields) != len(features):
            raise RequestError(
                400,
                f"row {number} has {len(fields)} columns; expected {len(features)} (no header, no label column)",
            )
        for col, (field, categories) in enumerate(zip(fields, columns, strict=True)):
            try:
                rows[number - 1, col] = encode_field(field, categories)
            except EncodeError as error:
                raise RequestError(
                    400, f"row {number}, column {col + 1} ({features[col]}): {error}"
                ) from None
    return rows


def parse_csv(body: bytes, n_features: int) -> np.ndarray:
    """CSV rows of numbers without header or label; an empty field is a missing value."""
    text = _text(body)
    try:
        rows = np.loadtxt(
            io.StringIO(fill_empty_fields(text)),
            delimiter=",",
            dtype=np.float32,
            comments=None,
            ndmin=2,
            quotechar=None,
        )
    except ValueError:
        raise _csv_error(text, n_features) from None
    if rows.shape[1] != n_features:
        raise RequestError(
            400,
            f"row 1 has {rows.shape[1]} columns; expected {n_features} (no header, no label column)",
        )
    return _finite(rows)


# --- application/json and application/jsonlines ------------------------------------------------------------


def _loads(text: bytes | str, where: str) -> object:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise RequestError(
            400, f"{where} is not valid JSON ({exc.msg} at position {exc.pos})"
        ) from None


def _instance_row(item: object, features: Sequence[str], where: str, codes: Codes) -> list:
    """One instance: `[v, ...]`, `{"features": [v, ...]}` or `{"<feature name>": v, ...}`."""
    if isinstance(item, dict):
        if "features" in item and "features" not in features:
            item = item["features"]
        else:
            unknown = [key for key in item if key not in features]
            if unknown:
                raise RequestError(
                    400,
                    f"{where}: unknown feature {_shorten(unknown[0])}; allowed: {', '.join(features)}",
                )
            item = [item.get(name) for name in features]
    if not isinstance(item, list):
        raise RequestError(
            400,
            f"{where} is {type(item).__name__}; expected a list of {len(features)} numbers or an object by name",
        )
    if len(item) != len(features):
        raise RequestError(
            400, f"{where} has {len(item)} values; expected {len(features)} ({', '.join(features)})"
        )
    if codes:
        item = [
            _category(value, codes.get(name), f"{where}, value {col} ({name})")
            for col, (name, value) in enumerate(zip(features, item, strict=True), start=1)
        ]
    for col, value in enumerate(item, start=1):
        # bool is an int subclass but never a feature value here.
        if value is not None and (type(value) is bool or not isinstance(value, (int, float))):
            raise RequestError(
                400,
                f"{where}, value {col}: {_shorten(value)} is not a number; send a number or null",
            )
    return item


def _category(value: object, categories: dict[str, float] | None, where: str) -> object:
    """A categorical feature's JSON value as its code (a string, or a whole number as its text)."""
    if categories is None or value is None:
        return value
    text = category_text(value)
    if text is None:
        raise RequestError(
            400, f"{where}: {_shorten(value)} is not a category; send a string or null"
        )
    try:
        return encode_field(text, categories)
    except EncodeError as error:
        raise RequestError(400, f"{where}: {error}") from None


def _rows(
    items: list, features: Sequence[str], label: Callable[[int], str], codes: Codes
) -> np.ndarray:
    rows = [_instance_row(item, features, label(i), codes) for i, item in enumerate(items, start=1)]
    # Values beyond float32 become inf (no warning) and `_finite` names them.
    with np.errstate(over="ignore"):
        array = np.array(rows, dtype=np.float32).reshape(len(rows), len(features))
    return _finite(array)


def parse_json(body: bytes, features: Sequence[str], codes: Codes | None = None) -> np.ndarray:
    """`{"instances": [<instance>, ...]}` (see `_instance_row` for the instance forms)."""
    _text(body)
    doc = _loads(body, "body")
    if not isinstance(doc, dict) or "instances" not in doc:
        raise RequestError(
            400, 'JSON body must be an object {"instances": [...]}; got ' + type(doc).__name__
        )
    items = doc["instances"]
    if not isinstance(items, list) or not items:
        raise RequestError(400, '"instances" must be a non-empty list of instances')
    return _rows(items, features, lambda i: f"instance {i}", codes or {})


def parse_jsonlines(body: bytes, features: Sequence[str], codes: Codes | None = None) -> np.ndarray:
    """One instance per line (same forms as a JSON instance); blank lines are skipped."""
    text = _text(body)
    items = [
        _loads(line, f"line {n}")
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    return _rows(items, features, lambda i: f"line {i}", codes or {})


def codes_of(categories: Mapping[str, Sequence[str]]) -> Codes:
    """Per categorical feature, its categories' codes (the model artifact's ``categories``)."""
    return {name: category_codes(list(values)) for name, values in categories.items()}


def parse(
    content_type: str, body: bytes, features: Sequence[str], codes: Codes | None = None
) -> np.ndarray:
    """Decode `body` of media type `content_type` into a float32 array of shape (rows, features).

    ``codes``: per categorical feature, category -> code (see ``codes_of``); other features are numbers.
    """
    if content_type == CSV:
        if codes:
            return _csv_categorical(_text(body), features, codes)
        return parse_csv(body, len(features))
    if content_type == JSON:
        return parse_json(body, features, codes)
    if content_type == JSONLINES:
        return parse_jsonlines(body, features, codes)
    shown = content_type or "(none)"
    raise RequestError(
        415, f"Content-Type {_shorten(shown)} is not supported; allowed: {', '.join(CONTENT_TYPES)}"
    )


# --- responses -------------------------------------------------------------------------------------------


def _score_texts(scores: np.ndarray) -> bytes:
    """`s1,s2,...`: each float32 score in the shortest form that reads back as the same float32.

    orjson formats a float32 array in C: about 5x faster than Python's `%.9g` on 1000 scores.
    """
    array = np.ascontiguousarray(scores, dtype=np.float32)
    return orjson.dumps(array, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1]


def encode(accept: str, scores: np.ndarray, threshold: float) -> bytes:
    """Scores (and labels at `threshold`) in the `accept` media type."""
    texts = _score_texts(scores)
    if accept == CSV:
        return texts.replace(b",", b"\n") + b"\n"
    labels = (scores >= threshold).tolist()
    items = [
        b'{"score":%b,"label":%d}' % pair for pair in zip(texts.split(b","), labels, strict=True)
    ]
    if accept == JSONLINES:
        return b"\n".join(items) + b"\n"
    return b'{"predictions":[' + b",".join(items) + b"]}"


def error_body(status: int, message: str) -> bytes:
    return orjson.dumps({"error": message, "status": status})
