"""Labelled samples of captured traffic for the model-quality job: requests with the scores a
stand-in model answered and the ground truth uploaded for them.

For a data folder's ``quality/make_quality.py`` (shipped samples) and tests. One row per request
(Model Monitor's join gives one ground-truth record per inference), CSV in and out, one minute
apart from ``requests.START``; every other request carries a caller's inference id (joined on it),
the others only their event id. Labels are collected a day later (their hour folder). Scores are
not a trained model's: ``stand_in_scores`` makes a model right about 88 times in 100, so a
sample's outcome does not depend on which model was trained; the drop sample turns ``DROP_SHARE``
of the labels the other way (the world changed: the model's answers no longer fit). Deterministic.
"""

from __future__ import annotations

import argparse
import shutil
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np

from model_container.monitor.capture import capture_line, capture_record, hour_folder
from model_container.monitor.requests import START, values
from model_container.monitor_quality.ground_truth import write_ground_truth

ROWS = 300  # >= 200: Model Monitor's standard deviations need 200 rows
DROP_SHARE = 0.35  # share of labels turned in the drop sample
SEPARATION, NOISE = 1.25, 1.2  # stand-in model: logit = +-SEPARATION + N(0, NOISE)


def stand_in_scores(labels: np.ndarray, seed: int = 7) -> np.ndarray:
    """Scores of a good model (AUC about 0.96, accuracy about 0.88) for ``labels``."""
    rng = np.random.default_rng(seed)
    logits = np.where(labels == 1, SEPARATION, -SEPARATION) + rng.normal(0, NOISE, len(labels))
    return 1 / (1 + np.exp(-logits))


def write_samples(
    features: np.ndarray,
    labels: np.ndarray,
    names: Sequence[str],
    categories: Mapping[str, Sequence[str]],
    folder: Path,
    *,
    endpoint: str = "quality",
) -> None:
    """``folder/capture`` (data capture with responses) and the labels uploaded for it:
    ``folder/ground-truth/normal`` (true labels) and ``folder/ground-truth/drop``."""
    rng = np.random.default_rng(11)
    rows = rng.choice(len(labels), size=min(ROWS, len(labels)), replace=False)
    features, labels = features[rows], labels[rows]
    scores = stand_in_scores(labels)
    turned = rng.random(len(labels)) < DROP_SHARE
    for sub in ("capture", "ground-truth"):
        shutil.rmtree(folder / sub, ignore_errors=True)
    lines: dict[Path, list[str]] = {}
    ids: list[str] = []
    for i, row in enumerate(values(features, names, categories)):
        when = START + timedelta(minutes=i)
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{endpoint}/{i}"))
        inference_id = f"request-{i:04d}" if i % 2 else None
        body = ",".join("" if v is None else v if isinstance(v, str) else f"{v:g}" for v in row)
        record = capture_record(
            request=body.encode(),
            request_content_type="text/csv",
            response=f"{scores[i]:.6f}\n".encode(),
            response_content_type="text/csv",
            when=when,
            event_id=event_id,
            inference_id=inference_id,
        )
        path = hour_folder(folder / "capture", endpoint, "AllTraffic", when) / "requests.jsonl"
        lines.setdefault(path, []).append(capture_line(record))
        ids.append(inference_id or event_id)
    for path, content in lines.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(content), encoding="utf-8")
    labelled = START + timedelta(days=1)
    for name, truth in (("normal", labels), ("drop", np.where(turned, 1 - labels, labels))):
        collected = {key: [float(label)] for key, label in zip(ids, truth, strict=True)}
        write_ground_truth(collected, folder / "ground-truth" / name, labelled)


def sample_command(
    argv: Sequence[str] | None,
    description: str,
    data: Callable[[], tuple[np.ndarray, np.ndarray]],
    names: Sequence[str],
    categories: Mapping[str, Sequence[str]],
) -> None:
    """The command line of ``make_quality.py``: ``<folder>`` writes the samples into it."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    features, labels = data()
    write_samples(features, labels, names, categories, args.folder)
