"""Offline checks of a synthesized stack, shared by the project's tests and the template's:
cfn-lint errors, the cdk-nag report, and CloudFormation values resolved the way a deploy with the
parameters' defaults would resolve them (to match event patterns against sample events)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cfnlint.api import ManualArgs, lint_file

from project_infra import project_name_handler

ACCOUNT = "123456789012"  # the tooling account of a pretend deploy


def lint_errors(template_file: Path, region: str) -> list[str]:
    """cfn-lint errors (not warnings) of ``template_file`` in ``region``, one line each."""
    matches = lint_file(template_file, ManualArgs(regions=[region]))
    return [f"{m.rule.id} {m.message} ({m.path_string})" for m in matches if m.rule.id[0] == "E"]


def nag_violations(outdir: Path) -> list[str]:
    """Findings in the validation report; CDK writes no report when every check passed."""
    report = outdir / "validation-report.json"
    if not report.is_file():
        return []
    data = json.loads(report.read_text(encoding="utf-8"))
    return [
        f"{v['ruleName']} at {c['constructPath']}"
        for plugin in data.get("pluginReports", [])
        for v in plugin.get("violations", [])
        for c in v.get("violatingConstructs", [])
    ]


class Resolver:
    """Resolves Ref/Fn::Join/Fn::Sub and ``Custom::ProjectName``'s Fn::GetAtt with the parameter
    values (``parameters``, else the defaults) and pseudo values."""

    def __init__(
        self,
        template: dict[str, Any],
        region: str,
        account: str = ACCOUNT,
        parameters: dict[str, str] | None = None,
    ) -> None:
        self.template = template
        self.parameters = parameters or {}
        self.pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::URLSuffix": "amazonaws.com",
        }

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        parameter = self.template.get("Parameters", {}).get(name)
        if name in self.parameters and parameter is not None:
            return self.parameters[name]
        if parameter is not None:
            if "Default" not in parameter:
                raise KeyError(f"parameter {name} has no default")
            return parameter["Default"]
        resource = self.template["Resources"][name]
        if resource["Type"] == "AWS::CodePipeline::Pipeline":
            return self.resolve(resource["Properties"]["Name"])
        if resource["Type"] == "AWS::S3::Bucket":
            # CloudFormation names a bucket without BucketName itself; pretend it is this name.
            return self.resolve(resource["Properties"].get("BucketName", self.bucket_name(name)))
        raise KeyError(f"cannot resolve Ref {name} ({resource['Type']})")

    def _project_name(self, logical_id: str, attribute: str) -> str:
        """What the custom resource's handler answers for the resolved name."""
        properties = self.template["Resources"][logical_id]["Properties"]
        return project_name_handler.data(str(self.resolve(properties["ProjectName"])))[attribute]

    def _is_project_name(self, logical_id: str) -> bool:
        resource = self.template.get("Resources", {}).get(logical_id, {})
        return resource.get("Type") == project_name_handler.RESOURCE_TYPE

    @staticmethod
    def bucket_name(logical_id: str) -> str:
        """The pretend physical name of an unnamed bucket (lowercase, as S3 requires)."""
        return logical_id.lower()

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" or (key == "Fn::GetAtt" and self._is_project_name(argument[0])):
                return self.ref(argument) if key == "Ref" else self._project_name(*argument)
            if key == "Fn::Join":
                return argument[0].join(str(self.resolve(p)) for p in argument[1])
            if key == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                for name, item in variables.items():
                    text = text.replace(f"${{{name}}}", str(self.resolve(item)))
                while "${" in text:
                    start = text.index("${")
                    end = text.index("}", start)
                    text = text[:start] + str(self.ref(text[start + 2 : end])) + text[end + 1 :]
                return text
        return {k: self.resolve(v) for k, v in value.items()}


def event_matches(pattern: dict[str, Any], event: dict[str, Any], region: str) -> bool:
    """Whether EventBridge would route ``event`` (source, detail-type, detail) to a rule with
    ``pattern``: put through moto's EventBridge into an SQS target, so moto's real matcher decides
    (moto 5.2.5 does not implement TestEventPattern). Test dependency: moto, imported here only."""
    import boto3  # noqa: PLC0415 - test-only dependencies
    from moto import mock_aws  # noqa: PLC0415

    with mock_aws():
        sqs = boto3.client("sqs", region_name=region)
        events = boto3.client("events", region_name=region)
        queue = sqs.create_queue(QueueName="matched")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(Name="under-test", EventPattern=json.dumps(pattern))
        events.put_targets(Rule="under-test", Targets=[{"Id": "queue", "Arn": queue_arn}])
        result = events.put_events(
            Entries=[
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "Resources": event.get("resources", []),
                }
            ]
        )
        if result["FailedEntryCount"]:
            raise ValueError(f"event rejected: {result['Entries']}")
        return bool(sqs.receive_message(QueueUrl=queue).get("Messages"))
