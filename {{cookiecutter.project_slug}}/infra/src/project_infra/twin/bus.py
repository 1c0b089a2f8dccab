"""The twin's EventBridge: the template's rules created in the emulator (moto), which decides what
matches; this module only renders what each matched rule's targets would receive.

Each enabled rule goes onto a bus of its own name in the emulator with one SQS queue as its only
target (moto cannot deliver to CodePipeline, SNS or SageMaker targets), so the queues that got an
event are the rules that matched it. The template's real targets are kept here and rendered the way
EventBridge renders them: the event itself, a constant ``Input``, ``InputPath``, or an
``InputTransformer``.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3

Event = dict[str, Any]

_MISSING = object()  # a JSONPath that is not in the event
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_PATH_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
RULE_NAME_MAX = 64  # EventBridge rule names: 1-64 characters


@dataclass(frozen=True)
class Target:
    """One rule target from the template, resolved."""

    rule: str  # logical id of the rule
    id: str
    arn: str
    input: str | None  # Input (a constant JSON text), if any
    input_transformer: dict[str, Any] | None  # {"InputPathsMap": {...}, "InputTemplate": "..."}
    role_arn: str | None
    input_path: str | None = None

    @classmethod
    def from_template(cls, rule: str, target: dict[str, Any]) -> Target:
        return cls(
            rule=rule,
            id=target["Id"],
            arn=target["Arn"],
            input=target.get("Input"),
            input_transformer=target.get("InputTransformer"),
            role_arn=target.get("RoleArn"),
            input_path=target.get("InputPath"),
        )


@dataclass
class Delivery:
    rule: str
    target: Target
    payload: str  # what the target receives: the event JSON, the Input, or the transformed text

    @property
    def text(self) -> str:
        """The payload as text: a JSON string literal (``RuleTargetInput.from_text``) unquoted."""
        if len(self.payload) >= 2 and self.payload[0] == self.payload[-1] == '"':
            try:
                return str(json.loads(self.payload))
            except ValueError:
                # Values are inserted unescaped (see render_template), so a string with an object
                # in it is not valid JSON; its text is what is between the quotes.
                return self.payload[1:-1]
        return self.payload


@dataclass
class _EmulatedRule:
    name: str
    arn: str
    queue_url: str
    targets: list[Target] = field(default_factory=list)


# --- the template ---------------------------------------------------------------------------------

# Attributes the shared Resolver leaves alone, rewritten as intrinsics it resolves: the ARNs
# CloudFormation would give these resources (named by their name property, else the logical id).
_PRETEND_ARNS: dict[str, tuple[str, str]] = {
    # type: (ARN prefix after "arn:<partition>:", name property)
    "AWS::IAM::Role": ("iam::{account}:role/", "RoleName"),
    "AWS::CodeCommit::Repository": ("codecommit:{region}:{account}:", "RepositoryName"),
    "AWS::SNS::Topic": ("sns:{region}:{account}:", "TopicName"),
    "AWS::SQS::Queue": ("sqs:{region}:{account}:", "QueueName"),
}


def _pretend_arn(template: dict[str, Any], logical_id: str) -> dict[str, Any] | None:
    resource = template.get("Resources", {}).get(logical_id)
    if resource is None or resource["Type"] not in _PRETEND_ARNS:
        return None
    prefix, name_property = _PRETEND_ARNS[resource["Type"]]
    parts: list[Any] = ["arn:", {"Ref": "AWS::Partition"}, ":"]
    for piece in re.split(r"(\{region\}|\{account\})", prefix):
        if piece == "{region}":
            parts.append({"Ref": "AWS::Region"})
        elif piece == "{account}":
            parts.append({"Ref": "AWS::AccountId"})
        elif piece:
            parts.append(piece)
    parts.append(resource.get("Properties", {}).get(name_property, logical_id))
    return {"Fn::Join": ["", parts]}


def _with_pretend_arns(template: dict[str, Any], value: Any) -> Any:
    if isinstance(value, list):
        return [_with_pretend_arns(template, v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        logical_id = None
        if key == "Fn::GetAtt":
            logical_id, attribute = (
                argument.split(".", 1) if isinstance(argument, str) else argument
            )
            logical_id = logical_id if attribute in ("Arn", "TopicArn") else None
        elif key == "Ref" and isinstance(argument, str):
            # Ref of a topic is its ARN; other Refs are the Resolver's.
            resource = template.get("Resources", {}).get(argument, {})
            logical_id = argument if resource.get("Type") == "AWS::SNS::Topic" else None
        if logical_id is not None:
            arn = _pretend_arn(template, logical_id)
            if arn is not None:
                return arn
    return {k: _with_pretend_arns(template, v) for k, v in value.items()}


def rules_from_template(
    template: dict[str, Any], resolve: Callable[[Any], Any]
) -> dict[str, dict[str, Any]]:
    """Every AWS::Events::Rule of ``template``: logical id -> {"EventPattern", "Targets", "State"},
    resolved with ``resolve`` (e.g. ``checks.Resolver(...).resolve``). ARNs of roles, topics,
    queues and CodeCommit repositories, which that resolver leaves alone, become the ARNs
    CloudFormation would give them."""
    rules = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource["Type"] != "AWS::Events::Rule":
            continue
        properties = _with_pretend_arns(template, resource.get("Properties", {}))
        pattern = resolve(properties.get("EventPattern", {}))
        rules[logical_id] = {
            "EventPattern": json.loads(pattern) if isinstance(pattern, str) else pattern,
            "Targets": resolve(properties.get("Targets", [])),
            "State": resolve(properties.get("State", "ENABLED")),
        }
    return rules


# --- input transformation -------------------------------------------------------------------------


def json_path(event: Any, path: str) -> Any:
    """The value at ``path`` ($, $.detail.x, $.resources[0], $.detail-type), or ``_MISSING``:
    the dot and index notation EventBridge's input paths use."""
    if not path.startswith("$"):
        raise ValueError(f"input path {path!r} is not a JSONPath: it must start with '$'")
    rest, value = path[1:], event
    position = 0
    for match in _PATH_STEP.finditer(rest):
        if match.start() != position:
            break
        position = match.end()
        key, index = match.groups()
        if key is not None and isinstance(value, dict) and key in value:
            value = value[key]
        elif index is not None and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return _MISSING
    if position != len(rest):
        raise ValueError(f"input path {path!r} is not supported: use $.a.b and [n] steps only")
    return value


def _minified(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _value_text(value: Any, in_json_string: bool) -> str:
    # EventBridge does not escape inserted values: a string goes in raw inside a JSON string and
    # quoted elsewhere in a JSON template; objects, arrays and numbers go in as JSON.
    if value is _MISSING:
        return ""
    if isinstance(value, str):
        return value if in_json_string else json.dumps(value)
    return _minified(value)


def render_template(template: str, values: dict[str, Any]) -> str:
    """``template`` with each <name> replaced by ``values[name]``, as EventBridge fills an
    InputTemplate (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html):
    a template starting with ``{``, ``[`` or ``"`` is JSON, where a string value is quoted unless
    the placeholder is inside a JSON string; any other template is plain text, where values go in
    raw. A name whose path is not in the event renders as nothing ("that variable isn't created and
    won't appear in the output"); a name that is not defined stays as written. JSON output is
    minified, as EventBridge passes it."""
    is_json = template.lstrip()[:1] in ("{", "[", '"')
    out: list[str] = []
    in_string = escaped = False
    position = 0
    while position < len(template):
        char = template[position]
        match = _PLACEHOLDER.match(template, position) if char == "<" else None
        if match and match.group(1) in values:
            out.append(_value_text(values[match.group(1)], in_string or not is_json))
            position = match.end()
            continue
        if is_json:
            if escaped:
                escaped = False
            elif char == "\\" and in_string:
                escaped = True
            elif char == '"':
                in_string = not in_string
        out.append(char)
        position += 1
    text = "".join(out)
    if template.lstrip()[:1] in ("{", "["):
        try:
            return _minified(json.loads(text))
        except ValueError:
            return text
    return text


def _predefined(event: Event, rule_name: str, rule_arn: str) -> dict[str, Any]:
    """EventBridge's reserved variables (same page as render_template)."""
    return {
        "aws.events.rule-arn": rule_arn,
        "aws.events.rule-name": rule_name,
        "aws.events.event.ingestion-time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        # "The original event payload as JSON (without the detail field)".
        "aws.events.event": {k: v for k, v in event.items() if k != "detail"},
        "aws.events.event.json": event,
    }


def render(target: Target, event: Event, rule_name: str = "", rule_arn: str = "") -> str:
    """What ``target`` receives for ``event``: Input, else the transformed input, else the event
    (or the part at InputPath) as minified JSON."""
    if target.input is not None:
        return target.input
    if target.input_transformer is not None:
        transformer = target.input_transformer
        values = _predefined(event, rule_name, rule_arn)
        for name, path in transformer.get("InputPathsMap", {}).items():
            values[name] = json_path(event, path)
        return render_template(transformer["InputTemplate"], values)
    if target.input_path is not None:
        value = json_path(event, target.input_path)
        return "" if value is _MISSING else _minified(value)
    return _minified(event)


# --- the bus ---------------------------------------------------------------------------------------


def _rule_name(logical_id: str) -> str:
    """The logical id, shortened with a hash when it is longer than a rule name may be."""
    if len(logical_id) <= RULE_NAME_MAX:
        return logical_id
    digest = hashlib.sha1(logical_id.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{logical_id[: RULE_NAME_MAX - 9]}-{digest}"


def _sqs_like(client: Any) -> Any:
    """An SQS client with ``client``'s endpoint, region and credentials."""
    credentials = client._request_signer._credentials.get_frozen_credentials()
    return boto3.client(
        "sqs",
        region_name=client.meta.region_name,
        endpoint_url=client.meta.endpoint_url,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
    )


def _event_time(event: Event) -> datetime | None:
    if "time" not in event:
        return None
    return datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))


class Bus:
    """The template's rules in the emulator's EventBridge, on a bus of their own."""

    def __init__(self, rules: dict[str, dict[str, Any]], client: Any, sqs: Any = None) -> None:
        """``rules``: logical id -> {"EventPattern": dict, "Targets": [...], "State": ...}, as
        :func:`rules_from_template` gives them; ``client``: a boto3 "events" client of the
        emulator; ``sqs``: an SQS client of it (default: one like ``client``)."""
        self.events = client
        self.sqs = sqs if sqs is not None else _sqs_like(client)
        self.name = f"twin-{uuid.uuid4().hex[:12]}"
        self.events.create_event_bus(Name=self.name)
        self._rules: dict[str, _EmulatedRule] = {}
        self.disabled: list[str] = []
        self.matched: Counter[str] = Counter()
        for index, (logical_id, rule) in enumerate(rules.items()):
            if rule.get("State", "ENABLED") == "DISABLED":
                self.disabled.append(logical_id)  # EventBridge routes nothing to it
                continue
            self._rules[logical_id] = self._create(logical_id, rule, index)

    def _create(self, logical_id: str, rule: dict[str, Any], index: int) -> _EmulatedRule:
        name = _rule_name(logical_id)
        pattern = rule["EventPattern"]  # a dict, or JSON text as CloudFormation also takes it
        arn = self.events.put_rule(
            Name=name,
            EventBusName=self.name,
            EventPattern=pattern if isinstance(pattern, str) else json.dumps(pattern),
            State="ENABLED",
        )["RuleArn"]
        queue_url = self.sqs.create_queue(QueueName=f"{self.name}-{index}")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.events.put_targets(
            Rule=name, EventBusName=self.name, Targets=[{"Id": "observe", "Arn": queue_arn}]
        )
        targets = [Target.from_template(logical_id, t) for t in rule.get("Targets", [])]
        return _EmulatedRule(name, arn, queue_url, targets)

    def put(self, event: Event) -> list[Delivery]:
        """Send ``event`` (a full EventBridge event) through the emulator: a delivery for each
        target of each rule that matched it. The emulator sets id and account itself; it matches
        on source, detail-type, detail, resources and time, which go in from ``event``."""
        entry: dict[str, Any] = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event.get("detail", {})),
            "Resources": event.get("resources", []),
            "EventBusName": self.name,
        }
        time = _event_time(event)
        if time is not None:
            entry["Time"] = time
        result = self.events.put_events(Entries=[entry])
        if result["FailedEntryCount"]:
            raise ValueError(f"the emulator rejected the event: {result['Entries'][0]}")
        event_id = result["Entries"][0]["EventId"]
        deliveries = []
        for logical_id, rule in self._rules.items():
            if self._received(rule.queue_url, event_id):
                self.matched[logical_id] += 1
                deliveries += [
                    Delivery(logical_id, t, render(t, event, rule.name, rule.arn))
                    for t in rule.targets
                ]
        return deliveries

    def _received(self, queue_url: str, event_id: str) -> bool:
        # moto delivers to SQS inside PutEvents, so a receive without waiting sees the message.
        messages = self.sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        for message in messages:
            self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return any(json.loads(m["Body"]).get("id") == event_id for m in messages)

    def describe(self) -> list[dict[str, Any]]:
        """Per rule of the template: logical id, name in the emulator, state, targets, matches."""
        rows = [
            {
                "rule": logical_id,
                "name": rule.name,
                "state": "ENABLED",
                "targets": [t.arn for t in rule.targets],
                "matched": self.matched[logical_id],
            }
            for logical_id, rule in self._rules.items()
        ]
        rows += [
            {"rule": r, "name": None, "state": "DISABLED", "targets": [], "matched": 0}
            for r in self.disabled
        ]
        return rows

    def table(self) -> str:
        """:meth:`describe` as a Markdown table, for the twin's report."""
        lines = ["| rule | state | matched |", "| --- | --- | --- |"]
        lines += [f"| {r['rule']} | {r['state']} | {r['matched']} |" for r in self.describe()]
        return "\n".join(lines)

    def close(self) -> None:
        """Remove this bus's rules, queues and bus from the emulator."""
        for rule in self._rules.values():
            self.events.remove_targets(Rule=rule.name, EventBusName=self.name, Ids=["observe"])
            self.events.delete_rule(Name=rule.name, EventBusName=self.name)
            self.sqs.delete_queue(QueueUrl=rule.queue_url)
        self.events.delete_event_bus(Name=self.name)
        self._rules.clear()
