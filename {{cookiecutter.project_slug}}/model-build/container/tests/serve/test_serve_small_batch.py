"""The small-batch path: the server uses the model folder's scorer (``project_model.small_batch``) for
requests of a few rows only where it reproduces the estimator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from serve_fixtures import make_rows

import project_model
from model_container import artifact
from model_container.serve.model import SMALL_BATCH_ROWS, Model, load_model


def estimator_scores(model_dir: Path, rows: np.ndarray) -> np.ndarray:
    """What the estimator itself says, loaded afresh (not the server's model)."""
    return np.asarray(artifact.load(model_dir).predict(rows), dtype=np.float32)


def one_by_one(model: Model, rows: np.ndarray) -> np.ndarray:
    return np.concatenate([model.predict(rows[i : i + 1]) for i in range(len(rows))])


def offer(monkeypatch: pytest.MonkeyPatch, make: Callable[[object], object]) -> None:
    """Make the model folder's ``small_batch`` return ``make(estimator)``."""
    monkeypatch.setattr(project_model, "small_batch", make)


def test_the_model_folders_scorer_is_used_when_it_offers_one(model: Model) -> None:
    offered = project_model.small_batch(model.loaded.estimator)
    # Offered: it must reproduce the estimator on the probe rows, or the server drops it.
    assert (model.small_batch is not None) == (offered is not None)


def test_one_row_requests_equal_the_estimator_within_1e6(model: Model, model_dir: Path) -> None:
    rows = make_rows(2000, seed=11)  # about 5 % missing values
    rows[:50] = np.nan  # all missing: every default branch
    scores = one_by_one(model, rows)
    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, estimator_scores(model_dir, rows), rtol=0, atol=1e-6)


def test_every_batch_size_equals_the_estimator_within_1e6(model: Model, model_dir: Path) -> None:
    rows = make_rows(64, seed=12)
    expected = estimator_scores(model_dir, rows)
    for n in range(1, 2 * SMALL_BATCH_ROWS + 2):
        np.testing.assert_allclose(model.predict(rows[:n]), expected[:n], rtol=0, atol=1e-6)


def test_only_small_batches_go_to_the_scorer(model: Model) -> None:
    sizes: list[int] = []

    def recording(rows: np.ndarray) -> np.ndarray:
        sizes.append(len(rows))
        return model.predict_full(rows)

    served = Model(model.loaded, small_batch=recording)
    rows = make_rows(SMALL_BATCH_ROWS + 1, seed=14)
    for n in (1, SMALL_BATCH_ROWS, SMALL_BATCH_ROWS + 1):
        assert served.predict(rows[:n]).shape == (n,)
    assert sizes == [1, SMALL_BATCH_ROWS]


def test_an_agreeing_scorer_is_used(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    offer(monkeypatch, lambda estimator: lambda rows: project_model.predict(estimator, rows))
    assert load_model(model_dir).small_batch is not None


def test_no_scorer_when_the_model_folder_offers_none(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offer(monkeypatch, lambda estimator: None)
    model = load_model(model_dir)
    assert model.small_batch is None
    rows = make_rows(3, seed=15)
    np.testing.assert_array_equal(model.predict(rows), estimator_scores(model_dir, rows))


def test_the_scorer_is_off_when_it_disagrees_with_the_estimator(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def off_by_a_little(estimator: object) -> Callable[[np.ndarray], np.ndarray]:
        return lambda rows: project_model.predict(estimator, rows) + np.float32(1e-5)

    offer(monkeypatch, off_by_a_little)
    model = load_model(model_dir)
    assert model.small_batch is None
    rows = make_rows(3, seed=15)
    np.testing.assert_array_equal(model.predict(rows), estimator_scores(model_dir, rows))


def test_the_scorer_is_off_when_it_gives_nan(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offer(monkeypatch, lambda estimator: lambda rows: np.full(len(rows), np.nan, np.float32))
    assert load_model(model_dir).small_batch is None


def test_the_scorer_is_off_when_it_fails_on_the_probe_rows(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(rows: np.ndarray) -> np.ndarray:
        raise ValueError("cannot score these")

    offer(monkeypatch, lambda estimator: failing)
    assert load_model(model_dir).small_batch is None
