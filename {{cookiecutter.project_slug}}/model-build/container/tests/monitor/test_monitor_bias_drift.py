"""Bias drift of a model-quality window: the facet read during the merge, in its order; the baseline; skips."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

import project_model
from model_container.bias_metrics import POST_TRAINING, BiasConfig, Facet, section
from model_container.columns import Categorical, Numeric, category_codes
from model_container.monitor.capture import capture_line, capture_record
from model_container.monitor_quality import bias_drift
from model_container.monitor_quality.facet import FacetField
from model_container.monitor_quality.merge import MergeSummary, merge
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


def _capture(requests: list[list[float]], json_at: int) -> tuple[list[bytes], dict[str, str]]:
    """Captured lines, one record per request (``json_at``: that one as a JSON payload), and the
    ground truth of each (label 1 for every row)."""
    lines, truth = [], {}
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
            event_id=f"r{number}",
        )
        lines.append(capture_line(record).encode())
        truth[f"r{number}"] = "\n".join("1" for _ in values)
    return lines, truth


def _field(name: str) -> FacetField:
    features = tuple(SCHEMA.feature_names)
    codes = {n: category_codes(values) for n, values in SCHEMA.categories().items()}
    return FacetField(features, features.index(name), codes)


def _facet(lines: list[bytes], truth: dict[str, str], name: str) -> np.ndarray:
    rows = merge([("c.jsonl", lines)], truth, MergeSummary(), facet=_field(name))
    assert rows.facet is not None and len(rows.facet) == len(rows.labels)
    return rows.facet


def _args(folder: Path) -> argparse.Namespace:
    return argparse.Namespace(model_package_group=None, baseline_dir=folder, region=None)


def test_the_merge_reads_the_facet_in_its_order_across_payload_kinds() -> None:
    low, high = max(NUMERIC.low, 0.0), min(NUMERIC.high, 1e6)
    lines, truth = _capture([[high, low], [low], [high, high, low], [low]], json_at=1)
    assert _facet(lines, truth, NUMERIC.name).tolist() == [high, low, low, high, high, low, low]


def _line(body: str, event_id: str) -> bytes:
    record = capture_record(
        request=body.encode(),
        request_content_type="text/csv",
        response=b"0.9",
        response_content_type="text/csv",
        event_id=event_id,
    )
    return capture_line(record).encode()


def test_every_request_form_reads_as_the_drift_monitor_reads_it() -> None:
    """The one-split fast path and the reader agree; what the reader drops is NaN."""
    low = max(NUMERIC.low, 0.0)
    fields = _csv(_row(low)).split(",")
    index = SCHEMA.feature_names.index(NUMERIC.name)
    quoted = [f'"{field}"' if i == index else field for i, field in enumerate(fields)]
    lines = [
        _line(",".join(fields), "plain"),
        _line(",".join(quoted), "quoted"),  # the fast path's float() fails; the reader reads it
        _line(",".join([*fields, "1"]), "long"),  # another width: the reader drops the row
        _line(",".join([*fields[:index], "", *fields[index + 1 :]]), "empty"),  # missing
    ]
    truth = dict.fromkeys(("plain", "quoted", "long", "empty"), "1")
    facet = _facet(lines, truth, NUMERIC.name)
    assert facet[:2].tolist() == [low, low]
    assert np.isnan(facet[2]) and np.isnan(facet[3])


def test_a_categorical_facet_is_its_code() -> None:
    """Read by its code; spaces and quotes as the reader normalises them; unknown or missing: NaN."""
    field = FacetField(("Age", "Shape"), 1, {"Shape": {"round": 0.0, "oval": 1.0}})
    bodies = {"a": "40,oval", "b": '41," round "', "c": "42,square", "d": "43,?", "e": "44,round"}
    lines = [_line(body, key) for key, body in bodies.items()]
    rows = merge([("c.jsonl", lines)], dict.fromkeys(bodies, "1"), MergeSummary(), facet=field)
    assert rows.facet is not None
    assert rows.facet[[0, 1, 4]].tolist() == [1.0, 0.0, 0.0]
    assert np.isnan(rows.facet[2]) and np.isnan(rows.facet[3])


def test_check_writes_violations_against_the_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    low, high = max(NUMERIC.low, 0.0), min(NUMERIC.high, 1e6)
    facet = Facet(NUMERIC.name, threshold=(low + high) / 2)  # high is above it, low is not
    monkeypatch.setattr(project_model, "BIAS", BiasConfig(facet, SCHEMA.positive))
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
    plan, source = bias_drift.plan(_args(tmp_path))
    assert plan is not None and source == str(tmp_path / bias_drift.BASELINE_FILE)
    assert plan.field.features[plan.field.index] == NUMERIC.name
    document = bias_drift.check(plan, np.array([high, high, low, low]), labels, scores, 0.5)
    # DI is undefined (no predicted positive in facet a): only DPPL is judged.
    assert [v["metric_name"] for v in document["violations"]] == ["DPPL"]


def test_check_is_skipped_without_a_facet_or_a_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(project_model, "BIAS", None)
    assert bias_drift.plan(_args(tmp_path)) == (
        None,
        "no facet configured (project_model.BIAS is None)",
    )
    monkeypatch.setattr(
        project_model, "BIAS", BiasConfig(Facet(NUMERIC.name, threshold=1), SCHEMA.positive)
    )
    plan, reason = bias_drift.plan(_args(tmp_path))
    assert plan is None and reason.startswith("no bias baseline: no ")
