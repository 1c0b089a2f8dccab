"""The deploy side's CI steps: each has one home in ci/, the buildspecs only call it, and the
endpoint-test step derives the endpoint's name from project_names and assumes the stage's role."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]
FAKE_PYTHON = f"""#!/bin/sh
# the real interpreter, but `-m pytest` only reports what it would test
if [ "$1" = "-m" ] && [ "$2" = "pytest" ]; then
  echo "examples=$ENDPOINT_EXAMPLES"
  echo "pytest in $(basename "$PWD") endpoint=$ENDPOINT_NAME key=${{AWS_ACCESS_KEY_ID:-}} token=${{AWS_SESSION_TOKEN:-}} p50=$ENDPOINT_MAX_P50_MS p99=$ENDPOINT_MAX_P99_MS"
  exit 0
fi
exec {sys.executable} "$@"
"""
FAKE_AWS = """#!/bin/sh
echo "$*" >> "$CALLS"
printf 'AKIDSTAGE\\tsecret\\ttoken-1\\n'
"""


@pytest.mark.parametrize(
    ("buildspec", "calls"),
    [
        ("buildspec.yml", ["model-deploy/ci/install.sh", "model-deploy/ci/build-config.sh"]),
        (
            "buildspec-endpoint-test.yml",
            ["model-deploy/ci/install.sh", "model-deploy/ci/endpoint-tests.sh staging"],
        ),
    ],
)
def test_buildspecs_only_call_the_steps_scripts(buildspec: str, calls: list[str]) -> None:
    system = tomllib.loads((ROOT.parent / "project.toml").read_text(encoding="utf-8"))["ci"][
        "system"
    ]
    if system != "codepipeline":
        # GitHub Actions / GitLab CI call the same scripts (infra/tests/test_ci_files.py).
        assert not (ROOT / buildspec).exists(), f"{buildspec}: only CodePipeline projects have it"
        pytest.skip(f"[ci] system {system}: no CodeBuild buildspecs")
    spec = yaml.safe_load((ROOT / buildspec).read_text(encoding="utf-8"))
    commands = [c for phase in spec["phases"].values() for c in phase["commands"]]
    assert [c.split("bash ", 1)[1] for c in commands] == calls
    for call in calls:
        assert (ROOT.parent / call.split()[0]).is_file()


def _endpoint_tests(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in {"python": FAKE_PYTHON, "aws": FAKE_AWS}.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "ENDPOINT_MAX_"))
    } | {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "SAGEMAKER_PROJECT_NAME": "Demo-Project",
        "CALLS": str(tmp_path / "calls"),
        **env,
    }
    if "ENDPOINT_EXAMPLES" not in env:  # the deploy build's output, as CodePipeline hands it over
        (tmp_path / "BuildArtifact").mkdir(exist_ok=True)
        (tmp_path / "BuildArtifact" / "examples.csv").write_text("Age\n67\n")
        environ["ENDPOINT_EXAMPLES"] = str(tmp_path / "BuildArtifact" / "examples.csv")
    return subprocess.run(
        ["bash", str(ROOT / "ci" / "endpoint-tests.sh"), *args],
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_endpoint_tests_target_the_stage_endpoint_by_its_derived_name(
    tmp_path: Path, stage: str
) -> None:
    done = _endpoint_tests(tmp_path, stage)
    assert done.returncode == 0, done.stdout + done.stderr
    # SageMaker writes endpoint names in lower case (project_names.Names.endpoint)
    assert f"pytest in model-deploy endpoint=demo-project-{stage} key= token=" in done.stdout
    assert not (tmp_path / "calls").exists()  # no role to assume: the build's own credentials


def test_endpoint_tests_assume_the_stage_role_first(tmp_path: Path) -> None:
    role = "arn:aws:iam::111111111111:role/demo-endpoint-test"
    done = _endpoint_tests(tmp_path, TEST_ROLE_ARN=role)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "endpoint=demo-project-staging key=AKIDSTAGE token=token-1" in done.stdout
    assert f"sts assume-role --role-arn {role} " in (tmp_path / "calls").read_text()


def test_endpoint_tests_refuse_an_unknown_stage_in_one_line(tmp_path: Path) -> None:
    done = _endpoint_tests(tmp_path, "qa")
    assert done.returncode == 1
    assert done.stdout == "error: stage 'qa' is not one of: staging, prod\n"


def test_endpoint_tests_send_the_deployed_packages_examples(tmp_path: Path) -> None:
    """The given file (CodePipeline's BuildArtifact) reaches the suite; without one, the default
    model-deploy/build/examples.csv (the deploy-config output the GitHub and GitLab jobs download)
    must exist, or the script stops in one line."""
    done = _endpoint_tests(tmp_path, "staging")
    assert f"examples={tmp_path / 'BuildArtifact' / 'examples.csv'}\n" in done.stdout
    if (ROOT / "build" / "examples.csv").exists():
        pytest.skip("a deploy build ran in this folder: its build/examples.csv is the default")
    done = _endpoint_tests(tmp_path, "staging", ENDPOINT_EXAMPLES="")
    assert done.returncode == 1
    assert done.stderr == (
        "error: ENDPOINT_EXAMPLES=model-deploy/build/examples.csv is not a file; allowed: the "
        "examples.csv model-deploy/ci/build-config.sh writes (the deploy-config output)\n"
    )
    assert not (tmp_path / "calls").exists()  # stopped before assuming any role


def test_endpoint_tests_hold_the_ci_latency_bounds(tmp_path: Path) -> None:
    """The bounds every CI system's endpoint tests use have one home, the script (150 / 1000 ms);
    a variable of the job's environment still overrides them."""
    done = _endpoint_tests(tmp_path, "staging")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith(" p50=150 p99=1000")
    done = _endpoint_tests(tmp_path, "staging", ENDPOINT_MAX_P99_MS="800")
    assert done.stdout.rstrip().endswith(" p50=150 p99=800")
