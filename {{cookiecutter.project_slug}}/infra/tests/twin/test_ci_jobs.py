"""What the twin does for GitHub Actions / GitLab CI projects ([ci] system): it provisions their
stack (identity provider, the token's secret read as CloudFormation reads it, the API destination),
knows which token each job presents, and checks a role's trust the way IAM would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Synthesized

from project_infra import external_ci
from project_infra.twin import ci_jobs
from project_infra.twin.emulator import Emulator
from project_infra.twin.interpreters import INTERPRETERS, NOT_EMULATED
from project_infra.twin.provision import ProvisionError, deploy

PROJECT = Path(__file__).resolve().parents[3]
PARAMETERS = {
    "RepositoryOwner": "ml-team",
    "RepositoryName": "mammography",
    "BranchName": "main",
    "GitLabProjectId": "4242",
}


@pytest.fixture(scope="module")
def github(external_synthesized: Synthesized) -> Synthesized:
    """This project's GitHub Actions or GitLab CI stack (conftest.external_synthesized)."""
    return external_synthesized


@pytest.fixture
def emulator(github: Synthesized) -> Iterator[Emulator]:
    started = Emulator(github.settings.region).start()
    yield started
    started.stop()


def _deploy(emulator: Emulator, stack: Synthesized, account: str) -> Any:
    """Into an account of its own: in-process moto servers share their state, and an account
    holds one identity provider per issuer URL."""
    session = emulator.assume(f"arn:aws:iam::{account}:role/twin-test", "test-ci-jobs")

    def clients(service: str) -> Any:
        return emulator.client(service, session)

    # What `cdk bootstrap` leaves in the account (the template's BootstrapVersion reads it).
    clients("ssm").put_parameter(
        Name="/cdk-bootstrap/hnb659fds/version", Value="21", Type="String", Overwrite=True
    )
    return deploy(
        stack.template,
        stack_name="ci",
        parameters={k: v for k, v in PARAMETERS.items() if k in stack.template["Parameters"]},
        clients=clients,
        account=account,
        region=stack.settings.region,
        interpreters=INTERPRETERS,
        not_emulated=NOT_EMULATED,
    ), clients


def test_the_stack_needs_its_secret_as_cloudformation_does(
    emulator: Emulator, github: Synthesized
) -> None:
    secret = github.settings.ci.dispatch_token_secret
    with pytest.raises(ProvisionError, match=f"secret '{secret}' cannot be resolved"):
        _deploy(emulator, github, "210000000001")


def test_the_roles_trust_the_token_of_their_job_only(
    emulator: Emulator, github: Synthesized
) -> None:
    ci = github.settings.ci
    session = emulator.assume("arn:aws:iam::210000000002:role/twin-test", "test-ci-jobs")
    emulator.client("secretsmanager", session).create_secret(
        Name=ci.dispatch_token_secret, SecretString="Bearer t"
    )
    stack, clients = _deploy(emulator, github, "210000000002")
    prefix = external_ci.condition_prefix(ci)
    if ci.oidc_provider_arn:
        arn = ci.oidc_provider_arn
    else:
        (provider,) = clients("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
        arn = provider["Arn"]
        assert arn == f"arn:aws:iam::210000000002:oidc-provider/{prefix}"
    (connection,) = clients("events").list_connections()["Connections"]
    assert connection["AuthorizationType"] == "API_KEY"
    slug = github.settings.slug
    for job, declared in (("pipeline", ""), ("staging", "staging"), ("prod", "prod")):
        environment = declared if ci.system == "github-actions" else ""  # GitLab's names none
        role = clients("iam").get_role(RoleName=f"{slug}-ci-{job}")["Role"]
        own = ci_jobs.Job(job, job, environment)
        sub = ci_jobs.subject(ci.system, stack.parameters, own)
        claims = {f"{prefix}:aud": "sts.amazonaws.com", f"{prefix}:sub": sub}
        assert ci_jobs.trusts_token(role["AssumeRolePolicyDocument"], arn, claims), job
        # Another branch, another repository, another audience, another provider: refused;
        # on GitHub also a job of this repository without (or with another) environment.
        wrongs = [
            {**claims, f"{prefix}:sub": sub.replace("ml-team", "other")},
            {**claims, f"{prefix}:aud": "https://github.com/ml-team"},
        ]
        if not environment:
            wrongs.append({**claims, f"{prefix}:sub": sub + "-feature"})
        if ci.system == "github-actions":
            other = ci_jobs.Job(job, job, "" if environment else "prod")
            wrongs.append(
                {**claims, f"{prefix}:sub": ci_jobs.subject(ci.system, stack.parameters, other)}
            )
        for wrong in wrongs:
            assert not ci_jobs.trusts_token(role["AssumeRolePolicyDocument"], arn, wrong), wrong
        assert not ci_jobs.trusts_token(role["AssumeRolePolicyDocument"], arn + "x", claims)


def test_subjects_are_what_github_and_gitlab_put_into_the_token() -> None:
    job = ci_jobs.Job("model-deploy.yml:prod", "prod", "prod")
    plain = ci_jobs.Job("model-build.yml:image", "image", "")
    assert ci_jobs.subject("github-actions", PARAMETERS, job) == (
        "repo:ml-team/mammography:environment:prod"
    )
    assert ci_jobs.subject("github-actions", PARAMETERS, plain) == (
        "repo:ml-team/mammography:ref:refs/heads/main"
    )
    assert ci_jobs.subject("gitlab-ci", PARAMETERS, job) == (
        "project_path:ml-team/mammography:ref_type:branch:ref:main"
    )


def test_the_jobs_are_read_from_the_ci_files(tmp_path: Path) -> None:
    """This project's own files where it has them, else small ones of each shape."""
    if (PROJECT / ".github" / "workflows").is_dir():
        jobs = ci_jobs.github_jobs(PROJECT)
    elif (PROJECT / ".gitlab-ci.yml").is_file():
        jobs = ci_jobs.gitlab_jobs(PROJECT)
    else:
        workflows = tmp_path / ".github" / "workflows"
        workflows.mkdir(parents=True)
        (workflows / "deploy.yml").write_text(
            "on: push\njobs:\n  prod:\n    environment: {name: prod}\n    steps:\n"
            "      - uses: aws-actions/configure-aws-credentials@0\n"
            "        with: {role-to-assume: 'arn:aws:iam::1:role/x-ci-prod'}\n"
            "  test:\n    steps: [{run: make test}]\n",
            encoding="utf-8",
        )
        assert ci_jobs.github_jobs(tmp_path) == [ci_jobs.Job("deploy.yml:prod", "prod", "prod")]
        (tmp_path / ".gitlab-ci.yml").write_text(
            "stages: [build]\nbuild-image:\n  script:\n"
            "    - source ci/gitlab-aws-credentials.sh image\n    - make\n",
            encoding="utf-8",
        )
        assert ci_jobs.gitlab_jobs(tmp_path) == [ci_jobs.Job("build-image", "image", "")]
        return
    assert {job.role_job for job in jobs} == {
        "image",
        "pipeline",
        "deploy-config",
        "staging",
        "prod",
    }
    if (PROJECT / ".github").is_dir():
        environments = {job.role_job: job.environment for job in jobs}
        assert environments == {
            "image": "",
            "pipeline": "",
            "deploy-config": "",
            "staging": "staging",
            "prod": "prod",
        }
