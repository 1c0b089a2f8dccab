"""CloudWatch alarm evaluation for the twin: moto stores metrics and alarms but never evaluates an
alarm, so this module reads the datapoints from the emulator and applies CloudWatch's documented
rules, then writes the state back (SetAlarmState) and builds the "CloudWatch Alarm State Change"
event EventBridge would carry.

Evaluation follows https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
("How alarm state is evaluated when data is missing"): CloudWatch retrieves an evaluation range of
more datapoints than Evaluation Periods (N); with at least N real datapoints in it, the most recent N
are evaluated and missing data is not considered; with fewer, missing slots are filled per
TreatMissingData only as often as needed, every real datapoint in the range counting; ALARM when at
least Datapoints to Alarm (M) of the N are breaching, else OK. The page's tables (3 of 3 and 2 of 3
over 5 retrieved datapoints) are the tests' cases.
"""

from __future__ import annotations

import json
import operator
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from project_infra.twin.samples import envelope

# ComparisonOperator -> (test of value against threshold, words of CloudWatch's reason)
COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
TREATMENTS = ("breaching", "notBreaching", "ignore", "missing")
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
# Extra datapoints retrieved beyond Evaluation Periods: the page's examples retrieve 5 for 3.
EXTRA_RETRIEVED = 2


def _one_of(name: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} {value!r} is not supported: use one of {', '.join(allowed)}")
    return str(value)


@dataclass(frozen=True)
class AlarmSpec:
    """A single-metric alarm, from an AWS::CloudWatch::Alarm's resolved properties."""

    name: str
    namespace: str
    metric: str
    dimensions: dict[str, str]
    statistic: str
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing: str  # breaching | notBreaching | ignore | missing
    description: str = ""

    @classmethod
    def from_template(cls, properties: dict[str, Any]) -> AlarmSpec:
        for unsupported in ("Metrics", "ExtendedStatistic", "ThresholdMetricId"):
            if unsupported in properties:
                raise ValueError(
                    f"alarm property {unsupported} is not supported: the twin evaluates "
                    "single-metric alarms with Statistic, Period and Threshold"
                )
        if "AlarmName" not in properties:
            raise ValueError("alarm without AlarmName: the twin needs the alarm's name")
        periods = int(properties["EvaluationPeriods"])
        return cls(
            name=str(properties["AlarmName"]),
            namespace=str(properties["Namespace"]),
            metric=str(properties["MetricName"]),
            dimensions={d["Name"]: str(d["Value"]) for d in properties.get("Dimensions", [])},
            statistic=_one_of("Statistic", properties.get("Statistic"), STATISTICS),
            period=int(properties["Period"]),
            evaluation_periods=periods,
            datapoints_to_alarm=int(properties.get("DatapointsToAlarm", periods)),
            threshold=float(properties["Threshold"]),
            comparison=_one_of(
                "ComparisonOperator", properties["ComparisonOperator"], list(COMPARISONS)
            ),
            treat_missing=_one_of(
                "TreatMissingData", properties.get("TreatMissingData", "missing"), TREATMENTS
            ),
            description=str(properties.get("AlarmDescription", "")),
        )

    def breaches(self, value: float) -> bool:
        test, _ = COMPARISONS[self.comparison]
        return test(value, self.threshold)

    def arn(self, account: str, region: str) -> str:
        return f"arn:aws:cloudwatch:{region}:{account}:alarm:{self.name}"


@dataclass(frozen=True)
class Datapoint:
    timestamp: datetime  # start of the period
    value: float | None  # None: no datapoint in that period


@dataclass(frozen=True)
class Decision:
    """The outcome of the documented rules on an evaluation range."""

    state: str
    evaluated: tuple[Datapoint, ...]  # the real datapoints that decided it
    filled: int  # missing datapoints filled per TreatMissingData
    counted: int  # breaching (ALARM) or not breaching (OK) datapoints, fills included


@dataclass(frozen=True)
class AlarmEvaluation:
    state: str  # OK | ALARM | INSUFFICIENT_DATA
    reason: str
    reason_data: str  # JSON, as CloudWatch's StateReasonData
    datapoints: tuple[Datapoint, ...]  # the real datapoints used
    evaluation_range: tuple[Datapoint, ...]  # every period retrieved, oldest first
    timestamp: datetime


def decide(spec: AlarmSpec, points: Sequence[Datapoint], previous_state: str) -> Decision:
    """The state the documented rules give for ``points`` (the evaluation range, oldest first)."""
    n, m = spec.evaluation_periods, spec.datapoints_to_alarm
    real = [p for p in points if p.value is not None]
    if len(real) >= n:  # enough real datapoints: missing data is not considered
        return _count(spec, tuple(real[-n:]), filled=0, fills_breach=False)
    if spec.treat_missing in ("breaching", "notBreaching"):
        return _count(
            spec, tuple(real), filled=n - len(real), fills_breach=spec.treat_missing == "breaching"
        )
    if not real:
        state = "INSUFFICIENT_DATA" if spec.treat_missing == "missing" else previous_state
        return Decision(state, (), 0, 0)
    return _partial(spec, points, real, m, previous_state)


def _count(
    spec: AlarmSpec, evaluated: tuple[Datapoint, ...], filled: int, fills_breach: bool
) -> Decision:
    breaching = [p for p in evaluated if spec.breaches(p.value)]  # type: ignore[arg-type]
    total = len(breaching) + (filled if fills_breach else 0)
    if total >= spec.datapoints_to_alarm:
        return Decision("ALARM", tuple(breaching), filled, total)
    calm = [p for p in evaluated if p not in breaching]
    return Decision("OK", tuple(calm), filled, len(calm) + (0 if fills_breach else filled))


def _partial(
    spec: AlarmSpec,
    points: Sequence[Datapoint],
    real: list[Datapoint],
    m: int,
    previous_state: str,
) -> Decision:
    """Fewer than N real datapoints with missing data treated as missing or ignored: the tables'
    rows give ALARM once M real ones breach, OK once one real one does not, and for only breaching
    ones ALARM ("missing") when the oldest retrieved datapoint is breaching, else no decision."""
    breaching = tuple(p for p in real if spec.breaches(p.value))  # type: ignore[arg-type]
    calm = tuple(p for p in real if p not in breaching)
    if len(breaching) >= m:
        return Decision("ALARM", breaching, 0, len(breaching))
    if calm:
        return Decision("OK", calm, 0, len(calm))
    if spec.treat_missing == "missing" and points[0].value is not None:
        return Decision("ALARM", breaching, 0, len(breaching))
    state = "INSUFFICIENT_DATA" if spec.treat_missing == "missing" else previous_state
    return Decision(state, (), 0, 0)


# --- reading the emulator ---------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def evaluation_range(
    spec: AlarmSpec, cloudwatch: Any, end: datetime, size: int | None = None
) -> tuple[Datapoint, ...]:
    """The statistic of each of the ``size`` periods (default N + 2) ending at ``end``, oldest
    first, read with GetMetricStatistics one period at a time (moto buckets from the first
    datapoint it finds, not from StartTime)."""
    end = _utc(end).replace(microsecond=0)
    size = size or spec.evaluation_periods + EXTRA_RETRIEVED
    step = timedelta(seconds=spec.period)
    points = []
    for index in range(size, 0, -1):
        start = end - index * step
        found = cloudwatch.get_metric_statistics(
            Namespace=spec.namespace,
            MetricName=spec.metric,
            Dimensions=[{"Name": k, "Value": v} for k, v in spec.dimensions.items()],
            StartTime=start,
            EndTime=start + step,
            Period=spec.period,
            Statistics=[spec.statistic],
        )["Datapoints"]
        points.append(Datapoint(start, float(found[0][spec.statistic]) if found else None))
    return tuple(points)


def evaluate(
    spec: AlarmSpec,
    cloudwatch: Any,
    end: datetime,
    previous_state: str = "INSUFFICIENT_DATA",
    *,
    range_size: int | None = None,
) -> AlarmEvaluation:
    """Evaluate ``spec`` at ``end`` on the emulator's datapoints (``cloudwatch``: a boto3
    "cloudwatch" client of it). ``previous_state`` is kept when missing data is ignored."""
    _one_of("previous state", previous_state, STATES)
    points = evaluation_range(spec, cloudwatch, end, range_size)
    decision = decide(spec, points, previous_state)
    moment = _utc(end)
    return AlarmEvaluation(
        state=decision.state,
        reason=reason(spec, decision, points, previous_state),
        reason_data=_reason_data(spec, decision, points, moment),
        datapoints=tuple(p for p in points if p.value is not None),
        evaluation_range=points,
        timestamp=moment,
    )


# --- CloudWatch's words ----------------------------------------------------------------------------


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _was(count: int) -> str:
    return "was" if count == 1 else "were"


def _shown(points: Sequence[Datapoint]) -> str:
    """Datapoints as CloudWatch lists them: newest first, value (dd/mm/yy HH:MM:SS)."""
    return ", ".join(
        f"{p.value!r} ({p.timestamp.strftime('%d/%m/%y %H:%M:%S')})" for p in reversed(points)
    )


def reason(
    spec: AlarmSpec, decision: Decision, points: Sequence[Datapoint], previous_state: str
) -> str:
    """A StateReason in CloudWatch's words, e.g. "Threshold Crossed: 1 out of the last 1 datapoints
    [3.0 (02/12/26 15:00:00)] was greater than or equal to the threshold (1.0) (minimum 1 datapoint
    for OK -> ALARM transition)."."""
    n, m = spec.evaluation_periods, spec.datapoints_to_alarm
    if decision.state == "INSUFFICIENT_DATA":
        unknown = n - len([p for p in points if p.value is not None])
        return (
            f"Insufficient Data: {_plural(max(unknown, 1), 'datapoint')} {_was(unknown)} unknown."
        )
    if not decision.evaluated and not decision.filled:
        return f"Retained {previous_state}: too few datapoints, and missing data is ignored."
    treated = "Breaching" if spec.treat_missing == "breaching" else "NonBreaching"
    if not decision.evaluated:
        return (
            f"Threshold Crossed: no datapoints were received for {_plural(n, 'period')} and "
            f"{_plural(decision.filled, 'missing datapoint')} {_was(decision.filled)} treated as "
            f"[{treated}]."
        )
    _, words = COMPARISONS[spec.comparison]
    alarm = decision.state == "ALARM"
    minimum = m if alarm else n - m + 1
    fills = (
        f" and {_plural(decision.filled, 'missing datapoint')} {_was(decision.filled)} treated as "
        f"[{treated}]"
        if decision.filled
        else ""
    )
    return (
        f"Threshold Crossed: {decision.counted} out of the last {n} datapoints "
        f"[{_shown(decision.evaluated)}] {_was(decision.counted)} {'' if alarm else 'not '}{words} "
        f"the threshold ({spec.threshold!r}){fills} (minimum {_plural(minimum, 'datapoint')} for "
        f"{'OK -> ALARM' if alarm else 'ALARM -> OK'} transition)."
    )


def _cloudwatch_time(moment: datetime) -> str:
    """CloudWatch's timestamps in events: 2019-10-02T17:04:40.989+0000."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _reason_data(
    spec: AlarmSpec, decision: Decision, points: Sequence[Datapoint], moment: datetime
) -> str:
    evaluated = sorted(decision.evaluated, key=lambda p: p.timestamp)
    start = evaluated[0].timestamp if evaluated else points[0].timestamp
    return json.dumps(
        {
            "version": "1.0",
            "queryDate": _cloudwatch_time(moment),
            "startDate": _cloudwatch_time(start),
            "statistic": spec.statistic,
            "period": spec.period,
            "recentDatapoints": [p.value for p in evaluated],
            "threshold": spec.threshold,
        },
        separators=(",", ":"),
    )


# --- the emulator's alarm and the event -------------------------------------------------------------


def create(spec: AlarmSpec, cloudwatch: Any) -> None:
    """Create (or update) the alarm of ``spec`` in the emulator, without actions."""
    cloudwatch.put_metric_alarm(
        AlarmName=spec.name,
        AlarmDescription=spec.description,
        Namespace=spec.namespace,
        MetricName=spec.metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in spec.dimensions.items()],
        Statistic=spec.statistic,
        Period=spec.period,
        EvaluationPeriods=spec.evaluation_periods,
        DatapointsToAlarm=spec.datapoints_to_alarm,
        Threshold=spec.threshold,
        ComparisonOperator=spec.comparison,
        TreatMissingData=spec.treat_missing,
        ActionsEnabled=False,
    )


def set_state(spec: AlarmSpec, evaluation: AlarmEvaluation, cloudwatch: Any) -> bool:
    """Record ``evaluation`` on the emulator's alarm (SetAlarmState), so the emulator holds the
    state; False when the alarm is not in the emulator (see :func:`create`)."""
    if not cloudwatch.describe_alarms(AlarmNames=[spec.name])["MetricAlarms"]:
        return False
    cloudwatch.set_alarm_state(
        AlarmName=spec.name,
        StateValue=evaluation.state,
        StateReason=evaluation.reason[:1023],  # the API's limit
        StateReasonData=evaluation.reason_data,
    )
    return True


def _state(evaluation: AlarmEvaluation | str, moment: datetime) -> dict[str, Any]:
    if isinstance(evaluation, str):
        value = _one_of("previous state", evaluation, STATES)
        return {
            "reason": "Unchecked: Initial alarm creation",
            "timestamp": _cloudwatch_time(moment),
            "value": value,
        }
    return {
        "reason": evaluation.reason,
        "reasonData": evaluation.reason_data,
        "timestamp": _cloudwatch_time(evaluation.timestamp),
        "value": evaluation.state,
    }


# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
# ("State change for a single-metric alarm")
def state_change_event(
    spec: AlarmSpec,
    evaluation: AlarmEvaluation,
    previous: AlarmEvaluation | str,
    account: str,
    region: str,
) -> dict[str, Any]:
    """The "CloudWatch Alarm State Change" event of a change from ``previous`` (an evaluation, or
    a state such as the INSUFFICIENT_DATA of a new alarm) to ``evaluation``."""
    detail = {
        "alarmName": spec.name,
        "configuration": {
            "description": spec.description,
            "metrics": [
                {
                    "id": str(uuid.uuid4()),
                    "metricStat": {
                        "metric": {
                            "dimensions": dict(spec.dimensions),
                            "name": spec.metric,
                            "namespace": spec.namespace,
                        },
                        "period": spec.period,
                        "stat": spec.statistic,
                    },
                    "returnData": True,
                }
            ],
        },
        "previousState": _state(previous, evaluation.timestamp),
        "state": _state(evaluation, evaluation.timestamp),
    }
    return envelope(
        "aws.cloudwatch",
        "CloudWatch Alarm State Change",
        detail,
        resources=[spec.arn(account, region)],
        region=region,
        account=account,
        time=evaluation.timestamp,
    )
