"""Every file the baselines step and the monitor write conforms to Model Monitor's documented schemas.

The JSON Schemas below are transcribed by hand from AWS's pages, not derived from our code:

- https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-statistics.html
- https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-constraints.html
- https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-interpreting-violations.html

A feature object holds exactly the page's keys (nothing of ours); the top level of statistics.json
may hold more (the page: "#provision for custom stats"; the monitor adds its ``monitor`` key).
The features: ``Age`` numeric, ``Colour`` a categorical string (red, green, blue).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from model_container.columns import Numeric
from model_container.data_quality import constraints, statistics
from model_container.monitor.cli import main
from model_container.monitor.reader import Chunk
from model_container.monitor.stats import StreamingStatistics
from project_model import SCHEMA

NUMBER = {"type": "number"}
COMMON = {
    "type": "object",
    "required": ["num_present", "num_missing"],
    "properties": {"num_present": NUMBER, "num_missing": NUMBER},
    "additionalProperties": False,
}
KLL_BUCKET = {
    "type": "object",
    "required": ["lower_bound", "upper_bound", "count"],
    "properties": {"lower_bound": NUMBER, "upper_bound": NUMBER, "count": NUMBER},
    "additionalProperties": False,
}
NUMERIC_FEATURE = {
    "type": "object",
    "required": ["name", "inferred_type", "numerical_statistics"],
    "properties": {
        "name": {"type": "string"},
        "inferred_type": {"enum": ["Fractional", "Integral"]},
        "numerical_statistics": {
            "type": "object",
            "required": ["common", "mean", "sum", "std_dev", "min", "max", "distribution"],
            "properties": {
                "common": COMMON,
                **dict.fromkeys(("mean", "sum", "std_dev", "min", "max"), NUMBER),
                "distribution": {
                    "type": "object",
                    "required": ["kll"],
                    "properties": {
                        "kll": {
                            "type": "object",
                            "required": ["buckets", "sketch"],
                            "properties": {
                                # "By default, the distribution is materialized in 10 buckets."
                                "buckets": {
                                    "type": "array",
                                    "items": KLL_BUCKET,
                                    "minItems": 10,
                                    "maxItems": 10,
                                },
                                "sketch": {
                                    "type": "object",
                                    "required": ["parameters", "data"],
                                    "properties": {
                                        "parameters": {
                                            "type": "object",
                                            "required": ["c", "k"],
                                            "properties": {"c": NUMBER, "k": NUMBER},
                                        },
                                        "data": {
                                            "type": "array",
                                            "items": {"type": "array", "items": NUMBER},
                                        },
                                    },
                                },
                            },
                        }
                    },
                },
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}
STRING_FEATURE = {
    "type": "object",
    "required": ["name", "inferred_type", "string_statistics"],
    "properties": {
        "name": {"type": "string"},
        "inferred_type": {"const": "String"},
        "string_statistics": {
            "type": "object",
            "required": ["common", "distinct_count", "distribution"],
            "properties": {
                "common": COMMON,
                "distinct_count": NUMBER,
                "distribution": {
                    "type": "object",
                    "required": ["categorical"],
                    "properties": {
                        "categorical": {
                            "type": "object",
                            "required": ["buckets"],
                            "properties": {
                                "buckets": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["value", "count"],
                                        "properties": {
                                            "value": {"type": "string"},
                                            "count": NUMBER,
                                        },
                                        "additionalProperties": False,
                                    },
                                }
                            },
                        }
                    },
                    "additionalProperties": False,
                },
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}
STATISTICS = {
    "type": "object",
    "required": ["version", "dataset", "features"],
    "properties": {
        "version": NUMBER,
        "dataset": {
            "type": "object",
            "required": ["item_count"],
            "properties": {"item_count": NUMBER},
        },
        "features": {"type": "array", "items": {"oneOf": [NUMERIC_FEATURE, STRING_FEATURE]}},
    },
}
ENABLED = {"enum": ["Enabled", "Disabled"]}
CONSTRAINTS = {
    "type": "object",
    "required": ["version", "features", "monitoring_config"],
    "properties": {
        "version": NUMBER,
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "inferred_type", "completeness"],
                "properties": {
                    "name": {"type": "string"},
                    "inferred_type": {"enum": ["Integral", "Fractional", "String", "Unknown"]},
                    "completeness": {"type": "number", "minimum": 0, "maximum": 1},
                    "num_constraints": {
                        "type": "object",
                        "properties": {"is_non_negative": {"type": "boolean"}},
                        "additionalProperties": False,
                    },
                    "string_constraints": {
                        "type": "object",
                        "required": ["domains"],
                        "properties": {"domains": {"type": "array", "items": {"type": "string"}}},
                        "additionalProperties": False,
                    },
                    "monitoringConfigOverrides": {"type": "object"},
                },
                "additionalProperties": False,
            },
        },
        "monitoring_config": {
            "type": "object",
            "properties": {
                "evaluate_constraints": ENABLED,
                "emit_metrics": ENABLED,
                "datatype_check_threshold": NUMBER,
                "domain_content_threshold": NUMBER,
                "distribution_constraints": {
                    "type": "object",
                    "properties": {
                        "perform_comparison": ENABLED,
                        "comparison_threshold": NUMBER,
                        "comparison_method": {"enum": ["Simple", "Robust"]},
                        "categorical_comparison_threshold": NUMBER,
                        "categorical_drift_method": {"enum": ["LInfinity", "ChiSquared"]},
                    },
                    "additionalProperties": False,
                },
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}
CHECK_TYPES = [
    "data_type_check",
    "completeness_check",
    "baseline_drift_check",
    "missing_column_check",
    "extra_column_check",
    "categorical_values_check",
]
VIOLATIONS = {
    "type": "object",
    "required": ["violations"],
    "properties": {
        "violations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["feature_name", "constraint_check_type", "description"],
                "properties": {
                    "feature_name": {"type": "string"},
                    "constraint_check_type": {"enum": CHECK_TYPES},
                    "description": {"type": "string"},
                },
                "additionalProperties": False,
            },
        }
    },
    "additionalProperties": False,
}

NAMES = ["Age", "Colour"]
COLOURS = ("red", "green", "blue")


def conforms(document: dict[str, Any], schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)


@pytest.fixture
def table() -> np.ndarray:
    rng = np.random.default_rng(3)
    rows = np.column_stack([rng.integers(20, 90, 600), rng.integers(0, 3, 600)]).astype(float)
    rows[:6, 0] = np.nan
    return rows


@pytest.fixture
def baseline(tmp_path: Path, table: np.ndarray) -> Path:
    folder = tmp_path / "baseline"
    folder.mkdir()
    categories = {"Colour": COLOURS}
    (folder / "statistics.json").write_text(json.dumps(statistics(NAMES, table, categories)))
    (folder / "constraints.json").write_text(json.dumps(constraints(NAMES, table, categories)))
    return folder


def as_csv(rows: np.ndarray) -> str:
    return "".join(
        ("" if np.isnan(age) else f"{age:g}") + "," + COLOURS[int(code)] + "\n"
        for age, code in rows
    )


def run_monitor(baseline: Path, text: str, output: Path) -> int:
    batch = output.parent / f"{output.name}-input"
    batch.mkdir(parents=True)
    (batch / "part.csv").write_text(text)
    return main(
        [
            "--input-format",
            "csv",
            "--capture-dir",
            str(batch),
            "--baseline-dir",
            str(baseline),
            "--output-dir",
            str(output),
        ]
    )


def test_baseline_statistics_conform_for_numeric_and_string_features(baseline: Path) -> None:
    document = json.loads((baseline / "statistics.json").read_text())
    conforms(document, STATISTICS)
    age, colour = document["features"]
    assert "numerical_statistics" in age and "string_statistics" in colour
    assert colour["string_statistics"]["distinct_count"] == 3
    assert {
        b["value"] for b in colour["string_statistics"]["distribution"]["categorical"]["buckets"]
    } == set(COLOURS)


def test_a_constant_feature_still_has_ten_buckets() -> None:
    conforms(statistics(["a"], np.full((4, 1), 2.0)), STATISTICS)
    window = StreamingStatistics(["a"])
    window.add(Chunk(np.full((4, 1), 2.0), np.zeros(1, dtype=np.int64)))
    conforms(window.document(), STATISTICS)


def test_baseline_constraints_conform_with_the_documented_defaults(baseline: Path) -> None:
    document = json.loads((baseline / "constraints.json").read_text())
    conforms(document, CONSTRAINTS)
    age, colour = document["features"]
    assert set(age) == {"name", "inferred_type", "completeness", "num_constraints"}
    assert colour["string_constraints"] == {"domains": list(COLOURS)}
    assert colour["inferred_type"] == "String" and "num_constraints" not in colour
    config = document["monitoring_config"]
    # The page's defaults: datatype_check_threshold and domain_content_threshold 0.1.
    assert config["datatype_check_threshold"] == 0.1 and config["domain_content_threshold"] == 0.1
    assert config["distribution_constraints"]["comparison_threshold"] == 0.1


def test_the_window_files_conform(
    baseline: Path, table: np.ndarray, tmp_path: Path, opt_ml: Path
) -> None:
    window = table.copy()
    text = as_csv(window[:300])
    text += "-5,blue\n"  # Age is non-negative: our extension check
    text += "40,purple\n" * 40  # outside Colour's domain: 40 of 341 > 0.1
    text += "40\n"  # a missing column
    text += "40,red,1\n"  # an extra column
    output = tmp_path / "out"
    assert run_monitor(baseline, text, output) == 2
    stats = json.loads((output / "statistics.json").read_text())
    conforms(stats, STATISTICS)
    age, colour = stats["features"]
    assert age["inferred_type"] == "Integral" and colour["inferred_type"] == "String"
    assert colour["string_statistics"]["common"]["num_present"] == 341  # purple is present
    buckets = colour["string_statistics"]["distribution"]["categorical"]["buckets"]
    assert {b["value"] for b in buckets} == set(COLOURS)

    violations = json.loads((output / "constraint_violations.json").read_text())
    conforms(violations, VIOLATIONS)
    found = {(v["feature_name"], v["constraint_check_type"]) for v in violations["violations"]}
    assert {
        ("Colour", "categorical_values_check"),
        ("Colour", "missing_column_check"),
        ("_c2", "extra_column_check"),
    } <= found
    extension = json.loads((output / "extension_violations.json").read_text())
    conforms(extension, {**VIOLATIONS, "properties": {"violations": {"type": "array"}}})
    # The baseline's Age is non-negative; the range check applies where the project's schema has a
    # numeric Age with a valid range (the sample's: 1-120), whatever model the project holds.
    expected = {("Age", "non_negative_check")}
    if any(c.name == "Age" and isinstance(c, Numeric) for c in SCHEMA.columns):
        expected.add(("Age", "range_check"))
    found = {(v["feature_name"], v["constraint_check_type"]) for v in extension["violations"]}
    assert found == expected
    summary = json.loads((output / "summary.json").read_text())
    assert summary["violations"] == len(violations["violations"]) + len(expected)
    assert summary["extension_violations"] == len(expected)


def test_a_clean_window_with_strings_passes(
    baseline: Path, table: np.ndarray, tmp_path: Path, opt_ml: Path
) -> None:
    output = tmp_path / "clean"
    assert run_monitor(baseline, as_csv(table[::2]), output) == 0
    assert json.loads((output / "constraint_violations.json").read_text()) == {"violations": []}
    assert json.loads((output / "extension_violations.json").read_text()) == {"violations": []}


def test_a_category_shift_and_missing_values_are_found(
    baseline: Path, table: np.ndarray, tmp_path: Path, opt_ml: Path
) -> None:
    window = table[:300].copy()
    window[:150, 1] = 0.0  # half of them red: the shares move by far more than 0.1
    window[:60, 0] = np.nan  # Age: 0.8 complete against a constraint of about 0.95
    output = tmp_path / "drift"
    assert run_monitor(baseline, as_csv(window), output) == 2
    found = {
        (v["feature_name"], v["constraint_check_type"])
        for v in json.loads((output / "constraint_violations.json").read_text())["violations"]
    }
    assert found == {("Colour", "baseline_drift_check"), ("Age", "completeness_check")}
