"""GitHub Actions and GitLab CI ([ci] system): this project's stack synthesized for each (whatever
system the project has), checked against the CodePipeline stack of the same settings: every step's
job gets the CodeBuild project's variables and permissions, roles trust only this repository's OIDC
tokens, and the approval and release-image events reach the CI's API in the shape it takes."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template
from awscli.customizations.cloudformation import deployer
from conftest import Synthesized

from project_infra import external_ci
from project_infra.parameters import Parameters
from project_infra.settings import CiSettings
from project_infra.synth_checks import ACCOUNT, Resolver, lint_errors, nag_violations
from project_names import CI_JOBS, Names

PROJECT = Path(__file__).resolve().parents[2]
DOTENV_LINE = re.compile(r"[A-Z][A-Z0-9_]*=[A-Za-z0-9:/@._,+=*-]*")
SSM_STANDARD_VALUE = 4096  # characters of a Standard-tier parameter's value
# Repository parameters as a deploy would pass them.
PARAMETERS = {
    "RepositoryOwner": "ml-team",
    "RepositoryName": "mammography",
    "BranchName": "main",
    "GitLabProjectId": "4242",
}
# The endpoint-test buildspec passes STAGING_TEST_ROLE_ARN as the TEST_ROLE_ARN that
# model-deploy/ci/endpoint-tests.sh reads; the staging job's environment has it under that name.
RENAMED = {"STAGING_TEST_ROLE_ARN": "TEST_ROLE_ARN"}


class _Placeholders(Resolver):
    """Resolves what a deploy would, and gives the resources' own Refs and attributes stand-in
    values of their shape (an ARN for ``Arn``), so two stacks' values compare."""

    def ref(self, name: str) -> Any:
        resource = self.template["Resources"].get(name, {})
        if resource.get("Type") == "AWS::SSM::Parameter":
            return self.resolve(resource["Properties"]["Name"])
        try:
            return super().ref(name)
        except KeyError:
            return f"ref-{name.lower()}"

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Fn::GetAtt" and not self._is_project_name(argument[0]):
                logical_id, attribute = argument[0].lower(), argument[1]
                if attribute.endswith("Arn"):
                    return f"arn:aws:stand-in:{self.pseudo['AWS::Region']}:{ACCOUNT}:{logical_id}"
                return f"getatt-{logical_id}-{attribute.lower()}"
            if key == "Fn::Split":
                return str(self.resolve(argument[1])).split(argument[0])
            if key == "Fn::Select":
                return self.resolve(argument[1])[int(argument[0])]
        return super().resolve(value)


def _resolve(stack: Synthesized, value: Any) -> Any:
    return _Placeholders(stack.template, stack.settings.region, parameters=PARAMETERS).resolve(
        value
    )


@pytest.fixture(scope="module")
def external(external_synthesized: Synthesized) -> Synthesized:
    return external_synthesized


def test_a_given_identity_provider_is_used_not_created() -> None:
    """[ci] oidc_provider_arn: the account's provider (one per issuer URL) is the principal."""
    given = "arn:aws:iam::210987654321:oidc-provider/gitlab.example.com"
    stack = Stack(App(), "Given")
    ci = CiSettings(
        "gitlab-ci",
        oidc_provider_arn=given,
        dispatch_token_secret="s",
        gitlab_url="https://gitlab.example.com",
    )
    parameters = Parameters(
        "p", "manual", "main", "", "", "", repository_owner="g", repository_name="r"
    )
    external_ci.ExternalCi(stack, "Ci", ci=ci, names=Names("p", "manual"), parameters=parameters)
    template = Template.from_stack(stack).to_json()
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert "AWS::IAM::OIDCProvider" not in kinds
    roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert len(roles) == len(CI_JOBS)
    for role in roles:
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Federated": given}
        assert statement["Condition"]["StringEquals"]["gitlab.example.com:sub"] == (
            "project_path:g/r:ref_type:branch:ref:main"
        )


@pytest.fixture(scope="module")
def codepipeline(codepipeline_synthesized: Synthesized) -> Synthesized:
    return codepipeline_synthesized


def _job_of_role(stack: Synthesized) -> dict[str, str]:
    """Logical id of each CI job's role."""
    found = {}
    for key, role in stack.resources("AWS::IAM::Role").items():
        name = _resolve(stack, role["Properties"].get("RoleName", ""))
        for job in CI_JOBS:
            if name == Names(stack.settings.slug).ci_role(job):
                found[job] = key
    return found


def _statements(stack: Synthesized, role_key: str) -> list[dict[str, Any]]:
    statements = []
    for policy in stack.resources("AWS::IAM::Policy").values():
        roles = [r.get("Ref") for r in policy["Properties"].get("Roles", [])]
        if role_key in roles:
            statements += _resolve(stack, policy["Properties"]["PolicyDocument"])["Statement"]
    return statements


def _grants(statements: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(action, resource, condition) triples, so split statements compare equal."""
    found = set()
    for statement in statements:
        actions = statement["Action"]
        resources = statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            for resource in [resources] if isinstance(resources, str) else resources:
                found.add((action, json.dumps(resource), json.dumps(statement.get("Condition"))))
    return found


def _environment(stack: Synthesized, job: str) -> dict[str, str]:
    (parameter,) = [
        p
        for p in stack.resources("AWS::SSM::Parameter").values()
        if _resolve(stack, p["Properties"]["Name"])
        == Names(stack.settings.slug).ci_environment(job)
    ]
    value = _resolve(stack, parameter["Properties"]["Value"])
    assert len(value) <= SSM_STANDARD_VALUE
    lines = value.split("\n")
    bad = [line for line in lines if not DOTENV_LINE.fullmatch(line)]
    assert not bad, f"ci/job-env.sh refuses these lines of {job}: {bad}"
    return dict(line.split("=", 1) for line in lines)


def _codebuild_environment(stack: Synthesized, step: str) -> dict[str, str]:
    (project,) = [
        p
        for key, p in stack.resources("AWS::CodeBuild::Project").items()
        if key.startswith(f"CiCd{step}")
    ]
    variables = project["Properties"]["Environment"].get("EnvironmentVariables", [])
    return {v["Name"]: _resolve(stack, v["Value"]) for v in variables}


def test_no_codepipeline_no_codebuild_no_connection(external: Synthesized) -> None:
    kinds = {r["Type"] for r in external.template["Resources"].values()}
    assert not {k for k in kinds if k.startswith(("AWS::CodePipeline::", "AWS::CodeBuild::"))}
    assert "CodeConnectionArn" not in external.template["Parameters"]
    assert ("GitLabProjectId" in external.template["Parameters"]) is (
        external.settings.ci.system == "gitlab-ci"
    )
    assert lint_errors(external.template_file, external.settings.region) == []
    assert nag_violations(external.outdir) == []


def test_each_job_trusts_only_this_repositorys_tokens(external: Synthesized) -> None:
    ci = external.settings.ci
    providers = external.resources("AWS::IAM::OIDCProvider")
    if ci.oidc_provider_arn:
        assert not providers
    else:
        (provider,) = providers.values()
        assert provider["Properties"]["Url"] == (
            external_ci.GITHUB_ISSUER if ci.system == "github-actions" else ci.gitlab_url
        )
        assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]
    roles = external.resources("AWS::IAM::Role")
    prefix = (
        "token.actions.githubusercontent.com"
        if ci.system == "github-actions"
        else ci.gitlab_url.removeprefix("https://")
    )
    repository = "ml-team/mammography"
    for job, key in _job_of_role(external).items():
        (statement,) = _resolve(external, roles[key]["Properties"]["AssumeRolePolicyDocument"])[
            "Statement"
        ]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        federated = statement["Principal"]["Federated"]
        if ci.oidc_provider_arn:
            assert federated == ci.oidc_provider_arn
        if ci.system == "github-actions":
            subject = (
                f"repo:{repository}:environment:{job}"
                if job in ("staging", "prod")
                else f"repo:{repository}:ref:refs/heads/main"
            )
        else:
            subject = f"project_path:{repository}:ref_type:branch:ref:main"
        assert statement["Condition"] == {
            "StringEquals": {f"{prefix}:aud": "sts.amazonaws.com", f"{prefix}:sub": subject}
        }
    assert sorted(_job_of_role(external)) == sorted(CI_JOBS)


def test_each_step_gets_the_codebuild_projects_variables(
    external: Synthesized, codepipeline: Synthesized
) -> None:
    """What the CodeBuild project of a step has, its job has (STAGING_TEST_ROLE_ARN under the
    name the script reads); besides, every job knows the project name."""
    script = PROJECT / "model-deploy" / "ci" / "endpoint-tests.sh"
    assert "${TEST_ROLE_ARN:-}" in script.read_text(encoding="utf-8")
    expected: dict[str, dict[str, str]] = {job: {} for job in CI_JOBS}
    for step, job in external_ci.STEP_JOBS.items():
        for name, value in _codebuild_environment(codepipeline, step).items():
            expected[job][RENAMED.get(name, name)] = value
    if codepipeline.settings.git_provider != external.settings.git_provider:
        # Another provider's repository is named another way (a CodeCommit clone URL).
        expected["pipeline"]["SOURCE_GIT_REPOSITORY"] = "ml-team/mammography"
    for job in CI_JOBS:
        got = _environment(external, job)
        stage_keys = {k for k in got if k.startswith("STAGE_")}
        assert {k: v for k, v in got.items() if k not in stage_keys} == {
            **expected[job],
            "SAGEMAKER_PROJECT_NAME": external.settings.slug,
        }, job
        assert bool(stage_keys) is (job in ("staging", "prod"))


def test_each_job_may_do_what_its_codebuild_project_may(
    external: Synthesized, codepipeline: Synthesized
) -> None:
    """The CodeBuild roles' grants, less what CodeBuild and CodePipeline need for themselves
    (logs, reports, the pipeline's artifact handover), are the jobs' grants."""
    projects = codepipeline.resources("AWS::CodeBuild::Project")
    roles = _job_of_role(external)
    for step, job in external_ci.STEP_JOBS.items():
        (project,) = [p for key, p in projects.items() if key.startswith(f"CiCd{step}")]
        role_key = project["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
        codebuild = {
            grant
            for grant in _grants(_statements(codepipeline, role_key))
            if not grant[0].startswith(("logs:", "codebuild:"))
        }
        job_grants = _grants(_statements(external, roles[job]))
        assert codebuild - job_grants == set() or _only_pipeline_handover(codebuild - job_grants), (
            step,
            sorted(codebuild - job_grants),
        )


def _only_pipeline_handover(missing: set[tuple[str, str, str]]) -> bool:
    """CodePipeline hands each CodeBuild project its input and output artifacts in the artifact
    bucket (encrypted with the project key) and the connection's clone: grants a CI job, which
    checks the code out itself, does not need."""
    handover = re.compile(
        r"s3:(GetObject\*|GetBucket\*|List\*|DeleteObject\*|PutObject|PutObjectLegalHold|"
        r"PutObjectRetention|PutObjectTagging|PutObjectVersionTagging|Abort\*)|"
        r"kms:(Decrypt|DescribeKey|Encrypt|ReEncrypt\*|GenerateDataKey\*)|"
        r"codestar-connections:UseConnection"
    )
    return all(handover.fullmatch(action) for action, _, _ in missing)


def test_the_stage_jobs_deploy_as_codepipelines_actions_do(external: Synthesized) -> None:
    roles = _job_of_role(external)
    names = Names(external.settings.slug, "manual")
    for stage in ("staging", "prod"):
        environment = _environment(external, stage)
        assert environment["STAGE_STACK_NAME"] == names.deploy_stack(stage)
        grants = _grants(_statements(external, roles[stage]))
        if external.settings.account_layout == "multi":
            account = getattr(external.settings, f"{stage}_account")
            assert environment["STAGE_ACTION_ROLE_ARN"] == (
                f"arn:aws:iam::{account}:role/{names.lowercase}-pipeline-action"
            )
            assert environment["STAGE_CFN_ROLE_ARN"] == (
                f"arn:aws:iam::{account}:role/{names.lowercase}-cfn-exec"
            )
            assert (
                "sts:AssumeRole",
                json.dumps(environment["STAGE_ACTION_ROLE_ARN"]),
                "null",
            ) in grants
            assert not {g for g in grants if g[0].startswith("cloudformation:")}
        else:
            assert "STAGE_ACTION_ROLE_ARN" not in environment
            stack_arn = json.dumps(
                f"arn:aws:cloudformation:{external.settings.region}:{ACCOUNT}:stack/"
                f"{names.deploy_stack(stage)}/*"
            )
            assert {(a, stack_arn, "null") for a in external_ci.STACK_ACTIONS} <= grants
            passed = [g for g in grants if g[0] == "iam:PassRole"]
            assert passed == [
                (
                    "iam:PassRole",
                    json.dumps(environment["STAGE_CFN_ROLE_ARN"]),
                    json.dumps(
                        {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}
                    ),
                )
            ]


def test_the_stage_jobs_may_make_every_call_of_aws_cloudformation_deploy() -> None:
    """The calls the AWS CLI's `cloudformation deploy` makes (its own code; a waiter polls the
    operation botocore's waiter model names) are what a stage job may do on its stack."""
    source = inspect.getsource(deployer)
    calls = set(re.findall(r"self\._client\.([a-z_]+)\(", source)) - {"get_waiter"}
    waiters = set(re.findall(r'get_waiter\("([a-z_]+)"\)', source))
    model = botocore.session.get_session().get_waiter_model("cloudformation")
    operations = {_camel(call) for call in calls} | {
        model.get_waiter(_camel(waiter)).operation for waiter in waiters
    }
    assert "GetTemplateSummary" in operations  # the update path
    assert {f"cloudformation:{op}" for op in operations} <= set(external_ci.STACK_ACTIONS)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def test_the_bootstrap_action_role_may_make_every_call_of_a_stage_deploy() -> None:
    """deploy-stage.sh assumes the bootstrap's pipeline-action role in another account: it must
    allow what the single layout's stage job gets on its stack."""
    bootstrap = PROJECT / "infra" / "bootstrap" / "target-account.yml"
    if not bootstrap.is_file():
        pytest.skip("single account layout: no bootstrap")
    text = bootstrap.read_text(encoding="utf-8")
    section = text[text.index("PipelineActionRole:") : text.index("CloudFormationExecutionRole:")]
    assert set(external_ci.STACK_ACTIONS) <= set(re.findall(r"cloudformation:[A-Za-z]+", section))


def test_only_the_jobs_role_reads_its_environment(external: Synthesized) -> None:
    roles = _job_of_role(external)
    for job, key in roles.items():
        readable = {
            resource
            for action, resource, _ in _grants(_statements(external, key))
            if action.startswith("ssm:GetParameter")
        }
        assert readable == {
            json.dumps(
                f"arn:aws:ssm:{external.settings.region}:{ACCOUNT}:parameter"
                f"{Names(external.settings.slug).ci_environment(job)}"
            )
        }, job


def _fill(template: str, paths: dict[str, str], event: dict[str, Any]) -> Any:
    """EventBridge's input transformer on a JSON template: each <name> becomes its path's value."""
    for name, path in paths.items():
        value: Any = event
        for part in path.removeprefix("$.").split("."):
            value = value[part]
        template = template.replace(f"<{name}>", json.dumps(value))
    return json.loads(template)


@pytest.mark.parametrize("rule", ["ModelPackageDecision", "ReleaseImagePush"])
def test_the_events_reach_the_ci_api_in_its_shape(external: Synthesized, rule: str) -> None:
    ci = external.settings.ci
    (found,) = [r for key, r in external.resources("AWS::Events::Rule").items() if rule in key]
    (target,) = found["Properties"]["Targets"]
    (destination,) = external.resources("AWS::Events::ApiDestination").values()
    (connection,) = external.resources("AWS::Events::Connection").values()
    endpoint = _resolve(external, destination["Properties"]["InvocationEndpoint"])
    auth = connection["Properties"]["AuthParameters"]["ApiKeyAuthParameters"]
    secret = ci.dispatch_token_secret
    assert auth["ApiKeyValue"] == f"{{{{resolve:secretsmanager:{secret}:SecretString:::}}}}"
    event = {
        "detail": {
            "ModelPackageArn": "arn:aws:sagemaker:us-east-1:111122223333:model-package/g/3",
            "ModelApprovalStatus": "Approved",
            "image-tag": "release-2026-12",
        }
    }
    transformer = target["InputTransformer"]
    body = _fill(
        _resolve(external, transformer["InputTemplate"]), transformer["InputPathsMap"], event
    )
    trigger = (
        external_ci.MODEL_PACKAGE_DECISION
        if rule == "ModelPackageDecision"
        else external_ci.RELEASE_IMAGE_PUSH
    )
    if ci.system == "github-actions":
        # https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event
        assert endpoint == "https://api.github.com/repos/ml-team/mammography/dispatches"
        assert auth["ApiKeyName"] == "Authorization"
        assert body["event_type"] == trigger
        assert isinstance(body["client_payload"], dict) and len(body["client_payload"]) <= 10
    else:
        # https://docs.gitlab.com/api/pipelines/#create-a-new-pipeline
        assert endpoint == f"{ci.gitlab_url}/api/v4/projects/4242/pipeline"
        assert auth["ApiKeyName"] == "PRIVATE-TOKEN"
        assert body["ref"] == "main"
        assert {"key": external_ci.TRIGGER_VARIABLES[trigger], "value": trigger} in body[
            "variables"
        ]
        assert all(set(v) == {"key", "value"} for v in body["variables"])
    values = json.dumps(body)
    assert ("model-package/g/3" in values) is (rule == "ModelPackageDecision")
