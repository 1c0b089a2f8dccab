"""The model-quality job: ground-truth records, Model Monitor's join (inferenceId, else eventId),
metrics and violations in Model Monitor's files, exit statuses, and the constraints' check."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as sk

from model_container.monitor.capture import capture_line, capture_record, hour_folder
from model_container.monitor.reader import folder_files, read_capture
from model_container.monitor.rows import ReadSummary
from model_container.monitor_quality import cli
from model_container.monitor_quality.ground_truth import (
    label_values,
    read_ground_truth,
    write_ground_truth,
)
from model_container.quality_constraints import check, suggest

START = datetime(2026, 1, 1, tzinfo=UTC)


def _world(root: Path, labels: np.ndarray, scores: np.ndarray, flip: float = 0.0) -> list[str]:
    """Captured CSV requests (one row each, scored), every other one with a caller's inference id,
    and ground truth for all but the last request (``flip``: share of labels turned wrong)."""
    rng = np.random.default_rng(0)
    lines: dict[Path, list[str]] = {}
    truth: dict[str, list[float]] = {}
    for i, (label, score) in enumerate(zip(labels, scores, strict=True)):
        when = START + timedelta(minutes=i)
        inference_id = f"caller-{i}" if i % 2 else None
        record = capture_record(
            request=f"{i % 90},1,2,3".encode(),
            request_content_type="text/csv",
            response=f"{score:.6f}\n".encode(),
            response_content_type="text/csv" if i % 3 else "application/json",
            when=when,
            event_id=f"event-{i}",
            inference_id=inference_id,
        )
        if i % 3 == 0:  # the JSON answer the server gives
            record["captureData"]["endpointOutput"]["data"] = json.dumps(
                {"predictions": [{"score": float(score), "label": int(score >= 0.5)}]}
            )
        path = hour_folder(root / "capture", "ep", "AllTraffic", when) / "c.jsonl"
        lines.setdefault(path, []).append(capture_line(record))
        wrong = rng.random() < flip
        if i < len(labels) - 1:
            truth[inference_id or f"event-{i}"] = [float(1 - label if wrong else label)]
    for path, content in lines.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(content))
    write_ground_truth(truth, root / "truth", START + timedelta(days=1))
    return sorted(truth)


@pytest.fixture
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    labels = (rng.random(400) < 0.45).astype(float)
    scores = np.clip(0.5 + (labels - 0.5) * 0.5 + rng.normal(0, 0.2, 400), 0, 1)
    return labels, scores


def _constraints(folder: Path, labels: np.ndarray, scores: np.ndarray) -> Path:
    from model_container.metrics import metric_report  # noqa: PLC0415

    metrics = metric_report(labels, scores, 0.5)["binary_classification_metrics"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "constraints.json").write_text(json.dumps(suggest(metrics, 0.5)))
    return folder


def _run(root: Path, *extra: str) -> int:
    return cli.main(
        [
            "--capture-dir", str(root / "capture"),
            "--ground-truth-dir", str(root / "truth"),
            "--baseline-dir", str(root / "baseline"),
            "--output-dir", str(root / "out"),
            *extra,
        ]
    )  # fmt: skip


def test_good_window_passes_and_files_are_model_monitors(
    tmp_path: Path,
    scored: tuple[np.ndarray, np.ndarray],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SAGEMAKER_PROJECT_NAME", raising=False)  # CodeBuild sets it
    labels, scores = scored
    _world(tmp_path, labels, scores)
    _constraints(tmp_path / "baseline", labels, scores)
    assert _run(tmp_path) == 0

    out = tmp_path / "out"
    statistics = json.loads((out / "statistics.json").read_text())
    metrics = statistics["binary_classification_metrics"]
    # The last request has no ground truth: 399 rows merged, by inferenceId or eventId.
    kept_labels, kept_scores = labels[:-1], np.round(scores[:-1], 6)
    assert statistics["dataset"]["item_count"] == 399
    assert metrics["auc"]["value"] == pytest.approx(sk.roc_auc_score(kept_labels, kept_scores))
    assert metrics["f1"]["value"] == pytest.approx(sk.f1_score(kept_labels, kept_scores >= 0.5))
    assert isinstance(metrics["auc"]["standard_deviation"], float)  # 399 rows: >= 200
    assert statistics["monitor"]["records_without_ground_truth"] == 1
    assert json.loads((out / "constraint_violations.json").read_text()) == {"violations": []}
    published = json.loads((out / "metrics.json").read_text())
    assert published["Namespace"] == "mlops/ModelQuality"
    first = published["MetricData"][0]
    assert (first["MetricName"], first["Value"]) == ("ModelQualityViolations", 0.0)
    assert first["Dimensions"] == [{"Name": "Endpoint", "Value": "ep"}]
    assert "0 violations" in capsys.readouterr().out

    # The merged records stay capture records (features readable by the drift monitor's reader).
    merged = (out / "merged" / "part-00000.jsonl").read_text().splitlines()
    assert len(merged) == 399
    assert json.loads(merged[0])["groundTruthData"]["encoding"] == "CSV"
    summary = ReadSummary()
    rows = np.vstack([c.values for c in read_capture(out / "merged", list("abcd"), summary)])
    assert rows.shape == (399, 4) and summary.unreadable == 0


def test_quality_drop_fails_with_status_2_naming_the_metrics(
    tmp_path: Path, scored: tuple[np.ndarray, np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    labels, scores = scored
    _world(tmp_path, labels, scores, flip=0.35)
    _constraints(tmp_path / "baseline", labels, scores)
    assert _run(tmp_path) == 2
    violations = json.loads((tmp_path / "out" / "constraint_violations.json").read_text())
    names = {v["metric_name"] for v in violations["violations"]}
    assert {"auc", "accuracy"} <= names
    for violation in violations["violations"]:
        assert violation["constraint_check_type"] == "LessThanThreshold"
        assert violation["description"].startswith(f"Metric {violation['metric_name']} with ")
    assert "model-quality constraint violations" in capsys.readouterr().err
    # The report: every constrained metric a row, the violated ones marked, three embedded plots
    # (tests/browser.py opens the page a local run writes in Chromium).
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count('<img src="data:image/png;base64,') == 3
    for name in ("auc", "accuracy", "precision", "recall", "f1"):
        state = "violation" if name in names else "met"
        assert f'<tr class="{state}"><th>{name}</th>' in page
    assert _run(tmp_path, "--violation-status", "0") == 0


def test_window_and_join_rules(tmp_path: Path, scored: tuple[np.ndarray, np.ndarray]) -> None:
    labels, scores = scored
    _world(tmp_path, labels, scores)
    _constraints(tmp_path / "baseline", labels, scores)
    # The first two hours only: 120 requests, all with ground truth.
    assert _run(tmp_path, "--start", "2026-01-01T00:00:00Z", "--end", "2026-01-01T02:00:00Z") == 0
    statistics = json.loads((tmp_path / "out" / "statistics.json").read_text())
    assert statistics["dataset"]["item_count"] == 120
    # A caller's inferenceId takes precedence: ground truth filed under the eventId does not join.
    truth = tmp_path / "truth"
    for path in truth.rglob("*.jsonl"):
        path.write_text(path.read_text().replace('"caller-', '"event-'))
    assert _run(tmp_path) == 0
    statistics = json.loads((tmp_path / "out" / "statistics.json").read_text())
    assert statistics["dataset"]["item_count"] == 200  # the even requests: no inferenceId


def test_errors_are_one_line(
    tmp_path: Path, scored: tuple[np.ndarray, np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    labels, scores = scored
    _world(tmp_path, labels, scores)
    assert _run(tmp_path) == 1
    assert "constraints file" in capsys.readouterr().err
    _constraints(tmp_path / "baseline", labels, scores)
    for path in (tmp_path / "truth").rglob("*.jsonl"):
        path.write_text('{"groundTruthData": {"data": "1", "encoding": "CSV"}, '
                        '"eventMetadata": {"eventId": "nobody"}, "eventVersion": "0"}\n')  # fmt: skip
    assert _run(tmp_path) == 1
    err = capsys.readouterr().err
    assert "no captured prediction has ground truth" in err and len(err.strip().splitlines()) == 1
    # A schedule that runs before any labels arrive: skipped, exit 0, nothing published.
    assert _run(tmp_path, "--without-ground-truth", "skip", "--publish-metrics") == 0
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["rows"] == 0


def test_ground_truth_records_round_trip(tmp_path: Path) -> None:
    path = write_ground_truth({"a": [1], "b": [0, 1]}, tmp_path, START)
    assert path.relative_to(tmp_path).as_posix() == "2026/01/01/00/labels.jsonl"
    assert json.loads(path.read_text().splitlines()[0]) == {
        "groundTruthData": {"data": "1", "encoding": "CSV"},
        "eventMetadata": {"eventId": "a"},
        "eventVersion": "0",
    }
    summary = ReadSummary()
    found = read_ground_truth(folder_files([path]), summary)
    assert found == {"a": "1", "b": "0\n1"}  # CSV records keep their text
    assert {key: label_values(value) for key, value in found.items()} == {
        "a": [1.0],
        "b": [0.0, 1.0],
    }
    assert label_values("[1, 0]", "JSON") == [1.0, 0.0]
    assert label_values("MQ==", "BASE64") == [1.0]
    with pytest.raises(ValueError, match="label '2' is not 0 or 1"):
        label_values("2", "CSV")


@pytest.mark.parametrize(
    ("operator", "value", "violated"),
    [
        ("LessThanThreshold", 0.7, True),
        ("LessThanThreshold", 0.8, False),
        ("LessThanOrEqualToThreshold", 0.8, True),
        ("GreaterThanThreshold", 0.9, True),
        ("GreaterThanOrEqualToThreshold", 0.8, True),
        ("GreaterThanThreshold", 0.8, False),
    ],
)
def test_comparison_operators(operator: str, value: float, violated: bool) -> None:
    limits = {
        "binary_classification_constraints": {
            "auc": {"threshold": 0.8, "comparison_operator": operator}
        }
    }
    assert bool(check({"auc": {"value": value}}, limits)) is violated


def test_bad_constraints_are_named() -> None:
    with pytest.raises(ValueError, match="comparison_operator 'Below' of 'auc' is not one of"):
        check(
            {"auc": {"value": 1}},
            {
                "binary_classification_constraints": {
                    "auc": {"threshold": 1, "comparison_operator": "Below"}
                }
            },
        )
    with pytest.raises(ValueError, match="metric 'gini' is not one the job computes"):
        check(
            {},
            {
                "binary_classification_constraints": {
                    "gini": {"threshold": 1, "comparison_operator": "LessThanThreshold"}
                }
            },
        )


def test_shipped_sample_is_what_the_generator_makes(tmp_path: Path) -> None:
    """The data folder's labelled sample (``make local-monitor-quality``) is its script's output."""
    shipped = Path(__file__).resolve().parents[3] / "data" / "quality"
    spec = importlib.util.spec_from_file_location("make_quality", shipped / "make_quality.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main([str(tmp_path)])
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.jsonl"))
    assert made == sorted(p.relative_to(shipped) for p in shipped.rglob("*.jsonl"))
    for path in made:
        assert (tmp_path / path).read_bytes() == (shipped / path).read_bytes(), path
    # 300 requests, half joined by the caller's inference id; the drop labels differ for about 1/3.
    truth = {
        name: read_ground_truth(
            folder_files(sorted((tmp_path / "ground-truth" / name).rglob("*.jsonl"))), ReadSummary()
        )
        for name in ("normal", "drop")
    }
    assert len(truth["normal"]) == 300
    assert sum(key.startswith("request-") for key in truth["normal"]) == 150
    turned = sum(truth["normal"][key] != truth["drop"][key] for key in truth["normal"])
    assert 0.25 < turned / 300 < 0.45


def test_other_record_forms_and_bad_lines(tmp_path: Path) -> None:
    """Several rows per request, JSON-lines answers, and lines that cannot be merged (counted)."""
    from model_container.monitor_quality.merge import MergeSummary, merge  # noqa: PLC0415

    two_rows = capture_record(
        request=b"1,2,3,4\n5,6,7,8", request_content_type="text/csv",
        response=b"0.9\n0.2\n", response_content_type="text/csv", event_id="two",
    )  # fmt: skip
    lines_answer = capture_record(
        request=b"1,2,3,4", request_content_type="text/csv",
        response=b'{"score":0.7,"label":1}\n', response_content_type="application/jsonlines",
        event_id="jl", csv_content_types=(), json_content_types=(),
    )  # fmt: skip
    no_answer = capture_record(request=b"1,2,3,4", request_content_type="text/csv", event_id="na")
    wrong_count = capture_record(
        request=b"1,2,3,4", request_content_type="text/csv",
        response=b"0.1\n", response_content_type="text/csv", event_id="wc",
    )  # fmt: skip
    text = "".join(map(capture_line, (two_rows, lines_answer, no_answer, wrong_count)))
    summary = MergeSummary()
    truth = {"two": "1\n0", "jl": ("MQ==", "BASE64"), "na": "1", "wc": "1\n1"}
    rows = merge(
        [("c.jsonl", [b"not json\n", b"\n", *(line.encode() for line in text.splitlines())])],
        truth,
        summary,
    )
    labels, scores = rows.labels, rows.scores
    assert rows.facet is None  # no facet asked for
    assert labels.tolist() == [1.0, 0.0, 1.0] and scores.tolist() == [0.9, 0.2, 0.7]
    assert (summary.matched, summary.mismatched, summary.capture.unreadable) == (2, 1, 2)
    assert summary.capture.records == 3  # the readable ones: two merged, one with too few labels
    assert "no captureData.endpointOutput" in summary.capture.examples[1]


def test_the_bias_baseline_of_the_approved_package() -> None:
    """DriftCheckBaselines.Bias.PostTrainingConstraints first, else ModelMetrics' report (packages
    registered before the drift baseline was), else none (the check is skipped, with the reason)."""
    from model_container import registry  # noqa: PLC0415

    def source(uri: str) -> dict:
        return {"S3Uri": uri, "ContentType": "application/json"}

    package: dict = {"ModelPackageArn": "arn:p"}
    assert registry.bias_baseline_uri(package) is None
    package["ModelMetrics"] = {"Bias": {"PostTrainingReport": source("s3://b/report.json")}}
    assert registry.bias_baseline_uri(package) == "s3://b/report.json"
    package["DriftCheckBaselines"] = {
        "Bias": {
            "PreTrainingConstraints": source("s3://b/pre.json"),
            "PostTrainingConstraints": source("s3://b/drift.json"),
        }
    }
    assert registry.bias_baseline_uri(package) == "s3://b/drift.json"


def test_constraints_of_the_approved_package() -> None:
    """DriftCheckBaselines.ModelQuality first (what the job checks against), else ModelMetrics."""
    from model_container import registry  # noqa: PLC0415
    from model_container.entrypoint import StepError  # noqa: PLC0415

    def section(uri: str) -> dict:
        return {"ModelQuality": {"Constraints": {"S3Uri": uri, "ContentType": "application/json"}}}

    package = {"ModelPackageArn": "arn:p", "ModelMetrics": section("s3://b/metrics.json")}
    assert registry.quality_constraints_uri(package) == "s3://b/metrics.json"
    package["DriftCheckBaselines"] = section("s3://b/drift.json")
    assert registry.quality_constraints_uri(package) == "s3://b/drift.json"
    with pytest.raises(StepError, match=r"arn:p has no DriftCheckBaselines\.ModelQuality"):
        registry.quality_constraints_uri({"ModelPackageArn": "arn:p"})
