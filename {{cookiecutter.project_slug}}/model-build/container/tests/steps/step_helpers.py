"""Helpers shared by the step-code tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest


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
