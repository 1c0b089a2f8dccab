"""Expression evaluation of the local executor."""

from __future__ import annotations

import pytest

from model_build.errors import UsageError
from model_build.local.resolve import (
    Context,
    UnsupportedDefinitionError,
    evaluate_condition,
    lookup,
    references,
    resolve,
)


@pytest.fixture
def ctx() -> Context:
    return Context(
        parameters={"Seed": 7, "Threshold": 0.8, "Name": "x"},
        execution={"PipelineExecutionId": "e1"},
        steps={
            "Pre": {
                "ProcessingOutputConfig": {
                    "Outputs": [
                        {"OutputName": "train", "S3Output": {"S3Uri": "s3://b/train"}},
                        {"OutputName": "test", "S3Output": {"S3Uri": "s3://b/test"}},
                    ]
                }
            }
        },
        property_files={
            "Eval": {"Report": {"metrics": {"auc": {"value": 0.9}}, "curve": [{"x": 1}, {"x": 2}]}}
        },
    )


def test_get_parameter_execution_and_step_property(ctx: Context) -> None:
    assert resolve({"Get": "Parameters.Seed"}, ctx) == 7
    assert resolve({"Get": "Execution.PipelineExecutionId"}, ctx) == "e1"
    assert (
        resolve({"Get": "Steps.Pre.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"}, ctx)
        == "s3://b/test"
    )
    assert (
        resolve({"Get": "Steps.Pre.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri"}, ctx)
        == "s3://b/train"
    )


def test_join_formats_values_like_strings(ctx: Context) -> None:
    expr = {
        "Std:Join": {
            "On": "/",
            "Values": ["s3:/", {"Get": "Parameters.Name"}, {"Get": "Parameters.Seed"}, 0.5],
        }
    }
    assert resolve(expr, ctx) == "s3://x/7/0.5"


def test_json_get_reads_property_files(ctx: Context) -> None:
    ctx.steps["Eval"] = {}
    expr = {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"},
            "Path": "metrics.auc.value",
        }
    }
    assert resolve(expr, ctx) == 0.9
    assert lookup(ctx.property_files["Eval"]["Report"], "curve[1].x", "t") == 2


def test_nested_structures_resolve_recursively(ctx: Context) -> None:
    assert resolve({"A": [{"Get": "Parameters.Seed"}, {"B": {"Get": "Parameters.Name"}}]}, ctx) == {
        "A": [7, {"B": "x"}]
    }


@pytest.mark.parametrize(
    ("kind", "left", "right", "expected"),
    [
        ("GreaterThanOrEqualTo", 0.83, 0.83, True),
        ("GreaterThanOrEqualTo", 0.82, 0.83, False),
        ("GreaterThan", 0.9, 0.8, True),
        ("LessThan", 1, 2, True),
        ("LessThanOrEqualTo", 3, 2, False),
        ("Equals", "a", "a", True),
    ],
)
def test_comparisons(ctx: Context, kind: str, left: object, right: object, expected: bool) -> None:
    assert (
        evaluate_condition({"Type": kind, "LeftValue": left, "RightValue": right}, ctx) is expected
    )


def test_not_or_in(ctx: Context) -> None:
    false = {"Type": "Equals", "LeftValue": 1, "RightValue": 2}
    assert evaluate_condition({"Type": "Not", "Expression": false}, ctx)
    assert not evaluate_condition({"Type": "Or", "Conditions": [false, false]}, ctx)
    assert evaluate_condition(
        {"Type": "In", "QueryValue": {"Get": "Parameters.Seed"}, "Values": [1, 7]}, ctx
    )


def test_unsupported_function_and_condition_are_named(ctx: Context) -> None:
    with pytest.raises(UnsupportedDefinitionError, match="Std:Concat"):
        resolve({"Std:Concat": []}, ctx)
    with pytest.raises(UnsupportedDefinitionError, match="'Between'"):
        evaluate_condition({"Type": "Between"}, ctx)


def test_missing_references_are_clear(ctx: Context) -> None:
    with pytest.raises(UsageError, match="no parameter 'Nope'"):
        resolve({"Get": "Parameters.Nope"}, ctx)
    with pytest.raises(UsageError, match="step 'Later' has not run"):
        resolve({"Get": "Steps.Later.X"}, ctx)
    with pytest.raises(UsageError, match="nothing at 'missing'"):
        resolve({"Get": "Steps.Pre.ProcessingOutputConfig.Outputs['missing'].S3Output.S3Uri"}, ctx)


def test_references_finds_step_names() -> None:
    args = {
        "A": [
            {"Get": "Steps.Pre.X"},
            {"Std:Join": {"On": "/", "Values": [{"Get": "Steps.Train.Y[0]"}]}},
        ],
        "B": {"Get": "Parameters.Steps"},
    }
    assert references(args) == {"Pre", "Train"}
