"""A small model folder trained through the model folder's interface, and requests built from its schema.

Nothing here knows the estimator or the columns: rows come from ``project_model.SCHEMA`` (numbers in
each column's valid range, categories as their codes), the model from ``project_model.fit`` and the
folder from ``artifact.save``, as the train step writes it. Whatever the model folder holds (XGBoost or
any other estimator, any columns), the serving tests run against it.

Other suites load this file by path: keep ``write_model(model_dir)`` and ``make_rows(n, seed)``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import orjson

import project_model
from model_container import artifact
from model_container.columns import Categorical, Column
from model_container.data import Dataset
from model_container.serve import codec
from project_model import SCHEMA

FEATURES: tuple[str, ...] = tuple(SCHEMA.feature_names)  # the order requests send them in
CATEGORIES: dict[str, tuple[str, ...]] = SCHEMA.categories()
N_FEATURES = len(FEATURES)


def _column_values(column: Column, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` valid values of one column: a category's code, or a number within the column's range."""
    if isinstance(column, Categorical):
        return rng.integers(0, len(column.categories), n).astype(np.float64)
    low, high = column.low, column.high
    if math.isfinite(low) and math.isfinite(high):
        values = rng.uniform(low, high, n)
    elif math.isfinite(low):
        values = low + np.abs(rng.standard_normal(n)) * 10
    elif math.isfinite(high):
        values = high - np.abs(rng.standard_normal(n)) * 10
    else:
        values = rng.standard_normal(n) * 10
    values = np.round(values) if column.whole else np.round(values, 3)  # short texts in requests
    return np.clip(values, low, high)


def make_rows(n: int, seed: int = 0, missing: float = 0.05) -> np.ndarray:
    """``n`` rows of the schema's features as the model reads them (float32, categories as codes, NaN
    for missing), a share ``missing`` of the values missing."""
    rng = np.random.default_rng(seed)
    rows = np.column_stack([_column_values(column, n, rng) for column in SCHEMA.features])
    rows[rng.random(rows.shape) < missing] = np.nan
    return rows.astype(np.float32)


def make_labels(rows: np.ndarray, seed: int = 0) -> np.ndarray:
    """0/1 labels from a simple rule: a weighted sum of the features (each scaled to about [0, 1],
    a category by its code, missing as the middle) above its median, a tenth of them flipped."""
    rng = np.random.default_rng(seed + 1)
    scaled = np.empty(rows.shape, dtype=np.float64)
    for index in range(rows.shape[1]):
        values = rows[:, index].astype(np.float64)
        present = values[~np.isnan(values)]
        low, high = (present.min(), present.max()) if present.size else (0.0, 1.0)
        scaled[:, index] = np.nan_to_num((values - low) / ((high - low) or 1.0), nan=0.5)
    score = scaled @ rng.uniform(-1.0, 1.0, rows.shape[1])
    labels = (score > np.median(score)).astype(np.float64)
    flip = rng.random(len(labels)) < 0.1
    labels[flip] = 1.0 - labels[flip]
    return labels


def write_model(model_dir: Path, rounds: int | None = None, seed: int = 0) -> Path:
    """Train the model folder's estimator on synthetic rows and save it as the train step does.

    ``rounds`` sets ``num_round`` and ``seed`` sets ``seed`` where the hyperparameters have them
    (None: the defaults of ``project_model.Hyperparameters``).
    """
    rows = make_rows(400, seed).astype(np.float64)
    labels = make_labels(rows, seed)
    names = list(FEATURES)
    train = Dataset(rows[:300], labels[:300], names)
    validation = Dataset(rows[300:], labels[300:], names)
    defaults = project_model.Hyperparameters()
    known = {field.name for field in dataclasses.fields(defaults)}
    overrides = {"num_round": rounds, "seed": seed}
    hyperparameters = dataclasses.replace(
        defaults, **{k: v for k, v in overrides.items() if k in known and v is not None}
    )
    fitted = project_model.fit(train, validation, hyperparameters, None)
    artifact.save(
        model_dir,
        fitted.estimator,
        features=names,
        categories=CATEGORIES,
        label=SCHEMA.label,
        threshold=0.5,
        info=fitted.info,
    )
    return model_dir


# --- requests --------------------------------------------------------------------------------------------


def _text(value: float, categories: Sequence[str] | None) -> str:
    if math.isnan(value):
        return ""
    if categories is not None:
        return categories[int(value)]
    return str(np.float32(value))  # the shortest text that reads back as this float32


def to_fields(rows: np.ndarray) -> list[list[str]]:
    """Rows as clients send them: categories as their text, numbers as text, missing as empty."""
    columns = [CATEGORIES.get(name) for name in FEATURES]
    return [
        [_text(float(value), categories) for value, categories in zip(row, columns, strict=True)]
        for row in rows
    ]


def csv_body(rows: np.ndarray) -> bytes:
    """A text/csv request body: one line per row, no header."""
    return "".join(",".join(fields) + "\n" for fields in to_fields(rows)).encode()


def instances(rows: np.ndarray) -> list[dict[str, object]]:
    """JSON instances by feature name (a missing value left out, categories as text)."""
    out = []
    for fields in to_fields(rows):
        instance: dict[str, object] = {}
        for name, field in zip(FEATURES, fields, strict=True):
            if field:
                instance[name] = field if name in CATEGORIES else float(field)
        out.append(instance)
    return out


def json_body(rows: np.ndarray) -> bytes:
    """An application/json request body: ``{"instances": [{"<feature>": value, ...}, ...]}``."""
    return orjson.dumps({"instances": instances(rows)})


def csv_line(seed: int = 0) -> bytes:
    """One complete CSV row (no missing value, no newline): the body of a one-row request."""
    return csv_body(make_rows(1, seed, missing=0.0)).rstrip(b"\n")


def parse(body: bytes, content_type: str = codec.CSV) -> np.ndarray:
    """A request body as the server reads it: the rows the model scores."""
    return codec.parse(content_type, body, FEATURES, codec.codes_of(CATEGORIES))
