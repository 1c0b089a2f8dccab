"""CloudWatch alarm evaluation on the emulator's datapoints: CloudWatch's documented M-out-of-N
and missing-data rules, its reason texts, and the real drift alarm through the real drift rule."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import Synthesized

from project_infra.synth_checks import ACCOUNT
from project_infra.twin import alarms
from project_infra.twin.alarms import AlarmSpec, Datapoint
from project_infra.twin.bus import Bus, rules_from_template
from project_infra.twin.emulator import Emulator


@pytest.fixture(scope="session")
def synthesized(codepipeline_synthesized: Synthesized) -> Synthesized:
    """The twin's CodePipeline and CodeBuild emulation reads this project's stack with [ci] system
    codepipeline (test_ci_jobs.py covers what the twin does for GitHub Actions / GitLab CI)."""
    return codepipeline_synthesized


REGION = "us-east-1"
END = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, Any]]:
    emulator = Emulator(REGION).start()  # the twin's own moto server on 127.0.0.1
    yield {name: emulator.client(name) for name in ("cloudwatch", "events")}
    emulator.stop()


def _spec(**changes: Any) -> AlarmSpec:
    base = AlarmSpec(
        name=f"alarm-{uuid.uuid4().hex[:8]}",
        namespace=f"Twin/{uuid.uuid4().hex[:8]}",  # a namespace per test: one emulator per module
        metric="Errors",
        dimensions={"Endpoint": "prod"},
        statistic="Maximum",
        period=3600,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        threshold=1.0,
        comparison="GreaterThanOrEqualToThreshold",
        treat_missing="missing",
    )
    return replace(base, **changes)


def _put(cloudwatch: Any, spec: AlarmSpec, values: dict[int, float]) -> None:
    """``values``: hours before END -> a value put in that hour's period."""
    cloudwatch.put_metric_data(
        Namespace=spec.namespace,
        MetricData=[
            {
                "MetricName": spec.metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in spec.dimensions.items()],
                "Timestamp": END - hours * HOUR + timedelta(minutes=10),
                "Value": value,
            }
            for hours, value in values.items()
        ],
    )


# --- the documented tables ---------------------------------------------------------------------------

# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html: the
# 5 most recent datapoints retrieved (oldest first; 0 not breaching, X breaching, - missing) and the
# state per TreatMissingData (missing, ignore, breaching, notBreaching); "retain" keeps the state.
TABLES = {
    (3, 3): [
        ("0-X-X", "OK", "OK", "OK", "OK"),
        ("0----", "OK", "OK", "OK", "OK"),
        ("-----", "INSUFFICIENT_DATA", "retain", "ALARM", "OK"),
        ("0XX-X", "ALARM", "ALARM", "ALARM", "ALARM"),
        ("----X", "INSUFFICIENT_DATA", "retain", "ALARM", "OK"),
        ("X----", "ALARM", "retain", "ALARM", "OK"),
    ],
    (2, 3): [
        ("0-X-X", "ALARM", "ALARM", "ALARM", "ALARM"),
        ("00X0X", "ALARM", "ALARM", "ALARM", "ALARM"),
        ("0-X--", "OK", "OK", "ALARM", "OK"),
        ("----0", "OK", "OK", "ALARM", "OK"),
        ("----X", "INSUFFICIENT_DATA", "retain", "ALARM", "OK"),
    ],
}
ROWS = [
    (m, n, points, treatment, state)
    for (m, n), rows in TABLES.items()
    for points, *states in rows
    for treatment, state in zip(
        ("missing", "ignore", "breaching", "notBreaching"), states, strict=True
    )
]


@pytest.mark.parametrize(("m", "n", "points", "treatment", "expected"), ROWS)
def test_the_documented_missing_data_tables(
    m: int, n: int, points: str, treatment: str, expected: str
) -> None:
    spec = _spec(evaluation_periods=n, datapoints_to_alarm=m, treat_missing=treatment)
    values = {"0": 0.0, "X": 5.0, "-": None}
    range_ = [Datapoint(END - (5 - i) * HOUR, values[c]) for i, c in enumerate(points)]
    previous = "ALARM" if expected != "ALARM" else "OK"  # so that "retain" is told apart
    decision = alarms.decide(spec, range_, previous)
    assert decision.state == (previous if expected == "retain" else expected)


# --- on the emulator's datapoints ---------------------------------------------------------------------


def test_a_crossed_threshold_alarms_with_cloudwatchs_reason(clients: dict[str, Any]) -> None:
    spec = _spec()
    _put(clients["cloudwatch"], spec, {1: 3.0})
    evaluation = alarms.evaluate(spec, clients["cloudwatch"], END, "OK")
    assert evaluation.state == "ALARM"
    assert evaluation.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [3.0 (02/12/26 15:00:00)] was greater "
        "than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)."
    )
    assert [p.value for p in evaluation.datapoints] == [3.0]


def test_a_value_below_the_threshold_is_ok(clients: dict[str, Any]) -> None:
    spec = _spec()
    _put(clients["cloudwatch"], spec, {1: 0.0})
    evaluation = alarms.evaluate(spec, clients["cloudwatch"], END, "ALARM")
    assert evaluation.state == "OK"
    assert evaluation.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (02/12/26 15:00:00)] was not "
        "greater than or equal to the threshold (1.0) (minimum 1 datapoint for ALARM -> OK "
        "transition)."
    )


@pytest.mark.parametrize(
    ("treatment", "expected", "reason"),
    [
        (
            "notBreaching",
            "OK",
            "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint "
            "was treated as [NonBreaching].",
        ),
        (
            "breaching",
            "ALARM",
            "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint "
            "was treated as [Breaching].",
        ),
        ("missing", "INSUFFICIENT_DATA", "Insufficient Data: 1 datapoint was unknown."),
        ("ignore", "OK", "Retained OK: too few datapoints, and missing data is ignored."),
    ],
)
def test_no_datapoints_at_all_follow_treat_missing_data(
    clients: dict[str, Any], treatment: str, expected: str, reason: str
) -> None:
    spec = _spec(treat_missing=treatment)
    evaluation = alarms.evaluate(spec, clients["cloudwatch"], END, "OK")
    assert (evaluation.state, evaluation.reason) == (expected, reason)
    assert evaluation.datapoints == ()
    assert len(evaluation.evaluation_range) == 3  # N + 2 periods retrieved


def test_two_breaching_out_of_three_alarm_and_one_does_not(clients: dict[str, Any]) -> None:
    spec = _spec(evaluation_periods=3, datapoints_to_alarm=2)
    _put(clients["cloudwatch"], spec, {3: 2.0, 2: 0.0, 1: 4.0})
    evaluation = alarms.evaluate(spec, clients["cloudwatch"], END)
    assert evaluation.state == "ALARM"
    assert evaluation.reason.startswith(
        "Threshold Crossed: 2 out of the last 3 datapoints [4.0 (02/12/26 15:00:00), "
        "2.0 (02/12/26 13:00:00)] were greater than or equal to the threshold (1.0)"
    )
    assert evaluation.reason.endswith("(minimum 2 datapoints for OK -> ALARM transition).")
    calmer = _spec(evaluation_periods=3, datapoints_to_alarm=2)
    _put(clients["cloudwatch"], calmer, {3: 0.0, 2: 0.0, 1: 4.0})
    assert alarms.evaluate(calmer, clients["cloudwatch"], END).state == "OK"


def test_the_real_drift_alarm_alarms_and_starts_the_drift_rule(
    synthesized: Synthesized, clients: dict[str, Any]
) -> None:
    found = synthesized.resources("AWS::CloudWatch::Alarm")
    (logical_id,) = [k for k in found if "DataDriftAlarm" in k] or [None]
    if logical_id is None:
        pytest.skip(f"no drift alarm at size {synthesized.settings.size}")
    spec = AlarmSpec.from_template(synthesized.resolver.resolve(found[logical_id]["Properties"]))
    cloudwatch = clients["cloudwatch"]
    alarms.create(spec, cloudwatch)
    _put(cloudwatch, spec, {1: 4.0})  # 4 constraint violations in the last hour
    evaluation = alarms.evaluate(spec, cloudwatch, END, "OK")
    assert evaluation.state == "ALARM"
    assert alarms.set_state(spec, evaluation, cloudwatch)
    (stored,) = cloudwatch.describe_alarms(AlarmNames=[spec.name])["MetricAlarms"]
    assert (stored["StateValue"], stored["StateReason"]) == ("ALARM", evaluation.reason)

    region = synthesized.settings.region
    event = alarms.state_change_event(spec, evaluation, "OK", ACCOUNT, region)
    assert event["resources"] == [f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{spec.name}"]
    assert event["detail"]["state"]["value"] == "ALARM"
    assert event["detail"]["previousState"]["value"] == "OK"
    rules = rules_from_template(synthesized.template, synthesized.resolver.resolve)
    deliveries = Bus(rules, clients["events"]).put(event)
    assert {d.rule for d in deliveries} == {k for k in rules if "DataDriftRule" in k}
    (notice,) = [d for d in deliveries if d.target.input_transformer]
    assert f"alarm {spec.name} is ALARM ({evaluation.reason})" in notice.text
    ok = alarms.evaluate(spec, cloudwatch, END + 3 * HOUR, "ALARM")  # no violations since
    assert ok.state == "OK"  # missing data is notBreaching
    assert (
        Bus(rules, clients["events"]).put(
            alarms.state_change_event(spec, ok, evaluation, ACCOUNT, region)
        )
        == []
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"Metrics": []}, "alarm property Metrics is not supported"),
        (
            {"ComparisonOperator": "LessThanLowerThreshold"},
            "ComparisonOperator 'LessThanLowerThreshold'",
        ),
        ({"TreatMissingData": "sometimes"}, "TreatMissingData 'sometimes' is not supported"),
        ({"Statistic": "p99"}, "Statistic 'p99' is not supported"),
    ],
)
def test_unsupported_alarm_forms_are_one_line_errors(change: dict[str, Any], message: str) -> None:
    properties = {
        "AlarmName": "a",
        "Namespace": "n",
        "MetricName": "m",
        "Statistic": "Maximum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanThreshold",
        **change,
    }
    with pytest.raises(ValueError, match=message):
        AlarmSpec.from_template(properties)
