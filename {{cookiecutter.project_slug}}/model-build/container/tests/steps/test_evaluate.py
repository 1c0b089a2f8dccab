"""The evaluate step: evaluation.json in Model Monitor's model-quality shape, the HTML report, errors."""

from __future__ import annotations

import base64
import json
import tarfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn import metrics as sk
from step_helpers import assert_one_line_error, labels_and_scores, place

import project_model
from model_container import artifact, evaluate, examples, quality_constraints
from model_container.data import Dataset, write_channel
from model_container.entrypoint import StepError
from model_container.serve import codec
from project_model import Fitted

SCALARS = (
    "auc",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "true_positive_rate",
    "true_negative_rate",
    "false_positive_rate",
    "false_negative_rate",
)


def test_evaluation_json_shape_and_values(
    opt_ml: Path, model_archive: Path, splits: dict[str, Dataset], trained: Fitted
) -> None:
    place(model_archive, opt_ml)
    test = splits["test"]
    write_channel(opt_ml / "processing" / "test" / "test.csv", test)
    assert evaluate.main([]) == 0

    out = opt_ml / "processing" / "evaluation"
    report = json.loads((out / "evaluation.json").read_text())
    metrics = report["binary_classification_metrics"]
    assert set(metrics) == {
        *SCALARS,
        "confusion_matrix",
        "receiver_operating_characteristic_curve",
        "precision_recall_curve",
    }
    for name in SCALARS:
        assert set(metrics[name]) == {"value", "standard_deviation"}
        assert metrics[name]["standard_deviation"] == "NaN"  # Model Monitor: only from 200 rows on

    scores = project_model.predict(trained.estimator, test.features)
    predicted = scores >= 0.5
    assert metrics["auc"]["value"] == pytest.approx(sk.roc_auc_score(test.labels, scores))
    assert metrics["accuracy"]["value"] == pytest.approx(sk.accuracy_score(test.labels, predicted))
    assert metrics["f1"]["value"] == pytest.approx(sk.f1_score(test.labels, predicted))
    (tn, fp), (fn, tp) = sk.confusion_matrix(test.labels, predicted).tolist()
    assert metrics["confusion_matrix"] == {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    roc = metrics["receiver_operating_characteristic_curve"]
    assert set(roc) == {"false_positive_rates", "true_positive_rates"}
    assert roc["false_positive_rates"][0] == 0.0 and roc["true_positive_rates"][-1] == 1.0
    assert set(metrics["precision_recall_curve"]) == {"precisions", "recalls"}
    assert report["dataset"]["item_count"] == len(test)
    # The model-quality monitor's baseline: each headline metric less the slack, must not fall below.
    limits = json.loads((out / "constraints.json").read_text())
    assert limits["monitor"] == {"probability_threshold": 0.5, "slack": quality_constraints.SLACK}
    for name in ("auc", "accuracy", "precision", "recall", "f1"):
        assert limits["binary_classification_constraints"][name] == {
            "threshold": pytest.approx(
                max(0.0, metrics[name]["value"] - quality_constraints.SLACK)
            ),
            "comparison_operator": "LessThanThreshold",
        }
    assert quality_constraints.check(metrics, limits) == []

    html = (out / "report.html").read_text()
    for png in ("roc_curve.png", "precision_recall_curve.png", "confusion_matrix.png"):
        data = (out / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        # Embedded: the page alone shows its plots (downloaded from S3 without the PNG files).
        assert f'src="data:image/png;base64,{base64.b64encode(data).decode()}"' in html
    assert f"{metrics['auc']['value']:.4f}" in html


def test_standard_deviations_from_200_rows_and_thinned_curves() -> None:
    labels, scores = labels_and_scores(3000, seed=1)
    scores = np.round(scores + 0.3 * labels + np.random.default_rng(2).random(3000) * 1e-3, 6)
    report = evaluate.metric_report(labels, scores, 0.5)["binary_classification_metrics"]
    assert (
        isinstance(report["auc"]["standard_deviation"], float)
        and 0 < report["auc"]["standard_deviation"] < 0.05
    )
    assert (
        len(report["receiver_operating_characteristic_curve"]["false_positive_rates"])
        <= evaluate.MAX_CURVE_POINTS
    )
    assert report["auc"]["value"] == pytest.approx(sk.roc_auc_score(labels, scores))


def test_errors_are_one_line(
    opt_ml: Path,
    model_archive: Path,
    splits: dict[str, Dataset],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    write_channel(opt_ml / "processing" / "test" / "test.csv", splits["test"])
    assert evaluate.main([]) == 1
    assert_one_line_error(capsys, opt_ml, "model.tar.gz is missing")

    (opt_ml / "processing" / "model").mkdir(parents=True)
    (opt_ml / "processing" / "model" / "model.tar.gz").write_bytes(b"not a tarball")
    assert evaluate.main([]) == 1
    assert_one_line_error(capsys, opt_ml, "model.tar.gz is not a readable .tar.gz")

    empty = tmp_path / "empty.txt"
    empty.write_text("x")
    with tarfile.open(opt_ml / "processing" / "model" / "model.tar.gz", "w:gz") as tar:
        tar.add(empty, arcname="README")
    assert evaluate.main([]) == 1
    assert_one_line_error(capsys, opt_ml, "has no model-metadata.json")

    place(model_archive, opt_ml)
    only_benign = Dataset(splits["test"].features[:5], np.zeros(5), splits["test"].feature_names)
    write_channel(opt_ml / "processing" / "test" / "test.csv", only_benign)
    assert evaluate.main([]) == 1
    assert_one_line_error(capsys, opt_ml, "the test split has only label 0; AUC needs both 0 and 1")

    names = splits["test"].feature_names
    wide = Dataset(np.ones((4, len(names) + 1)), np.array([0.0, 1, 0, 1]), ["extra", *names])
    write_channel(opt_ml / "processing" / "test" / "test.csv", wide)
    assert evaluate.main([]) == 1
    assert_one_line_error(
        capsys, opt_ml, f"test data has features {['extra', *names]}", f"the model expects {names}"
    )


def test_the_example_requests_are_checked_and_written(
    opt_ml: Path, model_archive: Path, splits: dict[str, Dataset]
) -> None:
    place(model_archive, opt_ml)
    write_channel(opt_ml / "processing" / "test" / "test.csv", splits["test"])
    assert evaluate.main([]) == 0
    written = (opt_ml / "processing" / "evaluation" / "examples.csv").read_text()
    header, *rows = [line for line in written.splitlines() if line]
    packaged_header, *packaged_rows = [x for x in examples.packaged().splitlines() if x.strip()]
    # The model folder's requests as they are, each with this model's score as a last column.
    assert header == f"{packaged_header},expected_score"
    assert [row.rsplit(",", 1)[0] for row in rows] == packaged_rows
    with tarfile.open(model_archive) as tar:
        tar.extractall(opt_ml / "unpacked", filter="data")
    model = artifact.load(opt_ml / "unpacked")
    codes = codec.codes_of(model.spec.categories)
    parsed = codec.parse(codec.CSV, "\n".join(packaged_rows).encode(), model.features, codes)
    scores = [float(row.rsplit(",", 1)[1]) for row in rows]
    assert scores == pytest.approx(model.predict(parsed).tolist(), abs=1e-7)


def _bad_examples(names: list[str]) -> list[tuple[str, str]]:
    """(examples.csv text, the error it must give) for the model's feature names; the valid row is
    the packaged file's first (any model's: categories, strings)."""
    header = ",".join(names)
    swapped = ",".join([names[1], names[0], *names[2:]])
    valid = [line for line in examples.packaged().splitlines() if line.strip()][1]
    last_bad = ",".join([*valid.split(",")[:-1], "?x"])
    return [
        ("", "is empty; expected a header naming the features"),
        (f"{swapped}\n{valid}\n", f"header {swapped!r} must name the model's features in order"),
        (f"{header}\n", "has a header but no rows"),
        (f"{header}\n{valid},1\n", f"row 1 has {len(names) + 1} columns; expected {len(names)}"),
        (f"{header}\n{valid}\n{last_bad}\n", f"row 2, column {len(names)}"),
    ]


def test_bad_example_requests_stop_the_step_in_one_line(
    opt_ml: Path,
    model_archive: Path,
    splits: dict[str, Dataset],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    place(model_archive, opt_ml)
    write_channel(opt_ml / "processing" / "test" / "test.csv", splits["test"])
    for text, error in _bad_examples(splits["test"].feature_names):
        monkeypatch.setattr(examples, "packaged", lambda text=text: text)
        assert evaluate.main([]) == 1, text
        assert_one_line_error(capsys, opt_ml, examples.WHERE, error)
        assert not (opt_ml / "processing" / "evaluation" / "evaluation.json").exists()


def test_a_feature_named_like_the_expected_score_column_is_refused() -> None:
    model = SimpleNamespace(features=["age", examples.SCORE_COLUMN])
    with pytest.raises(StepError, match=r"^feature 'expected_score': the name is reserved for"):
        examples.check(f"age,{examples.SCORE_COLUMN}\n1,2\n", model)  # type: ignore[arg-type]
