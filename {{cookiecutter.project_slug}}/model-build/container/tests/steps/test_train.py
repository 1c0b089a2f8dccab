"""The train entry point: the model artifact it writes, metric lines, failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from step_helpers import assert_one_line_error

import project_model
from model_container import artifact, train
from model_container.data import Dataset, write_channel
from model_container.entrypoint import StepError
from project_model import SCHEMA


def setup_channels(opt_ml: Path, splits: dict[str, Dataset], *names: str) -> None:
    for name in names:
        write_channel(
            opt_ml / "input" / "data" / name / f"{name}.csv", splits[name], label=SCHEMA.label
        )


def write_config(opt_ml: Path, name: str, value: object) -> None:
    path = opt_ml / "input" / "config" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the model's ``fit`` returned and logged when the train step called it."""
    record: dict[str, Any] = {"log": []}
    fit = project_model.fit

    def recording_fit(train_data, validation, hyperparameters, log=None):
        def both(line: str) -> None:
            record["log"].append(line)
            if log is not None:
                log(line)

        record["fitted"] = fit(train_data, validation, hyperparameters, both)
        return record["fitted"]

    monkeypatch.setattr(project_model, "fit", recording_fit)
    return record


def test_train_writes_the_model_contract(
    opt_ml: Path,
    splits: dict[str, Dataset],
    capsys: pytest.CaptureFixture[str],
    recorded: dict[str, Any],
) -> None:
    setup_channels(opt_ml, splits, "train", "validation")
    write_config(opt_ml, "hyperparameters.json", {"threshold": "0.4"})  # the one interface field
    write_config(opt_ml, "resourceconfig.json", {"current_host": "algo-1", "hosts": ["algo-1"]})
    assert train.main([]) == 0

    metadata = json.loads((opt_ml / "model" / "model-metadata.json").read_text())
    assert set(metadata) == {
        "format_version",
        "features",
        "categories",
        "label",
        "threshold",
        "model_file",
        "info",
    }
    assert metadata["format_version"] == artifact.FORMAT_VERSION
    assert metadata["label"] == SCHEMA.label and metadata["threshold"] == 0.4
    assert metadata["features"] == SCHEMA.feature_names
    assert metadata["categories"] == {
        name: list(values) for name, values in SCHEMA.categories().items()
    }
    assert (opt_ml / "model" / metadata["model_file"]).is_file()

    fitted = recorded["fitted"]
    model = artifact.load(opt_ml / "model")
    test = splits["test"]
    scores = model.predict(test.features)
    # The saved model is the fitted one, and it learned something.
    np.testing.assert_array_equal(scores, project_model.predict(fitted.estimator, test.features))
    assert roc_auc_score(test.labels, scores) > 0.5

    out = capsys.readouterr().out.splitlines()
    assert recorded["log"] and all(line in out for line in recorded["log"])  # the fit's log lines
    # The metrics last, as SageMaker's metric definitions (train-auc, validation-auc) read them.
    assert {"train-auc", "validation-auc"} <= set(fitted.metrics)
    assert out[-len(fitted.metrics) :] == [f"{k}: {v:.5f}" for k, v in fitted.metrics.items()]
    for name, value in metadata["info"].items():  # what the estimator reported is printed too
        assert f"{name.replace('_', ' ')}: {value}" in out


def test_without_validation_the_model_trains_on_train_only(
    opt_ml: Path,
    splits: dict[str, Dataset],
    capsys: pytest.CaptureFixture[str],
    recorded: dict[str, Any],
) -> None:
    setup_channels(opt_ml, splits, "train")
    assert train.main([]) == 0
    out = capsys.readouterr().out
    assert "no validation channel: training all rounds without early stopping" in out
    metrics = recorded["fitted"].metrics
    assert "train-auc" in metrics and "validation-auc" not in metrics
    assert "validation-auc" not in out and out.splitlines()[-1].startswith(f"{list(metrics)[-1]}: ")
    assert artifact.load(opt_ml / "model").features == splits["train"].feature_names


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
    setup: str,
    fragments: list[str],
    *,
    opt_ml: Path,
    splits: dict[str, Dataset],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if setup != "no-train":
        setup_channels(opt_ml, splits, "train", "validation")
    if setup == "bad-hyperparameter":  # whatever the model's parser rejects, as it words it

        def reject(raw: object) -> project_model.Hyperparameters:
            raise StepError("unknown hyperparameter 'depth'")

        monkeypatch.setattr(project_model.Hyperparameters, "from_mapping", reject)
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
            [*splits["validation"].feature_names, "extra"],
        )
        write_channel(opt_ml / "input" / "data" / "validation" / "validation.csv", wide)
    assert train.main([]) == 1
    assert_one_line_error(capsys, opt_ml, *fragments, training=True)
    assert not (opt_ml / "model" / "model-metadata.json").exists()
