"""buildspec.yml parses, runs the phases CodeBuild needs, and calls commands that exist."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]


def _script(name: str) -> str:
    return (ROOT / "ci" / name).read_text(encoding="utf-8")


def test_buildspec_only_calls_the_steps_scripts() -> None:
    """Each step has one home, a script in ci/ that any CI system calls; the buildspec adds only
    CodeBuild's own wiring (the runtime, the virtualenv, the image artifact's path)."""
    settings = tomllib.loads((ROOT.parent / "project.toml").read_text(encoding="utf-8"))
    system = settings["ci"]["system"]
    if system != "codepipeline":
        # GitHub Actions / GitLab CI call the same scripts (infra/tests/test_ci_files.py).
        assert not (ROOT / "buildspec.yml").exists(), "only CodePipeline projects have it"
        pytest.skip(f"[ci] system {system}: no CodeBuild buildspecs")
    spec = yaml.safe_load((ROOT / "buildspec.yml").read_text(encoding="utf-8"))
    assert spec["version"] == 0.2
    phases = spec["phases"]
    assert list(phases) == ["install", "pre_build", "build"]
    calls = [
        c.split("bash ", 1)[1]
        for phase in phases.values()
        for c in phase["commands"]
        if c != "source .venv/bin/activate"
    ]
    assert calls == [
        "model-build/ci/install.sh",
        "model-build/ci/unit-tests.sh",
        "model-build/ci/start-pipelines.sh",
    ]


def test_start_pipelines_runs_the_commands_the_package_installs() -> None:
    text = _script("start-pipelines.sh")
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    commands = [
        line.split()[0] for line in text.splitlines() if line.split() and line.split()[0] in scripts
    ]
    # The scheduled pipelines are upserted after the model-build run started, with the same image.
    assert commands == ["get-pipeline-definition", "run-pipeline", "upsert-pipelines"]
    assert 'run-pipeline --parameter "ImageUri=${IMAGE_URI}"' in text
    assert 'upsert-pipelines --image-uri "${IMAGE_URI}"' in text
    assert "ruff check" in _script("unit-tests.sh") and "pytest" in _script("unit-tests.sh")


@pytest.mark.parametrize(
    ("image_uri", "ok"),
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/p@sha256:" + "ab" * 32, True),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/p:latest", False),
        ("", False),
    ],
)
def test_start_pipelines_takes_only_a_digest_pinned_image(
    tmp_path: Path, image_uri: str, ok: bool
) -> None:
    """The URI comes from IMAGE_URI or the image build's file; a tag (mutable) or nothing is
    refused in one line before any pipeline is touched."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for command in ("get-pipeline-definition", "run-pipeline", "upsert-pipelines"):
        (bin_dir / command).write_text(f'#!/bin/sh\necho "{command} $*"\n')
        (bin_dir / command).chmod(0o755)
    (tmp_path / "image-uri.txt").write_text(image_uri + "\n")
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "IMAGE_URI_FILE": str(tmp_path / "image-uri.txt"),
    }
    done = subprocess.run(
        ["bash", str(ROOT / "ci" / "start-pipelines.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"run-pipeline --parameter ImageUri={image_uri} " in done.stdout
        assert f"upsert-pipelines --image-uri {image_uri}" in done.stdout
    else:
        assert done.returncode == 1 and done.stdout.startswith(
            "error: IMAGE_URI must be a digest-pinned image URI"
        ), done.stdout
        assert "run-pipeline" not in done.stdout


def test_dependencies_are_pinned_in_the_project_constraints() -> None:
    """ci/install.sh installs with ``-c constraints.txt``: every dependency must have its pin there,
    but the project's own packages, which it installs from their folders (``-e <folder>``)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {
        name.split("[")[0].lower()
        for name in [*project["dependencies"], *project["optional-dependencies"]["test"]]
    }
    own = {
        tomllib.loads(path.read_text(encoding="utf-8"))["project"]["name"]: path.parent
        for path in ROOT.parent.glob("*/pyproject.toml")
    }
    pins = {
        line.split("==")[0].lower()
        for line in (ROOT.parent / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert wanted and wanted - set(own) <= pins, sorted(wanted - set(own) - pins)
    install = " ".join(_script("install.sh").replace("\\\n", " ").split())
    for name in wanted & set(own):
        assert f"-e {own[name].relative_to(ROOT.parent).as_posix()} " in install, name


FAKE_PYTHON = """#!/bin/sh
# stands in for `python -m pytest -q`: fails in the folder named by $FAIL_IN
echo "tests of $(basename "$PWD")"
case "$PWD" in */"$FAIL_IN") exit 1 ;; esac
exit 0
"""


@pytest.mark.parametrize(
    ("fail_in", "reported"),
    [
        ("", ""),
        ("model-build/model", "model-build/model+container"),
        ("model-build/container", "model-build/model+container"),
        ("model-build", "model-build"),
    ],
)
def test_the_unit_test_command_fails_the_build_when_either_suite_fails(
    tmp_path: Path, fail_in: str, reported: str
) -> None:
    """The two suites run at once; a failure of either must still fail the step, with both logs."""
    (tmp_path / "model-build" / "container").mkdir(parents=True)
    (tmp_path / "model-build" / "model").mkdir()
    (tmp_path / "model-build" / "ci").mkdir()
    script = tmp_path / "model-build" / "ci" / "unit-tests.sh"
    script.write_text(_script("unit-tests.sh"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in {"python": FAKE_PYTHON, "ruff": "#!/bin/sh\necho ruff $*\n"}.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", str(script)],
        cwd=tmp_path / "model-build",  # the script finds the project root itself
        env={**env, "FAIL_IN": fail_in or "none"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout.startswith("ruff check model-build\n")
    for suite in ("model", "container", "model-build"):
        assert f"tests of {suite}" in done.stdout
    if fail_in:
        assert done.returncode != 0
        assert done.stdout.strip().endswith(f"error: unit tests failed in: {reported}")
    else:
        assert done.returncode == 0, done.stdout + done.stderr
