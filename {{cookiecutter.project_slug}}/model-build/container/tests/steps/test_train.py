"""The train entry point: hyperparameters, model files, metric lines, failures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from sklearn.metrics import roc_auc_score
from step_helpers import assert_one_line_error

from model_container import train
from model_container.data import Dataset, write_channel
from model_container.hyperparameters import Hyperparameters
from model_container.steps import StepError


def setup_channels(opt_ml: Path, splits: dict[str, Dataset], *names: str) -> None:
    for name in names:
        write_channel(opt_ml / "input" / "data" / name / f"{name}.csv", splits[name])


def write_config(opt_ml: Path, name: str, value: object) -> None:
    path = opt_ml / "input" / "config" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def test_hyperparameters_parse_sagemaker_strings() -> None:
    parsed = Hyperparameters.from_mapping(
        {
            "max_depth": "4",
            "eta": "0.3",
            "num_round": "50.0",
            "seed": '"7"',
            "sagemaker_program": "x",
            "_tuning_objective_metric": "validation:auc",
        }
    )
    assert (parsed.max_depth, parsed.eta, parsed.num_round, parsed.seed) == (4, 0.3, 50, 7)
    assert Hyperparameters.from_mapping({}) == Hyperparameters()
    defaults = Hyperparameters()
    assert (
        defaults.max_depth,
        defaults.eta,
        defaults.num_round,
        defaults.early_stopping_rounds,
        defaults.monotone,
    ) == (3, 0.1, 100, 20, 1)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"max_depht": "3"}, "unknown hyperparameter 'max_depht'; allowed: max_depth, eta"),
        ({"max_depth": "3.5"}, "hyperparameter max_depth='3.5' is not an integer"),
        ({"monotone": "2"}, "hyperparameter monotone=2 is not allowed; expected 0 or 1"),
        ({"eta": "fast"}, "hyperparameter eta='fast' is not a number"),
        ({"eta": "0"}, "hyperparameter eta=0.0 is not allowed; expected a number in (0, 1]"),
        ({"num_round": "0"}, "num_round=0 is not allowed; expected an integer 1-10000"),
        ({"threshold": "1"}, "threshold=1.0 is not allowed"),
    ],
)
def test_bad_hyperparameters_are_named(raw: dict[str, str], message: str) -> None:
    with pytest.raises(StepError) as error:
        Hyperparameters.from_mapping(raw)
    assert message in str(error.value)


def test_train_writes_the_model_contract(
    opt_ml: Path, splits: dict[str, Dataset], capsys: pytest.CaptureFixture[str]
) -> None:
    setup_channels(opt_ml, splits, "train", "validation")
    write_config(
        opt_ml,
        "hyperparameters.json",
        {"max_depth": "3", "eta": "0.1", "num_round": "100", "seed": "42"},
    )
    write_config(opt_ml, "resourceconfig.json", {"current_host": "algo-1", "hosts": ["algo-1"]})
    assert train.main([]) == 0

    metadata = json.loads((opt_ml / "model" / "model-metadata.json").read_text())
    assert set(metadata) == {
        "format_version",
        "features",
        "label",
        "threshold",
        "xgboost_version",
        "best_iteration",
        "model_file",
    }
    assert (
        metadata["format_version"] == 1
        and metadata["label"] == "Severity"
        and metadata["threshold"] == 0.5
    )
    assert metadata["features"] == ["Age", "Shape", "Margin", "Density"]
    assert metadata["xgboost_version"] == xgb.__version__
    assert metadata["model_file"] == "xgboost-model.json"
    # JSON format, not the legacy binary one.
    json.loads((opt_ml / "model" / "xgboost-model.json").read_text())

    booster = xgb.Booster(model_file=str(opt_ml / "model" / "xgboost-model.json"))
    # Stopped early and kept exactly the trees up to the best round.
    assert booster.num_boosted_rounds() == metadata["best_iteration"] + 1 < 100
    assert booster.feature_names == metadata["features"]
    test = splits["test"]
    scores = booster.predict(xgb.DMatrix(test.features, feature_names=test.feature_names))
    assert roc_auc_score(test.labels, scores) > 0.8

    out = capsys.readouterr().out.splitlines()
    assert out[-2].startswith("train-auc: ") and out[-1].startswith("validation-auc: ")
    assert 0.85 < float(out[-1].split(": ")[1]) <= 1.0
    assert any(line.startswith("[0] train-auc: ") and "validation-auc: " in line for line in out)


def test_without_validation_all_rounds_are_kept(opt_ml: Path, splits: dict[str, Dataset]) -> None:
    setup_channels(opt_ml, splits, "train")
    write_config(opt_ml, "hyperparameters.json", {"num_round": "12"})
    assert train.main([]) == 0
    metadata = json.loads((opt_ml / "model" / "model-metadata.json").read_text())
    assert metadata["best_iteration"] == 11


@pytest.mark.parametrize(
    ("setup", "fragments"),
    [
        ("no-train", ["the train channel", "input/data/train does not exist"]),
        ("bad-hyperparameter", ["unknown hyperparameter 'depth'"]),
        ("bad-json", ["hyperparameters.json is not valid JSON"]),
        (
            "bad-resourceconfig",
            ["resourceconfig.json: current_host 'algo-3' is not in hosts ['algo-1', 'algo-2']"],
        ),
        ("feature-mismatch", ["validation has features", "train has"]),
    ],
)
def test_failures_go_to_the_failure_file(
    opt_ml: Path,
    splits: dict[str, Dataset],
    capsys: pytest.CaptureFixture[str],
    setup: str,
    fragments: list[str],
) -> None:
    if setup != "no-train":
        setup_channels(opt_ml, splits, "train", "validation")
    if setup == "bad-hyperparameter":
        write_config(opt_ml, "hyperparameters.json", {"depth": "3"})
    if setup == "bad-json":
        (opt_ml / "input" / "config").mkdir(parents=True)
        (opt_ml / "input" / "config" / "hyperparameters.json").write_text("{max_depth: 3")
    if setup == "bad-resourceconfig":
        write_config(
            opt_ml, "resourceconfig.json", {"current_host": "algo-3", "hosts": ["algo-1", "algo-2"]}
        )
    if setup == "feature-mismatch":
        wide = Dataset(
            np.hstack([splits["validation"].features, np.ones((len(splits["validation"]), 1))]),
            splits["validation"].labels,
            [],
        )
        write_channel(opt_ml / "input" / "data" / "validation" / "validation.csv", wide)
    assert train.main([]) == 1
    assert_one_line_error(capsys, opt_ml, *fragments, training=True)
    assert not (opt_ml / "model" / "model-metadata.json").exists()
