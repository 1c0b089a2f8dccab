"""The baselines step: Model Monitor statistics/constraints and SHAP attributions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from step_helpers import assert_one_line_error, place

from model_container import baselines, extension_constraints
from model_container.columns import Categorical, Numeric
from model_container.data import Dataset, write_channel, write_with_header
from model_container.data_quality import (
    KLL_K,
    constraints,
    kll_sketch,
    statistics,
    suggested_completeness,
)
from model_container.explain import global_shap
from project_model import SCHEMA


def test_statistics_follow_model_monitor_schema() -> None:
    table = np.array([[1.0, 0.5], [2.0, np.nan], [4.0, -1.5], [np.nan, 2.0]])
    doc = statistics(["a", "b"], table)
    assert doc["version"] == 0.0 and doc["dataset"] == {"item_count": 4}
    a, b = doc["features"]
    assert (a["name"], a["inferred_type"], b["inferred_type"]) == ("a", "Integral", "Fractional")
    numbers = a["numerical_statistics"]
    assert numbers["common"] == {"num_present": 3, "num_missing": 1}
    assert numbers["sum"] == 7.0 and numbers["min"] == 1.0 and numbers["max"] == 4.0
    assert numbers["mean"] == pytest.approx(7 / 3) and numbers["std_dev"] == pytest.approx(
        np.std([1, 2, 4])
    )
    kll = numbers["distribution"]["kll"]
    assert len(kll["buckets"]) == 10 and sum(bucket["count"] for bucket in kll["buckets"]) == 3
    assert kll["buckets"][0]["lower_bound"] == 1.0 and kll["buckets"][-1]["upper_bound"] == 4.0
    assert kll["sketch"] == {"parameters": {"c": 0.64, "k": 2048.0}, "data": [[1.0, 2.0, 4.0]]}


def test_kll_sketch_compacts_beyond_k_and_keeps_the_weight() -> None:
    values = np.random.default_rng(0).normal(size=10_000)
    levels = kll_sketch(values)
    assert all(len(level) == 0 for level in levels[:-1]) and len(levels[-1]) <= KLL_K
    weight = sum(len(level) * 2**height for height, level in enumerate(levels))
    assert abs(weight - len(values)) <= 2 ** (len(levels) - 1)
    assert np.median(levels[-1]) == pytest.approx(np.median(values), abs=0.05)


def test_constraints_follow_model_monitor_schema() -> None:
    doc = constraints(["a", "b"], np.array([[1.0, -0.5], [np.nan, 2.0]]))
    assert doc["features"] == [
        {
            "name": "a",
            "inferred_type": "Integral",
            "completeness": 0.0,  # 1 of 2 rows: the lower bound for a window says nothing
            "num_constraints": {"is_non_negative": True},
        },
        {
            "name": "b",
            "inferred_type": "Fractional",
            "completeness": 1.0,
            "num_constraints": {"is_non_negative": False},
        },
    ]
    config = doc["monitoring_config"]
    assert config["distribution_constraints"]["comparison_threshold"] == 0.1
    assert config["evaluate_constraints"] == "Enabled" and config["emit_metrics"] == "Enabled"
    # The constraints page's current defaults (shares of wrong-type / unknown values allowed).
    assert config["datatype_check_threshold"] == config["domain_content_threshold"] == 0.1


@pytest.mark.parametrize(
    ("present", "rows", "expected"),
    [(1000, 1000, 1.0), (990, 1000, 0.96), (900, 1000, 0.81), (5, 10, 0.07), (0, 10, 0.0)],
)
def test_suggested_completeness_is_a_lower_bound_for_a_window(
    present: int, rows: int, expected: float
) -> None:
    # 0.99 - 2.576 * sqrt(0.99 * 0.01 * (1/1000 + 1/100)) = 0.9647 -> 0.96
    assert suggested_completeness(present, rows) == expected


def test_a_feature_of_one_value_has_ten_buckets() -> None:
    doc = statistics(["a"], np.full((5, 1), 3.0))
    kll = doc["features"][0]["numerical_statistics"]["distribution"]["kll"]
    assert len(kll["buckets"]) == 10
    assert [b["count"] for b in kll["buckets"]] == [5.0] + [0.0] * 9
    assert kll["buckets"][0]["lower_bound"] == 3.0


def test_shap_ranks_the_informative_feature_and_ignores_noise() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(400, 3))
    labels = (features[:, 1] > 0).astype(float)
    names = ["noise", "signal", "constant"]
    features[:, 2] = 1.0
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 2},
        xgb.DMatrix(features, labels, feature_names=names),
        20,
    )
    doc = global_shap(
        names, booster.predict(xgb.DMatrix(features, feature_names=names), pred_contribs=True)
    )
    label0 = doc["explanations"]["kernel_shap"]["label0"]
    values = label0["global_shap_values"]
    assert max(values, key=values.get) == "signal"
    assert values["constant"] == 0.0 and values["signal"] > 10 * values["noise"]
    margin = booster.predict(xgb.DMatrix(features, feature_names=names), output_margin=True)
    # Only "signal" contributes, so SHAP additivity says |margin - expected value| is its attribution.
    assert values["signal"] == pytest.approx(
        float(np.mean(np.abs(margin - label0["expected_value"]))), rel=1e-4
    )


def test_shap_needs_one_column_per_feature_and_the_bias() -> None:
    with pytest.raises(
        ValueError, match=r"attributions of shape \(3, 2\); expected \(rows, 2 features"
    ):
        global_shap(["a", "b"], np.zeros((3, 2)))


def test_categorical_features_are_strings_with_their_domain() -> None:
    table = np.array([[0.0, 1.5], [1.0, np.nan], [1.0, 2.0], [np.nan, 3.0]])
    categories = {"colour": ("red", "green", "blue")}
    stats = statistics(["colour", "x"], table, categories)
    colour, x = stats["features"]
    assert (colour["inferred_type"], x["inferred_type"]) == ("String", "Fractional")
    assert colour["string_statistics"] == {
        "common": {"num_present": 3, "num_missing": 1},
        "distinct_count": 2.0,
        "distribution": {
            "categorical": {
                "buckets": [{"value": "red", "count": 1.0}, {"value": "green", "count": 2.0}]
            }
        },
    }
    assert "numerical_statistics" not in colour
    doc = constraints(["colour", "x"], table, categories)
    assert doc["features"][0] == {
        "name": "colour",
        "inferred_type": "String",
        "completeness": 0.18,  # 0.75 less the noise of 4 rows and of a window
        "string_constraints": {"domains": ["red", "green", "blue"]},
    }
    assert "string_constraints" not in doc["features"][1]
    drift = doc["monitoring_config"]["distribution_constraints"]
    assert drift["categorical_comparison_threshold"] == 0.1
    assert drift["categorical_drift_method"] == "LInfinity"


@pytest.mark.parametrize("layout", ["header", "channel"])
def test_step_writes_all_three_files(
    opt_ml: Path, model_archive: Path, splits: dict[str, Dataset], layout: str
) -> None:
    place(model_archive, opt_ml)
    train = splits["train"]
    if layout == "header":  # what the pipeline wires in: preprocess's baseline/ output
        write_with_header(
            opt_ml / "processing" / "train" / "baseline.csv", train.feature_names, train.features
        )
    else:
        write_channel(opt_ml / "processing" / "train" / "train.csv", train, label=SCHEMA.label)
    assert baselines.main([]) == 0
    stats = json.loads((opt_ml / "processing" / "baselines" / "statistics.json").read_text())
    assert stats["dataset"]["item_count"] == len(train)
    assert [f["name"] for f in stats["features"]] == train.feature_names
    cons = json.loads((opt_ml / "processing" / "baselines" / "constraints.json").read_text())
    assert [f["name"] for f in cons["features"]] == train.feature_names
    shap = json.loads(
        (opt_ml / "processing" / "explainability" / "explainability.json").read_text()
    )
    values = shap["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    assert list(values) == train.feature_names and all(v >= 0 for v in values.values())
    # Our checks' limits, read back as the monitor reads them: the schema's numeric features' ranges.
    extension = opt_ml / "processing" / "baselines" / extension_constraints.FILE_NAME
    assert extension_constraints.valid_ranges(json.loads(extension.read_text())) == {
        c.name: (c.low, c.high)
        for c in SCHEMA.features
        if isinstance(c, Numeric) and (np.isfinite(c.low) or np.isfinite(c.high))
    }


def test_valid_ranges_round_trip_through_json_with_open_sides() -> None:
    columns = [
        Numeric("a", 1, 120),
        Numeric("b", low=0),
        Numeric("c"),  # no bound: no entry
        Categorical("d", ("x", "y")),
        Numeric("unused", 0, 1),  # not a feature
    ]
    text = json.dumps(extension_constraints.document(["a", "b", "c", "d"], columns))
    document = json.loads(text)
    assert document["features"] == [
        {"name": "a", "range_constraints": {"min": 1.0, "max": 120.0}},
        {"name": "b", "range_constraints": {"min": 0.0, "max": None}},
    ]
    assert extension_constraints.valid_ranges(document) == {
        "a": (1.0, 120.0),
        "b": (0.0, float("inf")),
    }


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (None, "no list of features"),
        ([{"range_constraints": {}}], "has no name"),
        ([{"name": "a", "range_constraints": [1, 2]}], "expected min and max"),
        ([{"name": "a", "range_constraints": {"min": "1"}}], "range_constraints.min is '1'"),
        ([{"name": "a", "range_constraints": {"min": 2, "max": 1}}], "min 2 is above max 1"),
    ],
)
def test_bad_valid_ranges_are_named(features: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        extension_constraints.valid_ranges({"features": features})


def test_step_errors(
    opt_ml: Path,
    model_archive: Path,
    splits: dict[str, Dataset],
    capsys: pytest.CaptureFixture[str],
) -> None:
    place(model_archive, opt_ml)
    assert baselines.main([]) == 1
    assert_one_line_error(capsys, opt_ml, "no training features: none of")
    folder = opt_ml / "processing" / "baseline"
    names = splits["train"].feature_names
    write_with_header(folder / "baseline.csv", names[:2], splits["train"].features[:, :2])
    assert baselines.main([]) == 1
    assert_one_line_error(capsys, opt_ml, f"has columns {names[:2]}; the model expects {names}")
    shutil.rmtree(folder)
    folder.mkdir()
    (folder / "baseline.csv").write_text(",".join(names) + "\n")
    assert baselines.main([]) == 1
    assert_one_line_error(capsys, opt_ml, "has a header but no data rows")


@pytest.mark.parametrize(
    "text", ["label,a,b,c,d\n1,1e-05,2,,4\n0,40,1,1,2\n", "a,b,c,d\n1e-05,2,,4\n40,1,1,2\n"]
)
def test_channel_files_and_feature_tables_are_told_apart_by_the_header(
    tmp_path: Path, text: str
) -> None:
    (tmp_path / "part.csv").write_text(text)
    table = baselines.read_features(tmp_path, ["a", "b", "c", "d"])
    np.testing.assert_array_equal(table, [[1e-05, 2, np.nan, 4], [40, 1, 1, 2]])
