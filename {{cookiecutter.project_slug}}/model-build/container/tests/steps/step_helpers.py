"""Helpers shared by the step-code tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from model_container import artifact
from model_container.columns import Categorical, Column, Schema
from project_model import SCHEMA, Fitted


def place(archive: Path, opt_ml: Path) -> None:
    """Put a model archive where processing steps read it."""
    target = opt_ml / "processing" / "model"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(archive, target / "model.tar.gz")


def failure_text(opt_ml: Path, training: bool = False) -> str:
    path = opt_ml / "output" / ("failure" if training else "message")
    return path.read_text(encoding="utf-8").strip()


def assert_one_line_error(
    capsys: pytest.CaptureFixture[str], opt_ml: Path, *fragments: str, training: bool = False
) -> None:
    """The failure is one line on stderr, the same text in the failure file, and no traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    message = failure_text(opt_ml, training)
    assert lines[0] == f"error: {message}"
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def labels_and_scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n).astype(float)
    labels[:2] = (0.0, 1.0)
    return labels, np.round(rng.random(n), 2)


def save_model(folder: Path, fitted: Fitted, features: list[str], threshold: float = 0.5) -> None:
    """Write the model artifact as the train step does."""
    categories = SCHEMA.categories()
    artifact.save(
        folder,
        fitted.estimator,
        features=features,
        categories={name: categories[name] for name in features if name in categories},
        label=SCHEMA.label,
        threshold=threshold,
        info=fitted.info,
    )


def valid_text(column: Column) -> str:
    """A valid field of ``column`` as the raw files hold it: a category's text, or a number in range."""
    if isinstance(column, Categorical):
        return column.categories[0]
    if math.isfinite(column.low):
        value = math.ceil(column.low) if column.whole else column.low
    elif math.isfinite(column.high):
        value = min(math.floor(column.high) if column.whole else column.high, 0.0)
    else:
        value = 0.0
    return f"{value:g}"


def schema_line(schema: Schema, **values: str) -> str:
    """A raw line of ``schema``'s columns: ``values`` by name, the positive label and a valid value
    for the rest."""
    fields = []
    for column in schema.columns:
        if column.name in values:
            fields.append(values[column.name])
        elif column.name == schema.label:
            fields.append(schema.positive)
        else:
            fields.append(valid_text(column))
    return ",".join(fields) + "\n"


def raw_line(**values: str) -> str:
    """A raw line of the model's SCHEMA: ``values`` by name, a valid value for the rest."""
    return schema_line(SCHEMA, **values)


def not_a_value(column: Column) -> tuple[str, str]:
    """A field ``column`` rejects, and the start of the reason a reader gives."""
    kind = "category" if isinstance(column, Categorical) else "number"
    return "sixty", f"{column.name}: 'sixty' is not a {kind}"
