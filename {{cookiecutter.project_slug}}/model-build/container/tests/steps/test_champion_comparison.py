"""The quality gate's champion comparison: tolerances, modes, and the evaluate step scoring both."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from step_helpers import assert_one_line_error, place, save_model

from model_container import comparison, evaluate
from model_container.data import Dataset, write_channel
from project_model import Fitted, Hyperparameters, fit

CHAMPION = {"model_package_arn": "arn:aws:sagemaker:r:1:model-package/g/1", "auc": 0.9}


def compare(candidate: float, mode: str = "enforce", **tolerances: float) -> dict[str, object]:
    settings = {"absolute": 0.01, "relative": 0.02, **tolerances}
    return comparison.compare(candidate, dict(CHAMPION), mode=mode, **settings)


def test_both_tolerances_bound_the_drop() -> None:
    # 0.9 - min(0.01, 0.02 * 0.9) = 0.89: the absolute tolerance binds here...
    assert compare(0.89)["gate"] == "pass"
    assert compare(0.8899)["gate"] == "fail"
    # ...and the relative one when it is the smaller: 0.9 - 0.05 * 0.9 -> 0.855 vs 0.9 - 0.1.
    assert compare(0.86, absolute=0.1, relative=0.05)["gate"] == "pass"
    assert compare(0.85, absolute=0.1, relative=0.05)["gate"] == "fail"
    # A zero tolerance allows no drop at all; an equal (retrained, same data) model passes.
    assert compare(0.9, absolute=0.0)["gate"] == "pass"
    assert compare(0.8999, absolute=0.0)["gate"] == "fail"
    assert compare(0.95)["gate"] == "pass"


def test_the_failure_names_both_scores_and_report_mode_registers() -> None:
    failed = compare(0.85)
    assert failed["within_tolerance"] is False
    assert (failed["candidate_auc"], failed["auc"], failed["minimum_auc"]) == (0.85, 0.9, 0.89)
    assert "candidate AUC 0.8500, champion AUC 0.9000" in str(failed["message"])
    assert failed["reason"] == (
        "0.0500 below it, at most 0.0100 allowed (absolute 0.01, relative 0.02); "
        "champion arn:aws:sagemaker:r:1:model-package/g/1"
    )
    reported = compare(0.85, mode="report")
    assert reported["gate"] == "pass" and reported["within_tolerance"] is False
    assert str(reported["message"]).endswith("registered anyway (ChampionComparison=report)")


def test_no_champion_or_off_leaves_the_threshold_alone() -> None:
    first = comparison.compare(0.7, None, mode="enforce", absolute=0.01, relative=0.02)
    assert first["gate"] == "pass" and first["auc"] is None
    assert "no approved model" in str(first["message"])
    off = comparison.compare(0.1, dict(CHAMPION), mode="off", absolute=0.01, relative=0.02)
    assert off["gate"] == "pass" and off["auc"] is None
    other = comparison.compare(
        0.1, {**CHAMPION, "auc": None, "features": ["a"]}, mode="enforce", absolute=0, relative=0
    )
    assert other["gate"] == "pass" and "expects other features (a)" in str(other["message"])


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (
            ["--champion-comparison", "strict"],
            "champion comparison 'strict' is not allowed; allowed: off, report, enforce",
        ),
        (
            ["--absolute-tolerance", "-0.1"],
            "tolerance '-0.1' is not allowed; allowed: a number from 0 up",
        ),
        (["--relative-tolerance", "nan"], "tolerance 'nan' is not allowed"),
    ],
)
def test_bad_settings_are_one_line(
    argv: list[str], fragment: str, opt_ml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert evaluate.main(argv) == 1
    assert_one_line_error(capsys, opt_ml, fragment)


def archive_of(fitted: Fitted, features: list[str], folder: Path) -> Path:
    save_model(folder, fitted, features)
    archive = folder / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.iterdir()):
            if path != archive:
                tar.add(path, arcname=path.name)
    return archive


def place_champion(opt_ml: Path, archive: Path | None) -> None:
    folder = opt_ml / "processing" / "champion"
    folder.mkdir(parents=True)
    arn = CHAMPION["model_package_arn"] if archive else None
    document = {"model_package_arn": arn, "model_package_version": 1, "model_data_url": None}
    (folder / "champion.json").write_text(json.dumps(document))
    if archive:
        shutil.copy(archive, folder / "model.tar.gz")


def test_evaluate_scores_the_champion_on_the_same_rows(
    opt_ml: Path,
    model_archive: Path,
    splits: dict[str, Dataset],
    trained: Fitted,
    tmp_path: Path,
) -> None:
    # The candidate: a deliberately weak model (trained on shuffled labels, whatever the model is);
    # the champion: the one trained on the real labels.
    train = splits["train"]
    shuffled = np.random.default_rng(0).permutation(train.labels)
    weak = fit(
        Dataset(train.features, shuffled, train.feature_names),
        splits["validation"],
        Hyperparameters(),
    )
    place(archive_of(weak, splits["train"].feature_names, tmp_path / "weak"), opt_ml)
    write_channel(opt_ml / "processing" / "test" / "test.csv", splits["test"])
    place_champion(opt_ml, model_archive)
    assert evaluate.main(["--champion-comparison", "enforce", "--absolute-tolerance", "0.01"]) == 0
    out = opt_ml / "processing" / "evaluation"
    report = json.loads((out / "evaluation.json").read_text())
    section = report["champion"]
    candidate = report["binary_classification_metrics"]["auc"]["value"]
    assert section["candidate_auc"] == round(candidate, 6)
    assert section["auc"] > candidate + 0.01  # the champion scored on the same test split
    assert section["gate"] == "fail" and section["model_package_version"] == 1
    assert "gate fail" in (out / "report.html").read_text()


def test_evaluate_without_a_champion(
    opt_ml: Path, model_archive: Path, splits: dict[str, Dataset]
) -> None:
    place(model_archive, opt_ml)
    write_channel(opt_ml / "processing" / "test" / "test.csv", splits["test"])
    place_champion(opt_ml, None)
    assert evaluate.main(["--champion-comparison", "enforce"]) == 0
    report = json.loads((opt_ml / "processing" / "evaluation" / "evaluation.json").read_text())
    assert report["champion"]["gate"] == "pass" and report["champion"]["auc"] is None
