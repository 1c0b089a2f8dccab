"""The project's CDK stack for every size x git provider: synthesized in-process from each bake's
project.toml and repository, with cdk-nag as a gate (zero unacknowledged AwsSolutions findings),
zero cfn-lint errors, zero unacknowledged checkov findings (the project's own scan, over every
template the bake deploys), the layout-dependent resources, the size-dependent schedules and drift alarm,
event patterns matched by a real matcher, and the buildspecs the CodeBuild projects name present in
the bake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.baking import CHECKOV, bake
from tests.matrix import combinations

pytest.importorskip("aws_cdk", reason="aws-cdk-lib is a pinned dev dependency; install it")

from project_infra.builds import BUILDSPECS
from project_infra.scan import load_acknowledgements, run_checkov, unacknowledged
from project_infra.synth import build_app
from project_infra.synth_checks import ACCOUNT, Resolver, event_matches, lint_errors, nag_violations

MATRIX = combinations()


@pytest.mark.parametrize(("name", "extra"), MATRIX, ids=[n for n, _ in MATRIX])
def test_stack_synthesizes_clean(
    template: Path, tmp_path: Path, name: str, extra: dict[str, Any]
) -> None:
    project = bake(template, tmp_path / "bake", extra)
    outdir = tmp_path / "cdk.out"
    (stack,) = build_app(project / "project.toml", outdir).synth().stacks  # nag failure raises
    assert nag_violations(outdir) == []
    template_file = outdir / stack.template_file
    region = extra["aws_region"]
    assert lint_errors(template_file, region) == []
    # The second scanner over what this bake deploys: the stack, the endpoint, the bootstrap.
    endpoint = project / "model-deploy" / "endpoint.yml"
    deployed = [template_file, endpoint]
    deployed += sorted((project / "infra" / "bootstrap").glob("*.yml"))
    # checkov evaluates Conditions with the parameters' defaults: the optional API (HasApi: ApiEnabled
    # and a handler role, both off by default) is scanned in a copy that turns it on.
    with_api = tmp_path / "endpoint-with-api.yml"
    text = endpoint.read_text(encoding="utf-8")
    for old, new in (
        (
            '  ApiEnabled:\n    Type: String\n    AllowedValues: ["true", "false"]\n    Default: "false"\n',
            '  ApiEnabled:\n    Type: String\n    AllowedValues: ["true", "false"]\n    Default: "true"\n',
        ),
        (
            '  ApiHandlerRoleArn:\n    Type: String\n    Default: ""\n',
            '  ApiHandlerRoleArn:\n    Type: String\n    Default: "arn:aws:iam::111111111111:role/api"\n',
        ),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    with_api.write_text(text, "utf-8")
    deployed.append(with_api)
    _, findings = run_checkov(CHECKOV, deployed)
    # the copy's API was scanned (its function has acknowledged findings of its own)
    assert any(
        f.resource == "AWS::Lambda::Function.ApiHandler" and with_api.name in f.file
        for f in findings
    )
    acknowledged = load_acknowledgements(project / "infra" / "scan-acknowledged.toml")
    assert [f.line() for f in unacknowledged(findings, acknowledged)] == []

    cfn = json.loads(template_file.read_text(encoding="utf-8"))
    resources = cfn["Resources"].values()
    kinds = [r["Type"] for r in resources]
    multi = "staging_account_id" in extra
    codecommit = extra["git_provider"] == "codecommit"
    assert kinds.count("AWS::CodeCommit::Repository") == (1 if codecommit else 0)
    external = extra.get("ci_system", "codepipeline") != "codepipeline"
    # GitHub Actions / GitLab CI: no connection, no pipelines; the jobs' roles trust OIDC tokens.
    assert ("CodeConnectionArn" in cfn["Parameters"]) is not (codecommit or external)
    assert ("AWS::CodePipeline::Pipeline" in kinds) is not external
    assert kinds.count("AWS::IAM::OIDCProvider") == (1 if external else 0)
    assert ("GitLabProjectId" in cfn["Parameters"]) is (extra.get("ci_system") == "gitlab-ci")
    assert kinds.count("AWS::SNS::Subscription") == (1 if extra.get("notification_email") else 0)
    # Single layout: the endpoints' role lives here; multi: it comes from bootstrap in each account.
    text = json.dumps(cfn)
    assert ("-model-exec" in text) is multi
    for account in (extra.get("staging_account_id"), extra.get("prod_account_id")):
        if account:
            assert f"iam::{account}:role/${{SageMakerProjectName}}-pipeline-action" in text

    resolver = Resolver(cfn, region)
    (decision,) = [
        r["Properties"]["EventPattern"]
        for key, r in cfn["Resources"].items()
        if r["Type"] == "AWS::Events::Rule" and "ModelPackageDecision" in key
    ]
    slug = project.name
    approved = {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "detail": {"ModelPackageGroupName": f"{slug}-manual", "ModelApprovalStatus": "Approved"},
    }
    assert event_matches(resolver.resolve(decision), approved, region)

    # Issue #7: batch inference for every size; drift monitoring and its alarm for medium/large.
    monitored = extra["mlops_size"] != "small"
    schedules = sorted(
        k.removeprefix("CiCd")[:-8]
        for k, r in cfn["Resources"].items()
        if r["Type"] == "AWS::Scheduler::Schedule"
    )
    assert schedules == sorted(
        ["BatchInference", "Retraining", *(["Monitoring"] if monitored else [])]
    )
    # The data drift alarm and the model quality alarm (ground truth), medium and large only.
    alarms = sorted(
        k.removeprefix("CiCd")[:-8]
        for k, r in cfn["Resources"].items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    )
    assert alarms == (["DataDriftAlarm", "ModelQualityAlarm"] if monitored else [])
    rules = {
        key: r["Properties"]
        for key, r in cfn["Resources"].items()
        if r["Type"] == "AWS::Events::Rule"
    }
    drift_rules = [p for key, p in rules.items() if key.startswith("CiCdDataDriftRule")]
    assert len(drift_rules) == (1 if monitored else 0)
    alarm_name = f"{slug}-manual-data-drift"
    alarm = {
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "resources": [f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{alarm_name}"],
        "detail": {"alarmName": alarm_name, "state": {"value": "ALARM"}},
    }
    for rule in drift_rules:
        assert event_matches(resolver.resolve(rule["EventPattern"]), alarm, region)


@pytest.mark.parametrize("path", BUILDSPECS)
def test_every_buildspec_the_stack_runs_is_generated(
    template: Path, tmp_path: Path, path: str
) -> None:
    """Buildspecs depend on no answer but ci_system (CodePipeline's projects alone have them), so
    one codepipeline bake per size is enough."""
    for size in ("small", "medium", "large"):
        extra = next(
            e for _, e in MATRIX if e["mlops_size"] == size and e["ci_system"] == "codepipeline"
        )
        project = bake(template, tmp_path / size, extra)
        assert (project / path).is_file(), f"{size}: {path} missing"
