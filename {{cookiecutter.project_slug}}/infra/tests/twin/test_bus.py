"""The twin's EventBridge: routing decided by the emulator (moto in server mode), targets' input
rendered as EventBridge renders it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Synthesized

from project_infra.events import NOTHING_STARTED
from project_infra.twin import samples
from project_infra.twin.bus import Bus, Delivery, render_template, rules_from_template
from project_infra.twin.emulator import Emulator


@pytest.fixture(scope="session")
def synthesized(codepipeline_synthesized: Synthesized) -> Synthesized:
    """The twin's CodePipeline and CodeBuild emulation reads this project's stack with [ci] system
    codepipeline (test_ci_jobs.py covers what the twin does for GitHub Actions / GitLab CI)."""
    return codepipeline_synthesized


REGION = "us-east-1"


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, Any]]:
    emulator = Emulator(REGION).start()  # the twin's own moto server on 127.0.0.1
    yield {name: emulator.client(name) for name in ("events", "sqs")}
    emulator.stop()


def _rule(source: str, targets: list[dict[str, Any]], state: str = "ENABLED") -> dict[str, Any]:
    return {"EventPattern": {"source": [source]}, "Targets": targets, "State": state}


def _target(target_id: str, **extra: Any) -> dict[str, Any]:
    return {"Id": target_id, "Arn": f"arn:aws:sns:{REGION}:123456789012:{target_id}", **extra}


def _event(source: str, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    return samples.envelope(source, "Test Event", detail or {}, resources=[], region=REGION)


def _by_rule(deliveries: list[Delivery]) -> dict[str, list[Delivery]]:
    grouped: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        grouped.setdefault(delivery.rule, []).append(delivery)
    return grouped


def test_the_emulator_routes_an_event_to_the_matching_rule_only(clients: dict[str, Any]) -> None:
    bus = Bus(
        {"A": _rule("test.a", [_target("a")]), "B": _rule("test.b", [_target("b")])},
        clients["events"],
        clients["sqs"],
    )
    event = _event("test.a", {"x": 1})
    (delivery,) = bus.put(event)
    assert (delivery.rule, delivery.target.id) == ("A", "a")
    assert json.loads(delivery.payload) == event  # no Input: the event itself
    assert bus.put(_event("test.c")) == []
    assert {r["rule"]: r["matched"] for r in bus.describe()} == {"A": 1, "B": 0}
    bus.close()


def test_two_rules_matching_one_event_both_deliver_to_every_target(
    clients: dict[str, Any],
) -> None:
    bus = Bus(
        {
            "One": _rule("test.same", [_target("one")]),
            "Two": _rule("test.same", [_target("two-a"), _target("two-b", Input='{"k": 1}')]),
        },
        clients["events"],
    )  # the SQS client made from the events client's endpoint and credentials
    grouped = _by_rule(bus.put(_event("test.same")))
    assert {r: [d.target.id for d in ds] for r, ds in grouped.items()} == {
        "One": ["one"],
        "Two": ["two-a", "two-b"],
    }
    assert grouped["Two"][1].payload == '{"k": 1}'  # a constant Input, as written


def test_a_disabled_rule_is_not_routed(clients: dict[str, Any]) -> None:
    bus = Bus(
        {
            "On": _rule("test.state", [_target("on")]),
            "Off": _rule("test.state", [_target("off")], state="DISABLED"),
        },
        clients["events"],
        clients["sqs"],
    )
    assert [d.rule for d in bus.put(_event("test.state"))] == ["On"]
    assert bus.disabled == ["Off"]
    assert "| Off | DISABLED | 0 |" in bus.table()


def test_an_input_transformer_renders_as_eventbridge_documents(clients: dict[str, Any]) -> None:
    transformer = {
        "InputPathsMap": {
            "instance": "$.detail.instance-id",
            "state": "$.detail.state",
            "first": "$.resources[0]",
            "absent": "$.detail.nothing",
        },
        # The "JSON with strings and variables" row of the input transformation page.
        "InputTemplate": (
            '{"instance" : <instance>, "state": "<state>", '
            '"instanceStatus": "instance \\"<instance>\\" is in <state>", '
            '"first": <first>, "absent": "<absent>", "rule": "<aws.events.rule-name>"}'
        ),
    }
    bus = Bus(
        {"Transform": _rule("test.transform", [_target("t", InputTransformer=transformer)])},
        clients["events"],
        clients["sqs"],
    )
    event = samples.envelope(
        "test.transform",
        "EC2 Instance State-change Notification",
        {"instance-id": "i-0123456789", "state": "RUNNING"},
        resources=["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
        region=REGION,
    )
    (delivery,) = bus.put(event)
    assert json.loads(delivery.payload) == {
        "instance": "i-0123456789",
        "state": "RUNNING",
        "instanceStatus": 'instance "i-0123456789" is in RUNNING',
        "first": "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111",
        "absent": "",  # a path not in the event renders as nothing
        "rule": "Transform",
    }
    assert delivery.payload == json.dumps(json.loads(delivery.payload), separators=(",", ":"))


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('"instance <instance> is in <state>"', '"instance i-0123456789 is in RUNNING"'),
        (
            '"instance \\"<instance>\\" is in <state>"',
            '"instance \\"i-0123456789\\" is in RUNNING"',
        ),
        (
            '{"instance" : <instance>, "state": <state>}',
            '{"instance":"i-0123456789","state":"RUNNING"}',
        ),
        ("<instance> is in state <state>", "i-0123456789 is in state RUNNING"),
        ('"<undefined> stays"', '"<undefined> stays"'),
    ],
)
def test_templates_follow_the_documented_examples(template: str, expected: str) -> None:
    values = {"instance": "i-0123456789", "state": "RUNNING"}
    assert render_template(template, values) == expected


def test_an_object_in_a_text_template_goes_in_unescaped() -> None:
    # "EventBridge doesn't escape values extracted by Input Path" (input transformation page).
    rendered = render_template('"<t>: <d>"', {"t": "Failed", "d": {"state": "FAILED"}})
    assert rendered == '"Failed: {"state":"FAILED"}"'


def test_the_real_failure_rule_renders_its_from_text_message(
    synthesized: Synthesized, clients: dict[str, Any]
) -> None:
    rules = rules_from_template(synthesized.template, synthesized.resolver.resolve)
    (failure,) = [r for r in rules if "CiCdPipelineFailure" in r]
    bus = Bus(rules, clients["events"], clients["sqs"])
    pipeline = f"{synthesized.project_name}-manual-build"
    event = samples.codepipeline_execution_state_change(
        pipeline, "FAILED", region=synthesized.settings.region
    )
    (delivery,) = bus.put(event)
    assert delivery.rule == failure
    assert delivery.target.arn.startswith(f"arn:aws:sns:{synthesized.settings.region}:")
    # CDK's RuleTargetInput.from_text: a JSON string literal with the event's fields in it.
    execution = event["detail"]["execution-id"]
    assert delivery.payload.startswith(f'"CodePipeline pipeline {pipeline} failed (execution ')
    assert delivery.text == (
        f"CodePipeline pipeline {pipeline} failed (execution {execution}). {NOTHING_STARTED} "
        "Its failed action and log: the CodePipeline console."
    )
    assert (
        bus.put(samples.codepipeline_execution_state_change(pipeline, "SUCCEEDED", region=REGION))
        == []
    )
