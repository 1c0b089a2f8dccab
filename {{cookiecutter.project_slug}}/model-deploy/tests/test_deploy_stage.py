"""ci/deploy-stage.sh, the stage deploy of GitHub Actions and GitLab CI: from the files the deploy
build writes (the same template configurations CodePipeline's CloudFormation actions read), the
exact `aws cloudformation deploy` calls, release first, with a fake `aws` on PATH that records them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_build import ENV, PROJECT, add_packages, no_stack, some_examples

from model_deploy.build import build

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "ci" / "deploy-stage.sh"
GROUP = "demo-models"
STACK = "sagemaker-demo-project-deploy-staging"
CFN_ROLE = "arn:aws:iam::111111111111:role/demo-staging-cfn"
ACTION_ROLE = "arn:aws:iam::111111111111:role/demo-project-pipeline-action"
# Records each call (its arguments and the access key it ran with) as a JSON line; `sts
# assume-role` answers like the real CLI with --output text. (Run by a sh wrapper: a shebang line
# holding the interpreter's path may be too long.)
FAKE_AWS = """import json, os, sys
with open(os.environ["CALLS"], "a", encoding="utf-8") as calls:
    calls.write(json.dumps({"args": sys.argv[1:], "key": os.environ.get("AWS_ACCESS_KEY_ID", "")}) + "\\n")
if sys.argv[1:3] == ["sts", "assume-role"]:
    print("AKIDSTAGE\\tsecret\\ttoken-1")
"""


def _project(tmp_path: Path, documents: dict[str, dict[str, Any]] | None = None) -> Path:
    """A copy of the script where it lives in the project, beside a model-deploy/build/ holding
    ``documents`` (file name -> template configuration) and endpoint.yml."""
    project = tmp_path / "project"
    (project / "model-deploy" / "ci").mkdir(parents=True)
    shutil.copy2(SCRIPT, project / "model-deploy" / "ci" / SCRIPT.name)
    out = project / "model-deploy" / "build"
    out.mkdir()
    (out / "endpoint.yml").write_text((ROOT / "endpoint.yml").read_text(encoding="utf-8"))
    for name, document in (documents or {}).items():
        (out / name).write_text(json.dumps(document), encoding="utf-8")
    return project


def _run(project: Path, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "aws.py").write_text(FAKE_AWS)
    (bin_dir / "aws").write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{bin_dir / "aws.py"}" "$@"\n'
    )
    (bin_dir / "aws").chmod(0o755)
    if not (bin_dir / "python3").exists():
        (bin_dir / "python3").symlink_to(sys.executable)  # what the CI host's python3 would be
    environ = {
        key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "STAGE_"))
    }
    environ |= {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "CALLS": str(tmp_path / "calls.jsonl"),
        "STAGE_STACK_NAME": STACK,
        "STAGE_CFN_ROLE_ARN": CFN_ROLE,
        **env,
    }
    return subprocess.run(
        ["bash", str(project / "model-deploy" / "ci" / SCRIPT.name), *args],
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )


def _calls(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "calls.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _deploy_call(stage: str, document: dict[str, Any]) -> list[str]:
    call = [
        "cloudformation",
        "deploy",
        "--stack-name",
        STACK,
        "--template-file",
        "model-deploy/build/endpoint.yml",
        "--role-arn",
        CFN_ROLE,
        "--no-fail-on-empty-changeset",
    ]
    if document.get("Parameters"):
        call += ["--parameter-overrides", *(f"{k}={v}" for k, v in document["Parameters"].items())]
    if document.get("Tags"):
        call += ["--tags", *(f"{k}={v}" for k, v in document["Tags"].items())]
    return call


def _built(sagemaker: Any, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """The deploy build's real output for one approved package (file name -> document)."""
    configs = tmp_path / "configs"
    configs.mkdir()
    for name in ("staging-config.json", "prod-config.json", "stage-config.schema.json"):
        shutil.copy2(ROOT / name, configs / name)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    add_packages(sagemaker, "Approved")
    out = tmp_path / "built"
    build(
        sagemaker,
        group=GROUP,
        project=PROJECT,
        config_dir=configs,
        out_dir=out,
        env=ENV,
        live_stacks=no_stack,
        examples=some_examples,
    )
    return {path.name: json.loads(path.read_text()) for path in sorted(out.glob("*.json"))}


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_deploys_the_release_then_the_config_of_the_build_output(
    sagemaker: Any, tmp_path: Path, stage: str
) -> None:
    documents = _built(sagemaker, tmp_path)
    assert set(documents) == {
        f"{s}-{kind}-export.json" for s in ("staging", "prod") for kind in ("release", "config")
    }
    done = _run(_project(tmp_path, documents), tmp_path, stage)
    assert done.returncode == 0, done.stdout + done.stderr
    release, config = (documents[f"{stage}-{kind}-export.json"] for kind in ("release", "config"))
    assert [call["args"] for call in _calls(tmp_path)] == [
        _deploy_call(stage, release),
        _deploy_call(stage, config),
    ]
    # An empty value (no KMS key for staging) is still passed: CloudFormation gets "" for it.
    assert "VolumeKmsKeyArn=" in _calls(tmp_path)[0]["args"] or stage == "prod"


def test_the_options_are_what_the_cli_parses_back(tmp_path: Path) -> None:
    """Each KEY=value, a value with spaces, commas or '=' too, is one argument that the AWS CLI's
    own parser of `deploy` reads back as the document's value."""
    deploy = pytest.importorskip("awscli.customizations.cloudformation.deploy")
    document = {
        "Parameters": {"SubnetIds": "subnet-1,subnet-2", "Note": "a b=c", "Empty": ""},
        "Tags": {"Owner": "ml platform"},
    }
    files = {"staging-release-export.json": document, "staging-config-export.json": document}
    done = _run(_project(tmp_path, files), tmp_path, "staging")
    assert done.returncode == 0, done.stdout + done.stderr
    args = _calls(tmp_path)[0]["args"]
    overrides = args[args.index("--parameter-overrides") + 1 : args.index("--tags")]
    tags = args[args.index("--tags") + 1 :]
    parse = deploy.DeployCommand(None).parse_key_value_arg
    assert parse(overrides, "parameter-overrides") == document["Parameters"]
    assert parse(tags, "tags") == document["Tags"]


def test_assumes_the_stage_role_of_another_account_first(tmp_path: Path) -> None:
    document: dict[str, Any] = {"Parameters": {"StageName": "prod"}, "Tags": {}}
    files = {"prod-release-export.json": document, "prod-config-export.json": document}
    done = _run(_project(tmp_path, files), tmp_path, "prod", STAGE_ACTION_ROLE_ARN=ACTION_ROLE)
    assert done.returncode == 0, done.stdout + done.stderr
    calls = _calls(tmp_path)
    assert calls[0]["args"][:4] == ["sts", "assume-role", "--role-arn", ACTION_ROLE]
    assert [call["args"][:2] for call in calls[1:]] == [["cloudformation", "deploy"]] * 2
    assert {call["key"] for call in calls[1:]} == {"AKIDSTAGE"}  # the assumed role's credentials
    assert "--tags" not in calls[1]["args"]  # no tags: no option


@pytest.mark.parametrize("stage", ["", "qa", "Staging"])
def test_an_unknown_stage_is_refused_in_one_line(tmp_path: Path, stage: str) -> None:
    done = _run(_project(tmp_path), tmp_path, *([stage] if stage else []))
    assert done.returncode == 1
    assert done.stderr == f"error: stage '{stage}' is not one of: staging, prod\n"
    assert not _calls(tmp_path)


def test_a_missing_file_is_named_in_one_line(tmp_path: Path) -> None:
    files = {"staging-release-export.json": {"Parameters": {"StageName": "staging"}}}
    done = _run(_project(tmp_path, files), tmp_path, "staging")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: model-deploy/build/staging-config-export.json is missing; allowed: the files "
        "model-deploy/ci/build-config.sh writes (the deploy-config job's artifact)"
    ]
    assert not _calls(tmp_path)


def test_a_missing_stack_setting_is_named_in_one_line(tmp_path: Path) -> None:
    done = _run(_project(tmp_path), tmp_path, "prod", STAGE_CFN_ROLE_ARN="")
    assert done.returncode == 1
    assert done.stderr.startswith("error: STAGE_CFN_ROLE_ARN is empty; allowed: ")
    assert len(done.stderr.splitlines()) == 1


def test_a_malformed_configuration_is_named_in_one_line(tmp_path: Path) -> None:
    files = {
        "staging-release-export.json": {"Parameters": ["StageName=staging"]},
        "staging-config-export.json": {"Parameters": {}},
    }
    done = _run(_project(tmp_path, files), tmp_path, "staging")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: model-deploy/build/staging-release-export.json: Parameters is not an object of "
        "strings; allowed: names and string values"
    ]
    assert not _calls(tmp_path)
