"""GitHub Actions and GitLab CI projects ([ci] system) in the twin.

The twin emulates CodePipeline and CodeBuild, not GitHub's or GitLab's runners, so for these projects
it runs no workflow job (its table says so) and checks, against the stack the README's first-run
steps deployed, the seams every job depends on:

- each job's role exists and its trust admits the OIDC token that job presents: the subject built
  from the stack's repository parameters and, on GitHub, the ``environment`` the job declares in
  the workflow file (read from the file, not from the infra's own code);
- each job's environment: the project's own ``ci/job-env.sh <job>`` run against the emulator (the
  SSM parameter the stack wrote, under the name the script reads, in the format it accepts); a
  stage job's stack name is the deploy stack and its CloudFormation role exists and trusts
  CloudFormation (another account's action role: trusts the tooling account);
- the triggers: an approval and a release-image push routed through the synthesized rules reach the
  API destination, with a body that names what the CI files listen for.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from project_infra.twin import samples
from project_infra.twin.emulator import TOOLING_ACCOUNT
from project_infra.twin.flow import CI_NOT_RUN, StageError, StageReport, Twin
from project_names import CI_JOBS

STAGE = "2 CI jobs (not run): their roles, environments and triggers"
ROLE = re.compile(r"-ci-(image|pipeline|deploy-config|staging|prod)\b")
GITLAB_CREDENTIALS = re.compile(r"ci/gitlab-aws-credentials\.sh\s+([a-z-]+)")


@dataclass(frozen=True)
class Job:
    name: str  # the CI file's job name
    role_job: str  # which project_names.CI_JOBS role it assumes
    environment: str  # the GitHub environment it declares ("" for none)


def github_jobs(root: Path) -> list[Job]:
    """The workflow jobs that assume one of the project's roles (role-to-assume's suffix)."""
    jobs = []
    for path in sorted((root / ".github" / "workflows").glob("*.yml")):
        workflow = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, job in (workflow.get("jobs") or {}).items():
            environment = job.get("environment", "")
            if isinstance(environment, dict):
                environment = environment.get("name", "")
            for step in job.get("steps", []):
                found = ROLE.search(str((step.get("with") or {}).get("role-to-assume", "")))
                if found:
                    jobs.append(Job(f"{path.name}:{name}", found.group(1), str(environment)))
    return jobs


def gitlab_jobs(root: Path) -> list[Job]:
    """The .gitlab-ci.yml jobs whose script gets credentials for one of the project's roles."""
    config = yaml.safe_load((root / ".gitlab-ci.yml").read_text(encoding="utf-8")) or {}
    jobs = []
    for name, job in config.items():
        if not isinstance(job, dict) or "script" not in job:
            continue
        lines = [*job.get("before_script", []), *job.get("script", [])]
        for line in lines:
            found = GITLAB_CREDENTIALS.search(str(line))
            if found:
                jobs.append(Job(name, found.group(1), ""))
    return jobs


def subject(system: str, parameters: dict[str, str], job: Job) -> str:
    """The `sub` claim the CI puts into this job's token (GitHub: the environment when the job
    declares one; GitLab: the project path and branch)."""
    repository = f"{parameters['RepositoryOwner']}/{parameters['RepositoryName']}"
    branch = parameters["BranchName"]
    if system == "github-actions":
        if job.environment:
            return f"repo:{repository}:environment:{job.environment}"
        return f"repo:{repository}:ref:refs/heads/{branch}"
    return f"project_path:{repository}:ref_type:branch:ref:{branch}"


def trusts_token(document: dict[str, Any], provider_arn: str, claims: dict[str, str]) -> bool:
    """Whether a trust policy lets a web identity token of ``provider_arn`` with ``claims``
    (condition key -> value) assume the role: StringEquals/StringLike conditions only."""
    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow" or statement.get("Action") not in (
            "sts:AssumeRoleWithWebIdentity",
            ["sts:AssumeRoleWithWebIdentity"],
        ):
            continue
        if statement.get("Principal", {}).get("Federated") != provider_arn:
            continue
        if _conditions_hold(statement.get("Condition", {}), claims):
            return True
    return False


def _conditions_hold(conditions: dict[str, dict[str, Any]], claims: dict[str, str]) -> bool:
    for operator, pairs in conditions.items():
        for key, expected in pairs.items():
            values = expected if isinstance(expected, list) else [expected]
            got = claims.get(key)
            if got is None:
                return False
            if operator == "StringEquals" and got not in values:
                return False
            if operator == "StringLike" and not any(
                re.fullmatch(re.escape(v).replace(r"\*", ".*").replace(r"\?", "."), got)
                for v in values
            ):
                return False
            if operator not in ("StringEquals", "StringLike"):
                return False
    return True


def check(twin: Twin, report: StageReport) -> None:
    """The stage: every job's role, environment and the two triggers."""
    assert twin.stack is not None
    ci = twin.settings.ci
    jobs = github_jobs(twin.root) if ci.system == "github-actions" else gitlab_jobs(twin.root)
    missing = sorted(set(CI_JOBS) - {job.role_job for job in jobs})
    if missing:
        raise StageError(f"no job of the CI files assumes the {missing[0]} role")
    provider = _provider_arn(twin)
    prefix = provider.split(":oidc-provider/", 1)[1]
    iam = twin.clients("iam")
    names = twin.settings.names(twin.stack.parameters["SageMakerProjectId"])
    for job in jobs:
        role_name = f"{twin.settings.slug}-ci-{job.role_job}"
        try:
            role = iam.get_role(RoleName=role_name)["Role"]
        except Exception as error:
            raise StageError(f"job {job.name}: role {role_name} does not exist: {error}") from None
        claims = {
            f"{prefix}:aud": "sts.amazonaws.com",
            f"{prefix}:sub": subject(ci.system, twin.stack.parameters, job),
        }
        if not trusts_token(role["AssumeRolePolicyDocument"], provider, claims):
            raise StageError(
                f"job {job.name}: role {role_name} does not trust the token it presents "
                f"(sub {claims[f'{prefix}:sub']})"
            )
        report.detail.append(f"{job.name}: {role_name} trusts sub {claims[f'{prefix}:sub']}")
    for role_job in CI_JOBS:
        environment = _job_environment(twin, role_job)
        if (
            environment.get("SAGEMAKER_PROJECT_NAME")
            != twin.stack.parameters["SageMakerProjectName"]
        ):
            raise StageError(
                f"ci/job-env.sh {role_job}: SAGEMAKER_PROJECT_NAME is not the project's"
            )
        if role_job in ("staging", "prod"):
            _check_stage(twin, role_job, environment, names.deploy_stack(role_job))
        report.detail.append(f"ci/job-env.sh {role_job}: {len(environment)} variables")
    _check_triggers(twin, report)
    report.detail.append(f"not run: {CI_NOT_RUN}")


def _provider_arn(twin: Twin) -> str:
    assert twin.stack is not None
    given = twin.settings.ci.oidc_provider_arn
    if given:
        return given
    (provider,) = twin.stack.of_type("AWS::IAM::OIDCProvider").values()
    url = provider.physical_id.removeprefix("https://")
    return f"arn:aws:iam::{twin.stack.account}:oidc-provider/{url}"


def _job_environment(twin: Twin, job: str) -> dict[str, str]:
    done = subprocess.run(
        ["bash", "ci/job-env.sh", job],
        cwd=twin.root,
        env=twin.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise StageError(f"ci/job-env.sh {job} failed: {last[0]}")
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if line)


def _check_stage(twin: Twin, stage: str, environment: dict[str, str], stack_name: str) -> None:
    if environment.get("STAGE_STACK_NAME") != stack_name:
        raise StageError(
            f"ci/job-env.sh {stage}: STAGE_STACK_NAME={environment.get('STAGE_STACK_NAME')!r}, "
            f"not the deploy stack {stack_name}"
        )
    action = environment.get("STAGE_ACTION_ROLE_ARN", "")
    cfn_role = environment.get("STAGE_CFN_ROLE_ARN", "")
    if action:
        # The bootstrap's roles in the stage's account (make deploy-bootstrap put them there).
        twin.assume(action, str(twin.stack.account))
    twin.assume(cfn_role, "cloudformation.amazonaws.com")


def _check_triggers(twin: Twin, report: StageReport) -> None:
    assert twin.stack is not None
    region = twin.emulator.region
    group = twin.stack.outputs["ModelPackageGroupName"]
    repository = twin.stack.outputs["RepositoryUri"].split("/", 1)[1]
    events = {
        "model-package-decision": samples.model_package_state_change(
            group=group,
            version=1,
            status="Approved",
            arn=f"arn:aws:sagemaker:{region}:{TOOLING_ACCOUNT}:model-package/{group.lower()}/1",
            region=region,
            account=TOOLING_ACCOUNT,
        ),
        "release-image-push": samples.ecr_image_push(
            repository=repository,
            tag="release-twin",
            digest="sha256:" + "0" * 64,
            region=region,
            account=TOOLING_ACCOUNT,
        ),
    }
    for trigger, event in events.items():
        twin.dispatched.clear()
        twin.publish(event)
        if len(twin.dispatched) != 1:
            raise StageError(
                f"{trigger}: the event reached {len(twin.dispatched)} API destinations, not one"
            )
        ((endpoint, body),) = twin.dispatched
        listened = _listens(twin, trigger, json.loads(body))
        report.detail.append(f"{trigger} -> POST {endpoint}: {listened}")


def _listens(twin: Twin, trigger: str, body: dict[str, Any]) -> str:
    """What in the CI files this body starts; one line if nothing does."""
    if twin.settings.ci.system == "github-actions":
        event_type = body.get("event_type")
        for path in sorted((twin.root / ".github" / "workflows").glob("*.yml")):
            workflow = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            on = workflow.get("on", workflow.get(True, {})) or {}  # YAML 1.1 reads `on` as True
            types = ((on.get("repository_dispatch") or {}) if isinstance(on, dict) else {}).get(
                "types", []
            )
            if event_type in types:
                return f"repository_dispatch {event_type} starts {path.name}"
        raise StageError(f"{trigger}: no workflow listens for repository_dispatch {event_type!r}")
    variables = {v["key"]: v["value"] for v in body.get("variables", [])}
    text = (twin.root / ".gitlab-ci.yml").read_text(encoding="utf-8")
    for key, value in variables.items():
        if re.search(rf'\${key}\s*==\s*"{re.escape(value)}"', text):
            return f"pipeline with {key}={value} ({body.get('ref')})"
    raise StageError(f"{trigger}: no rule of .gitlab-ci.yml tests the variables {variables}")
