"""Retry policies and step caching in the three definitions, against what SageMaker documents and
accepts (https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-retry-policy.html,
https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-caching.html)."""

from __future__ import annotations

from typing import Any

import pytest

from model_build import steps
from model_build.local.cache import duration_seconds
from model_build.local.retries import EXCEPTION_TYPES, RetryPolicy, step_policies
from tests.conftest import all_steps

JOB_TYPES = ("Processing", "Training", "Transform")
SERVICE_TYPES = {"Step.SERVICE_FAULT", "Step.THROTTLING"}
# The retry policy's JSON schema, as the retry page gives it.
POLICY_KEYS = {"ExceptionType", "IntervalSeconds", "BackoffRate", "MaxAttempts", "ExpireAfterMin"}


@pytest.fixture
def every_step(
    definition: dict[str, Any],
    monitoring_definition: dict[str, Any],
    batch_definition: dict[str, Any],
) -> list[dict[str, Any]]:
    return [
        step
        for pipeline in (definition, monitoring_definition, batch_definition)
        for step in all_steps(pipeline["Steps"])
    ]


def test_every_step_that_sagemaker_retries_has_policies(every_step: list[dict[str, Any]]) -> None:
    by_type: dict[str, set[str]] = {}
    for step in every_step:
        covered = {
            kind for policy in step.get("RetryPolicies", []) for kind in policy["ExceptionType"]
        }
        by_type.setdefault(step["Type"], set()).update(covered)
        if step["Type"] in JOB_TYPES:  # every fault SageMaker names, the job's own included
            assert covered == set(EXCEPTION_TYPES), step["Name"]
        elif step["Type"] == "RegisterModel":  # it starts no job: service faults only
            assert covered == SERVICE_TYPES, step["Name"]
        else:  # Condition and Fail steps take no retry policy
            assert "RetryPolicies" not in step, step["Name"]
    assert set(by_type) == {*JOB_TYPES, "RegisterModel", "Condition", "Fail"}


def test_policies_are_bounded_and_in_the_documented_schema(
    every_step: list[dict[str, Any]],
) -> None:
    for step in every_step:
        for policy in step.get("RetryPolicies", []):
            # Bounded by attempts (MaxAttempts), not by time (ExpireAfterMin): never both.
            assert set(policy) == POLICY_KEYS - {"ExpireAfterMin"}
            assert 1 <= policy["MaxAttempts"] <= 20 and 1 <= policy["IntervalSeconds"] <= 43200
            assert policy["BackoffRate"] >= 1
        step_policies(step)  # the local executor's check of the same rules


def test_definitions_carry_the_policies_steps_py_declares(
    definition: dict[str, Any],
) -> None:
    # The SDK's exception enums are easy to misuse (Enum(value) returns their first member): the JSON
    # must hold exactly the declared types and timings.
    train = next(step for step in definition["Steps"] if step["Name"] == "Train")
    assert [RetryPolicy.parse("Train", item) for item in train["RetryPolicies"]] == [
        RetryPolicy(
            exception_types=frozenset(retry.exception_types),
            interval_seconds=retry.interval_seconds,
            backoff_rate=retry.backoff_rate,
            max_attempts=retry.max_attempts,
        )
        for retry in steps.RETRIES["Training"]
    ]


def test_cached_steps_and_their_cache_config(every_step: list[dict[str, Any]]) -> None:
    cached = {step["Name"]: step["CacheConfig"] for step in every_step if "CacheConfig" in step}
    assert set(cached) == set(steps.CACHED_STEPS) == {"Train", "Evaluate", "Baselines", "Bias"}
    for config in cached.values():
        assert config == {"Enabled": True, "ExpireAfter": steps.CACHE_EXPIRE_AFTER}
    assert duration_seconds(steps.CACHE_EXPIRE_AFTER) == 30 * 86400


def s3_inputs(step: dict[str, Any]) -> list[Any]:
    """The S3 URIs a processing or training step reads (expressions, unresolved)."""
    args = step["Arguments"]
    return [item["S3Input"]["S3Uri"] for item in args.get("ProcessingInputs", [])] + [
        item["DataSource"]["S3DataSource"]["S3Uri"] for item in args.get("InputDataConfig", [])
    ]


def test_only_steps_reading_other_steps_outputs_are_cached(
    every_step: list[dict[str, Any]],
) -> None:
    # SageMaker's cache key holds an input's URI, not the objects under it: a step reading a prefix
    # that gets new objects (a parameter's URI) must rerun; one reading another step's outputs
    # (written once under that run's execution id) may be reused.
    for step in every_step:
        if step["Type"] not in ("Processing", "Training"):
            continue
        inputs = s3_inputs(step)
        from_steps = bool(inputs) and all(
            isinstance(uri, dict) and str(uri.get("Get", "")).startswith("Steps.") for uri in inputs
        )
        assert ("CacheConfig" in step) == from_steps, step["Name"]
