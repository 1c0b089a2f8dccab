"""Bias drift over a merged capture: the facet read back in the merge's order, the baseline, skips."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

import project_model
from model_container.bias_metrics import POST_TRAINING, BiasConfig, Facet, section
from model_container.columns import Categorical, Numeric
from model_container.monitor.capture import capture_line, capture_record
from model_container.monitor_quality import bias_drift
from project_model import SCHEMA

NUMERIC = next(c for c in SCHEMA.features if isinstance(c, Numeric))


def _row(facet_value: float) -> list[str | float]:
    """A request row: the facet feature at ``facet_value``, a valid value elsewhere (numbers as
    numbers, as a JSON request sends them; CSV writes them with ``:g``)."""
    fields: list[str | float] = []
    for column in SCHEMA.features:
        if column.name == NUMERIC.name:
            fields.append(facet_value)
        elif isinstance(column, Categorical):
            fields.append(column.categories[0])
        else:
            fields.append(max(column.low, 0.0) if column.low > -1e300 else 0.0)
    return fields


def _csv(values: list[str | float]) -> str:
    return ",".join(v if isinstance(v, str) else f"{v:g}" for v in values)


def _merged(tmp_path: Path, requests: list[list[float]], json_at: int) -> Path:
    """A merged file of one record per request (``json_at``: that one as a JSON payload)."""
    lines = []
    for number, values in enumerate(requests):
        if number == json_at:
            body = json.dumps({"instances": [_row(v) for v in values]}).encode()
            kind = "application/json"
        else:
            body = "\n".join(_csv(_row(v)) for v in values).encode()
            kind = "text/csv"
        scores = "\n".join("0.9" for _ in values).encode()
        record = capture_record(
            request=body,
            request_content_type=kind,
            response=scores,
            response_content_type="text/csv",
        )
        record["groundTruthData"] = {"data": "1", "encoding": "CSV"}
        lines.append(capture_line(record))
    path = tmp_path / "merged.jsonl"
    path.write_text("".join(lines))
    return path


def _args(folder: Path) -> argparse.Namespace:
    return argparse.Namespace(model_package_group=None, baseline_dir=folder, region=None)


def test_facet_column_keeps_the_merge_order_across_payload_kinds(tmp_path: Path) -> None:
    low, high = max(NUMERIC.low, 0.0), min(NUMERIC.high, 1e6)
    requests = [[high, low], [low], [high, high, low]]
    path = _merged(tmp_path, requests, json_at=1)
    with path.open("rb") as merged:
        column = bias_drift.facet_column(merged, NUMERIC.name)
    assert column.tolist() == [high, low, low, high, high, low]


def test_check_writes_violations_against_the_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    low, high = max(NUMERIC.low, 0.0), min(NUMERIC.high, 1e6)
    facet = Facet(NUMERIC.name, threshold=(low + high) / 2)  # high is above it, low is not
    monkeypatch.setattr(project_model, "BIAS", BiasConfig(facet, SCHEMA.positive))
    path = _merged(tmp_path, [[high, high], [low, low]], json_at=-1)
    labels = np.array([1.0, 1.0, 1.0, 1.0])
    scores = np.array([0.9, 0.9, 0.1, 0.1])  # facet d always predicted 1, facet a never: DPPL -1
    values = dict.fromkeys((m.name for m in POST_TRAINING), 0.0) | {"DPPL": 0.0, "DI": 1.0}
    baseline = {
        "version": "1.0",
        "post_training_bias_metrics": section(
            POST_TRAINING, values, label=SCHEMA.label, positive_label=SCHEMA.positive, facet=facet
        ),
    }
    (tmp_path / bias_drift.BASELINE_FILE).write_text(json.dumps(baseline))
    document, source = bias_drift.check(path, labels, scores, 0.5, _args(tmp_path))
    assert source == str(tmp_path / bias_drift.BASELINE_FILE)
    assert document is not None
    # DI is undefined (no predicted positive in facet a): only DPPL is judged.
    assert [v["metric_name"] for v in document["violations"]] == ["DPPL"]


def test_check_is_skipped_without_a_facet_or_a_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _merged(tmp_path, [[1.0]], json_at=-1)
    labels, scores = np.array([1.0]), np.array([0.9])
    monkeypatch.setattr(project_model, "BIAS", None)
    assert bias_drift.check(path, labels, scores, 0.5, _args(tmp_path)) == (
        None,
        "no facet configured (project_model.BIAS is None)",
    )
    monkeypatch.setattr(
        project_model, "BIAS", BiasConfig(Facet(NUMERIC.name, threshold=1), SCHEMA.positive)
    )
    document, reason = bias_drift.check(path, labels, scores, 0.5, _args(tmp_path))
    assert document is None and reason.startswith("no bias baseline: no ")
