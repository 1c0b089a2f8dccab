"""The model package as the machinery calls it: fit, save/load, predict, explain, hyperparameters.

Columns and types come from ``SCHEMA``, so these tests hold for your own data and estimator too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import project_model
from model_container.data import Dataset, read_raw
from model_container.entrypoint import StepError
from model_container.split import stratified_split
from project_model import SCHEMA, Hyperparameters


@pytest.fixture(scope="module")
def splits(raw_data: Path) -> dict[str, Dataset]:
    data = read_raw(raw_data, SCHEMA).data
    rows = stratified_split(data.labels, seed=42, train_fraction=0.6, validation_fraction=0.2)
    return {
        name: Dataset(data.features[r], data.labels[r], data.feature_names)
        for name, r in rows.items()
    }


@pytest.fixture(scope="module")
def fitted(splits: dict[str, Dataset]) -> project_model.Fitted:
    return project_model.fit(splits["train"], splits["validation"], Hyperparameters())


def test_schema_reads_the_bundled_data(splits: dict[str, Dataset]) -> None:
    train = splits["train"]
    assert train.feature_names == SCHEMA.feature_names
    assert train.features.shape[1] == len(SCHEMA.features)
    assert set(np.unique(train.labels)) == {0.0, 1.0}
    for index, name in enumerate(SCHEMA.feature_names):
        if name in SCHEMA.categories():  # categories are read as their codes
            present = train.features[:, index][~np.isnan(train.features[:, index])]
            assert set(present) <= set(map(float, range(len(SCHEMA.categories()[name]))))


def test_fit_reaches_a_validation_auc_above_0_8(
    fitted: project_model.Fitted, splits: dict[str, Dataset]
) -> None:
    validation = splits["validation"]
    scores = project_model.predict(fitted.estimator, validation.features)
    assert scores.shape == (len(validation),) and ((scores >= 0) & (scores <= 1)).all()
    assert roc_auc_score(validation.labels, scores) > 0.8
    assert fitted.metrics and all(isinstance(v, float) for v in fitted.metrics.values())
    test = splits["test"]
    assert roc_auc_score(test.labels, project_model.predict(fitted.estimator, test.features)) > 0.75


def test_fit_logs_a_line_per_round(splits: dict[str, Dataset]) -> None:
    lines: list[str] = []
    project_model.fit(splits["train"], None, Hyperparameters(num_round=5), lines.append)
    assert len(lines) == 5 and lines[0].startswith("[0] train-auc: ")


def test_save_and_load_predict_the_same(
    fitted: project_model.Fitted, splits: dict[str, Dataset], tmp_path: Path
) -> None:
    name = project_model.save(fitted.estimator, tmp_path)
    assert (tmp_path / name).is_file() and Path(name).name == name
    loaded = project_model.load(tmp_path / name, threads=1)
    rows = splits["test"].features
    np.testing.assert_array_equal(
        project_model.predict(loaded, rows), project_model.predict(fitted.estimator, rows)
    )


def test_load_rejects_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "model").write_text("not a model")
    with pytest.raises(ValueError):
        project_model.load(tmp_path / "model")


def test_explain_gives_one_column_per_feature_and_the_bias(
    fitted: project_model.Fitted, splits: dict[str, Dataset]
) -> None:
    rows = splits["test"].features[:50]
    contributions = np.asarray(project_model.explain(fitted.estimator, rows, SCHEMA.feature_names))
    assert contributions.shape == (len(rows), len(SCHEMA.feature_names) + 1)
    assert np.isfinite(contributions).all()


def test_small_batch_scores_like_predict_when_offered(
    fitted: project_model.Fitted, splits: dict[str, Dataset]
) -> None:
    scorer = project_model.small_batch(fitted.estimator)
    if scorer is None:
        pytest.skip("the estimator offers no small-batch scorer")
    rows = splits["test"].features[:8].astype(np.float32)
    np.testing.assert_allclose(
        scorer(rows), project_model.predict(fitted.estimator, rows), rtol=0, atol=1e-6
    )


def test_hyperparameters_parse_sagemaker_strings() -> None:
    assert Hyperparameters.from_mapping({}) == Hyperparameters()
    parsed = Hyperparameters.from_mapping(
        {
            "threshold": '"0.4"',  # the SDK may JSON-quote string values
            "sagemaker_program": "x",  # SageMaker's own keys are ignored
            "_tuning_objective_metric": "validation:auc",
        }
    )
    assert parsed.threshold == 0.4


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"max_depht": "3"}, "unknown hyperparameter 'max_depht'; allowed: "),
        ({"threshold": "1"}, "threshold=1.0 is not allowed"),
        ({"threshold": "high"}, "hyperparameter threshold='high' is not a number"),
    ],
)
def test_hyperparameters_reject_unknown_keys_and_bad_values(
    raw: dict[str, str], message: str
) -> None:
    with pytest.raises(StepError) as error:
        Hyperparameters.from_mapping(raw)
    assert message in str(error.value)


# The sample estimator's own settings (XGBoost): REPLACE with your estimator's.


def test_xgboost_defaults_and_integer_parsing() -> None:
    parsed = Hyperparameters.from_mapping({"max_depth": "4", "num_round": "50.0", "seed": '"7"'})
    assert (parsed.max_depth, parsed.num_round, parsed.seed) == (4, 50, 7)
    with pytest.raises(StepError, match=r"max_depth='3\.5' is not an integer"):
        Hyperparameters.from_mapping({"max_depth": "3.5"})
    with pytest.raises(StepError, match="monotone=2 is not allowed; expected 0 or 1"):
        Hyperparameters.from_mapping({"monotone": "2"})


def test_xgboost_stops_early_and_keeps_the_best_trees(
    fitted: project_model.Fitted, splits: dict[str, Dataset]
) -> None:
    best = fitted.info["best_iteration"]
    assert fitted.estimator.num_boosted_rounds() == best + 1 < Hyperparameters().num_round
    all_rounds = project_model.fit(splits["train"], None, Hyperparameters(num_round=12))
    assert all_rounds.info["best_iteration"] == 11
    assert set(all_rounds.metrics) == {"train-auc"}


def test_bias_facet_is_a_feature_of_the_schema() -> None:
    # What the Bias step checks when the pipeline runs, checked here first (None: no facet).
    config = project_model.BIAS
    if config is None:
        pytest.skip("project_model.BIAS is None: no facet configured")
    columns = {column.name: column for column in SCHEMA.features}
    assert config.facet.feature in columns, f"facet {config.facet.feature!r} is not a feature"
    categories = getattr(columns[config.facet.feature], "categories", None)
    if config.facet.threshold is None:
        assert categories is not None and set(config.facet.categories) <= set(categories)
    else:
        assert categories is None, "a threshold facet needs a numeric feature"
    assert config.positive_label in (SCHEMA.positive, SCHEMA.negative)
