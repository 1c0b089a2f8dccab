"""The synthesized stack passes the real validators: cdk-nag AwsSolutions and cfn-lint."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import Synthesized

from project_infra.synth_checks import lint_errors, nag_violations


def test_cdk_nag_has_no_unacknowledged_findings(synthesized: Synthesized) -> None:
    assert nag_violations(synthesized.outdir) == []


def test_cfn_lint_has_no_errors(synthesized: Synthesized) -> None:
    assert lint_errors(synthesized.template_file, synthesized.settings.region) == []


def test_parameters_serve_studio_and_hand_deploys(synthesized: Synthesized) -> None:
    parameters = synthesized.template["Parameters"]
    assert parameters["SageMakerProjectName"]["Default"] == synthesized.project_name
    assert parameters["SageMakerProjectId"]["Type"] == "String"
    expected = {
        "SageMakerProjectName",
        "SageMakerProjectId",
        "BranchName",
        "RetrainingSchedule",
        "BatchInferenceSchedule",
        "BatchInferenceScheduleState",
    }
    if synthesized.settings.git_provider != "codecommit":
        expected |= {"RepositoryOwner", "RepositoryName"}
    if synthesized.settings.ci.system == "codepipeline" and synthesized.settings.git_provider != (
        "codecommit"
    ):
        expected.add("CodeConnectionArn")
    if synthesized.settings.ci.system == "gitlab-ci":
        expected.add("GitLabProjectId")
    assert expected <= set(parameters)
    # Drift monitoring exists in medium and large only; small has none of its parameters.
    monitoring = {"MonitoringSchedule", "MonitoringScheduleState"}
    assert monitoring & set(parameters) == (monitoring if synthesized.settings.monitored else set())


def test_every_parameter_default_is_allowed(synthesized: Synthesized) -> None:
    """CloudFormation rejects a default outside the parameter's own pattern or values at deploy."""
    for name, parameter in synthesized.template["Parameters"].items():
        default = parameter.get("Default")
        if default is None:
            continue
        if "AllowedPattern" in parameter:
            assert re.fullmatch(parameter["AllowedPattern"], default), name
        if "AllowedValues" in parameter:
            assert default in parameter["AllowedValues"], name


def test_synth_cli_names_a_bad_value_in_one_line(tmp_path: Path, synthesized: Synthesized) -> None:
    text = (synthesized.repo_root / "project.toml").read_text(encoding="utf-8")
    bad = tmp_path / "project.toml"
    bad.write_text(text.replace('size = "', 'size = "tiny', 1), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "project_infra.synth", "--project-file", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "size='tiny" in result.stderr and "allowed: small | medium | large" in result.stderr


def test_synth_cli_writes_the_template_without_credentials(
    tmp_path: Path, synthesized: Synthesized
) -> None:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_PROFILE": "",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "project_infra.synth",
            "--project-file",
            str(synthesized.repo_root / "project.toml"),
            "--out",
            str(tmp_path / "cdk.out"),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    written = Path(result.stdout.strip())
    assert written == tmp_path / "cdk.out" / "Project.template.json"
    assert json.loads(written.read_text(encoding="utf-8"))["Resources"]
