"""The twin's CodeBuild: buildspecs run locally with CodeBuild's semantics, and its shims (pip as a
check against the project's virtualenv, docker against the emulator's ECR)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from project_infra.twin import docker, pipcheck
from project_infra.twin.codebuild import SHIMS, BuildInput, BuildResult, run_build

TEMPLATE = Path(__file__).resolve().parents[3]  # the project root (infra/tests/twin/ is 3 below)
BOTO3 = metadata.version("boto3")


def make_source(root: Path, buildspec: str, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "buildspec.yml").write_text(textwrap.dedent(buildspec), encoding="utf-8")
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def build(
    tmp_path: Path,
    buildspec: str,
    files: dict[str, str] | None = None,
    *,
    environment: dict[str, str] | None = None,
    secondary: tuple[BuildInput, ...] = (),
    **kwargs: object,
) -> tuple[BuildResult, list[str]]:
    lines: list[str] = []
    source = make_source(tmp_path / "source", buildspec, files)
    result = run_build(
        "buildspec.yml",
        [BuildInput("SourceArtifact", source), *secondary],
        environment=environment or {},
        work=tmp_path / "work",
        log=lines.append,
        **kwargs,  # type: ignore[arg-type]
    )
    return result, lines


def output(lines: list[str], phase: str) -> list[str]:
    """The command output of ``phase`` (without the twin's own Running/Phase lines)."""
    prefix = f"[{phase}] "
    own = ("Running command ", "Phase complete: ", "Command did not exit successfully ")
    return [
        line[len(prefix) :]
        for line in lines
        if line.startswith(prefix) and not line[len(prefix) :].startswith(own)
    ]


# --- phases and the one shell ----------------------------------------------------------------


def test_phases_run_in_order_in_one_shell(tmp_path: Path) -> None:
    result, lines = build(
        tmp_path,
        """
        version: 0.2
        env:
          shell: bash
          exported-variables: [IMAGE_TAG, PLAIN, NEVER_SET]
        phases:
          install:
            commands:
              - export IMAGE_TAG=v1; PLAIN=local; mkdir -p sub && cd sub
              - greet() { echo "hello $1"; }
              - set -o pipefail
          pre_build:
            commands:
              - echo "pwd=$(basename "$PWD") tag=$IMAGE_TAG plain=$PLAIN"
              - greet pre_build
          build:
            commands:
              - |
                if [ -n "$IMAGE_TAG" ]; then
                  echo "multi-line command"
                fi
              - unset PLAIN; export IMAGE_TAG=v2
          post_build:
            commands:
              - echo "plain=${PLAIN-unset} tag=$IMAGE_TAG"; false | true || echo "pipefail kept"
        """,
    )
    assert result.status == "SUCCEEDED", result.error
    assert [line.split("] ")[0][1:] for line in lines if "Phase complete" in line] == [
        "INSTALL",
        "PRE_BUILD",
        "BUILD",
        "POST_BUILD",
    ]
    assert output(lines, "PRE_BUILD") == ["pwd=sub tag=v1 plain=local", "hello pre_build"]
    assert output(lines, "BUILD") == ["multi-line command"]
    assert output(lines, "POST_BUILD") == ["plain=unset tag=v2", "pipefail kept"]
    assert result.exported == {"IMAGE_TAG": "v2", "PLAIN": "", "NEVER_SET": ""}
    assert result.failed_phase is None and result.error is None
    assert result.log.read_text(encoding="utf-8").count("\n") == len(lines)


def test_shell_state_survives_quoting_arrays_and_exit(tmp_path: Path) -> None:
    result, lines = build(
        tmp_path,
        """
        version: 0.2
        env:
          shell: bash
        phases:
          install:
            on-failure: CONTINUE
            commands:
              - |
                TEXT="line one
                it's \\"quoted\\" \\$HOME"
                LIST=(one "two three")
                mkdir -p "a dir" && cd "a dir"
              - export KEPT=yes; exit 7
          build:
            commands:
              - set -x
              - printf '[%s]\\n' "$TEXT" "${LIST[1]}" "$(basename "$PWD")" "$KEPT"
        """,
    )
    assert (result.failed_phase, result.error) == (
        "INSTALL",
        "INSTALL: command `export KEPT=yes; exit 7` exited with status 7; last output: (none)",
    )
    built = output(lines, "BUILD")
    assert built[0].startswith("++ basename ")  # set -x carried over, and traces no twin line
    assert built[-5:] == ["[line one", 'it\'s "quoted" $HOME]', "[two three]", "[a dir]", "[yes]"]
    assert not any("__twin" in line or "prelude" in line for line in lines)


def test_a_failed_test_run_names_its_failed_tests_in_the_error(tmp_path: Path) -> None:
    # The stage's one line is what a CI log keeps of a failed build: it must name the test.
    result, _ = build(
        tmp_path,
        """
        version: 0.2
        phases:
          pre_build:
            commands:
              - |
                echo "FAILED tests/test_a.py::test_one - assert 1 == 2"
                echo "ERROR tests/test_b.py::test_two - TimeoutError"
                echo "FAILED is not a test id"
                echo "error: unit tests failed in: model-build"; exit 1
        """,
    )
    assert result.error == (
        'PRE_BUILD: command `echo "FAILED tests/test_a.py::test_one - assert 1 == 2"` exited with'
        " status 1; last output: error: unit tests failed in: model-build; pytest: FAILED"
        " tests/test_a.py::test_one - assert 1 == 2 | ERROR tests/test_b.py::test_two - TimeoutError"
    )


def test_a_failing_command_fails_its_phase_with_a_one_line_error(tmp_path: Path) -> None:
    result, lines = build(
        tmp_path,
        """
        version: 0.2
        phases:
          pre_build:
            commands:
              - echo first
              - |
                echo "checking"
                echo "error: ruff found 2 problems"; exit 3
              - echo never
          build:
            commands: [echo never-built]
          post_build:
            commands: [echo never-posted]
        artifacts:
          files: [buildspec.yml]
        """,
    )
    assert (result.status, result.failed_phase) == ("FAILED", "PRE_BUILD")
    assert result.error == (
        'PRE_BUILD: command `echo "checking"` exited with status 3; last output: error: ruff found 2 problems'
    )
    assert "\n" not in result.error
    text = "\n".join(lines)
    assert "never" not in text.replace("Running command", "")  # no later command, phase or upload
    assert result.artifacts == {}
    assert result.phases == {"DOWNLOAD_SOURCE": "SUCCEEDED", "PRE_BUILD": "FAILED"}


def test_install_failure_skips_the_other_phases(tmp_path: Path) -> None:
    result, lines = build(
        tmp_path,
        """
        version: 0.2
        phases:
          install:
            commands: [exit 1]
          build:
            commands: [echo built]
          post_build:
            commands: [echo posted]
        """,
    )
    assert result.failed_phase == "INSTALL"
    assert "built" not in output(lines, "BUILD") and not output(lines, "POST_BUILD")
    assert result.error == "INSTALL: command `exit 1` exited with status 1; last output: (none)"


def test_post_build_and_upload_still_run_after_a_failed_build(tmp_path: Path) -> None:
    result, lines = build(
        tmp_path,
        """
        version: 0.2
        phases:
          build:
            commands:
              - export KEPT=yes; echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"
              - exit 4
              - echo skipped
            finally:
              - echo "finally succeeding=$CODEBUILD_BUILD_SUCCEEDING kept=$KEPT"
          post_build:
            commands:
              - echo "post succeeding=$CODEBUILD_BUILD_SUCCEEDING kept=$KEPT" > report.txt
        artifacts:
          files: [report.txt]
        """,
        primary_artifact="BuildArtifact",
    )
    assert (result.status, result.failed_phase) == ("FAILED", "BUILD")
    assert output(lines, "BUILD") == ["succeeding=1", "finally succeeding=0 kept=yes"]
    assert (
        result.phases["POST_BUILD"] == "SUCCEEDED"
        and result.phases["UPLOAD_ARTIFACTS"] == "SUCCEEDED"
    )
    report = result.artifacts["BuildArtifact"] / "report.txt"
    assert report.read_text(encoding="utf-8") == "post succeeding=0 kept=yes\n"


def test_on_failure_abort_ends_the_build(tmp_path: Path) -> None:
    result, lines = build(
        tmp_path,
        """
        version: 0.2
        phases:
          build:
            on-failure: ABORT
            commands: [exit 2]
          post_build:
            commands: [echo posted]
        artifacts:
          files: [buildspec.yml]
        """,
    )
    assert result.failed_phase == "BUILD"
    assert "POST_BUILD" not in result.phases and "UPLOAD_ARTIFACTS" not in result.phases
    assert not output(lines, "POST_BUILD")


def test_on_failure_continue_runs_the_next_phases_and_fails_the_build(tmp_path: Path) -> None:
    result, lines = build(
        tmp_path,
        """
        version: 0.2
        phases:
          install:
            on-failure: CONTINUE
            commands: [echo installing, "false"]
          pre_build:
            commands: [echo "pre_build ran"]
        """,
    )
    assert (result.status, result.failed_phase) == ("FAILED", "INSTALL")
    assert result.phases["PRE_BUILD"] == "SUCCEEDED"
    assert output(lines, "PRE_BUILD") == ["pre_build ran"]


def test_a_failing_finally_command_fails_the_phase(tmp_path: Path) -> None:
    result, lines = build(
        tmp_path,
        """
        version: 0.2
        phases:
          build:
            commands: [echo built]
            finally: [echo cleaning, "exit 5", echo not-reached]
        """,
    )
    assert result.failed_phase == "BUILD"
    assert result.error == "BUILD: command `exit 5` exited with status 5; last output: (none)"
    assert output(lines, "BUILD") == ["built", "cleaning"]


# --- environment -----------------------------------------------------------------------------


def test_environment_precedence_and_built_in_variables(tmp_path: Path) -> None:
    other = tmp_path / "image"
    other.mkdir()
    (other / "image-uri.txt").write_text("repo@sha256:abc\n", encoding="utf-8")
    result, lines = build(
        tmp_path,
        """
        version: 0.2
        env:
          variables:
            FROM_SPEC: spec
            OVERRIDDEN: spec
            LITERAL: "$PATH:/x"
            NUMBER: 3
        phases:
          build:
            commands:
              - echo "$FROM_SPEC $OVERRIDDEN $LITERAL $NUMBER"
              - echo "src=$(basename "$CODEBUILD_SRC_DIR") pwd-is-src=$([ "$PWD" = "$CODEBUILD_SRC_DIR" ] && echo yes)"
              - cat "$CODEBUILD_SRC_DIR_ImageArtifact/image-uri.txt"
              - echo "version=$CODEBUILD_RESOLVED_SOURCE_VERSION id=${CODEBUILD_BUILD_ID%%:*} arn=${CODEBUILD_BUILD_ARN%%:*}"
              - echo "home-is-fresh=$([ -z "$(ls -A "$HOME")" ] && echo yes) shims-first=$([ "${PATH%%:*}" = "$TWIN_SHIMS" ] && echo yes)"
              - echo "leaked=${TWIN_TEST_SECRET_OUTSIDE:-no}"
        """,
        environment={"OVERRIDDEN": "action"},
        secondary=[BuildInput("ImageArtifact", other)],
        source_version="0123abc",
    )
    assert result.status == "SUCCEEDED", result.error
    assert output(lines, "BUILD") == [
        "spec action $PATH:/x 3",
        "src=SourceArtifact pwd-is-src=yes",
        "repo@sha256:abc",
        "version=0123abc id=twin arn=arn",
        "home-is-fresh=yes shims-first=yes",
        "leaked=no",
    ]


def test_each_build_starts_from_a_clean_copy(tmp_path: Path) -> None:
    spec = """
        version: 0.2
        phases:
          build:
            commands:
              - test ! -e made.txt
              - touch made.txt
        """
    first, _ = build(tmp_path, spec)
    second, _ = build(tmp_path, spec)
    assert (first.status, second.status) == ("SUCCEEDED", "SUCCEEDED")
    assert not (tmp_path / "source" / "made.txt").exists()
    assert first.log.parent != second.log.parent


def test_runtime_versions_and_reports_are_logged(tmp_path: Path) -> None:
    result, lines = build(
        tmp_path,
        """
        version: 0.2
        phases:
          install:
            runtime-versions:
              python: 3.11
            commands: [echo ok]
          build:
            commands: ["echo '<testsuite/>' > tests.xml"]
        reports:
          unit-tests:
            files: [tests.xml]
            file-format: JUNITXML
          missing:
            files: [nothing.xml]
        """,
    )
    assert result.status == "SUCCEEDED"
    text = "\n".join(lines)
    assert "runtime-versions: python 3.11 -> the twin's interpreter" in text
    assert "report unit-tests (JUNITXML): tests.xml" in text
    assert "report missing: no report files found" in text
    # the files, for the flow to read (a group without files has none)
    (written,) = result.reports["unit-tests"]
    assert written.name == "tests.xml" and written.read_text().strip() == "<testsuite/>"
    assert set(result.reports) == {"unit-tests"}


# --- artifacts -------------------------------------------------------------------------------


ARTIFACT_FILES = {
    "out/a.txt": "a",
    "out/deep/b.txt": "b",
    "out/skip.log": "log",
    "top.txt": "top",
}


def test_artifacts_files_base_directory_discard_paths_and_secondary(tmp_path: Path) -> None:
    result, _ = build(
        tmp_path,
        """
        version: 0.2
        phases:
          build:
            commands: [echo ok]
        artifacts:
          base-directory: out
          files: ['**/*']
          exclude-paths: ['*.log']
          name: from-buildspec
          secondary-artifacts:
            Flat:
              files: [out/**/*, top.txt]
              discard-paths: yes
            One:
              files: [top.txt]
        """,
        ARTIFACT_FILES,
    )
    assert result.status == "SUCCEEDED", result.error

    def tree(key: str) -> list[str]:
        root = result.artifacts[key]
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    assert set(result.artifacts) == {"from-buildspec", "Flat", "One"}
    assert tree("from-buildspec") == ["a.txt", "deep/b.txt"]
    assert tree("Flat") == ["a.txt", "b.txt", "skip.log", "top.txt"]
    assert tree("One") == ["top.txt"]


def test_the_caller_names_the_primary_artifact(tmp_path: Path) -> None:
    result, _ = build(
        tmp_path,
        """
        version: 0.2
        phases:
          build:
            commands: [echo ok]
        artifacts:
          files: [top.txt]
          name: ignored
        """,
        ARTIFACT_FILES,
        primary_artifact="BuildArtifact",
    )
    assert list(result.artifacts) == ["BuildArtifact"]


@pytest.mark.parametrize(
    ("artifacts", "message"),
    [
        ("files: [top.txt, missing.json]", "no matching artifact paths found for 'missing.json'"),
        (
            "base-directory: nowhere\n  files: ['**/*']",
            "no matching base directory path found for 'nowhere'",
        ),
    ],
)
def test_an_artifact_that_matches_nothing_fails_upload(
    tmp_path: Path, artifacts: str, message: str
) -> None:
    spec = (
        "version: 0.2\nphases:\n  build:\n    commands: [echo ok]\nartifacts:\n  "
        + artifacts
        + "\n"
    )
    result, _ = build(tmp_path, spec, ARTIFACT_FILES)
    assert (result.status, result.failed_phase) == ("FAILED", "UPLOAD_ARTIFACTS")
    assert result.error is not None and message in result.error and "\n" not in result.error


# --- buildspecs CodeBuild rejects (DOWNLOAD_SOURCE) ------------------------------------------


def test_a_missing_buildspec_fails_download_source(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    result = run_build(
        "model-build/buildspec.yml",
        [BuildInput("SourceArtifact", source)],
        environment={},
        work=tmp_path / "work",
        log=lambda _line: None,
    )
    assert (result.status, result.failed_phase) == ("FAILED", "DOWNLOAD_SOURCE")
    assert "'model-build/buildspec.yml' does not exist" in (result.error or "")


@pytest.mark.parametrize(
    ("buildspec", "names"),
    [
        ("version: 0.2\nphases: [unclosed\n", "not valid YAML"),
        ("version: 0.1\nphases:\n  build:\n    commands: [echo]\n", "'version'"),
        ("version: 0.2\nphases:\n  build:\n    finally: [echo]\n", "'phases.build.commands'"),
        ("version: 0.2\nphases:\n  build:\n    commands: []\n", "'phases.build.commands'"),
        (
            "version: 0.2\nartefacts: {}\nphases:\n  build:\n    commands: [echo]\n",
            "unknown key 'artefacts'",
        ),
        ("version: 0.2\nphases:\n  compile:\n    commands: [echo]\n", "'phases.compile'"),
        (
            "version: 0.2\nphases:\n  build:\n    on-failure: RETRY\n    commands: [echo]\n",
            "'phases.build.on-failure'",
        ),
        (
            "version: 0.2\nenv:\n  parameter-store:\n    TOKEN: /ci/token\nphases: {}\n",
            "'env.parameter-store' (TOKEN)",
        ),
        (
            "version: 0.2\nenv:\n  secrets-manager:\n    PW: s:k\nphases: {}\n",
            "'env.secrets-manager' (PW)",
        ),
        ("version: 0.2\nenv:\n  shell: powershell.exe\nphases: {}\n", "'env.shell'"),
        ("version: 0.2\nartifacts:\n  discard-paths: yes\n", "'artifacts.files'"),
    ],
)
def test_a_bad_buildspec_fails_download_source_naming_the_key(
    tmp_path: Path, buildspec: str, names: str
) -> None:
    result, _ = build(tmp_path, buildspec)
    assert (result.status, result.failed_phase) == ("FAILED", "DOWNLOAD_SOURCE")
    assert result.error is not None and names in result.error and "\n" not in result.error


def test_an_empty_parameter_store_is_accepted(tmp_path: Path) -> None:
    result, _ = build(
        tmp_path,
        "version: 0.2\nenv:\n  parameter-store: {}\nphases:\n  build:\n    commands: [echo]\n",
    )
    assert result.status == "SUCCEEDED", result.error


# --- pip: a check against the project's virtualenv -------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A source tree whose local package and pins name what this virtualenv has installed."""
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "pyproject.toml").write_text(
        '[project]\nname = "project-infra"\n', encoding="utf-8"
    )
    (tmp_path / "constraints.txt").write_text(
        f"# pins\nboto3=={BOTO3}\npytest>=1\n", encoding="utf-8"
    )
    (tmp_path / "requirements.txt").write_text("-c constraints.txt\nboto3\n", encoding="utf-8")
    return tmp_path


def test_pip_install_is_satisfied_by_the_virtualenv(project: Path) -> None:
    count = pipcheck.check_install(
        [
            "-q",
            "-U",
            "-c",
            "constraints.txt",
            "-r",
            "requirements.txt",
            "-e",
            "infra[test]",
            "pytest",
            "moto[events]",  # the extra the project installs (infra[test])
        ],
        project,
    )
    assert count == 4  # boto3 (requirements.txt), infra, pytest, moto


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-c", "constraints.txt", "not-a-real-package"],
            "'not-a-real-package' is not installed in the project's virtualenv",
        ),
        (
            ["-c", "pins.txt", "boto3"],
            f"'boto3' is {BOTO3} in the project's virtualenv but pins.txt:1 pins 'boto3==0.0.1'",
        ),
        (["boto3<1"], f"'boto3' is {BOTO3} in the project's virtualenv but 'boto3<1' is required"),
        (["-e", "model-deploy"], "-e path 'model-deploy' does not exist"),
        (
            ["-e", "unknown"],
            "'not-installed-here' is not installed in the project's virtualenv (project at unknown)",
        ),
        (["-r", "missing.txt"], "requirements file"),
        (["--target", "/tmp/x", "boto3"], "--target installs outside the project's virtualenv"),
        (["infra[nonsense]"], "has no extra 'nonsense'"),
    ],
)
def test_pip_install_names_the_first_unmet_requirement(
    project: Path, args: list[str], message: str
) -> None:
    (project / "pins.txt").write_text("boto3==0.0.1\n", encoding="utf-8")
    (project / "unknown").mkdir()
    (project / "unknown" / "pyproject.toml").write_text(
        '[project]\nname = "not-installed-here"\n', encoding="utf-8"
    )
    with pytest.raises(pipcheck.UnmetError) as failure:
        pipcheck.check_install(args, project)
    assert message in str(failure.value) and "\n" not in str(failure.value)


def test_venv_and_pip_in_a_build_use_the_project_virtualenv(project: Path, tmp_path: Path) -> None:
    spec = """
        version: 0.2
        phases:
          install:
            commands:
              - python -m venv .venv && source .venv/bin/activate
              - pip install -c constraints.txt -e infra pytest
              - python -m pip install -q -r requirements.txt
          build:
            commands:
              - echo "venv=$(basename "$VIRTUAL_ENV") pytest=$(command -v pytest >/dev/null && echo found)"
              - python -c "import project_infra, boto3; print('imports ok')"
              - .venv/bin/python -c "import sys; print(sys.prefix != sys.base_prefix)"
              - pip install not-a-real-package
        """
    result, lines = build(
        tmp_path / "b",
        spec,
        {p.name: p.read_text() for p in project.glob("*.txt")}
        | {"infra/pyproject.toml": (project / "infra" / "pyproject.toml").read_text()},
    )
    assert output(lines, "INSTALL")[1:] == [
        "twin: pip install satisfied by the project's virtualenv (2 requirements checked)",
        "twin: pip install satisfied by the project's virtualenv (1 requirements checked)",
    ]
    assert output(lines, "BUILD")[:3] == ["venv=.venv pytest=found", "imports ok", "True"]
    assert result.failed_phase == "BUILD"
    assert result.error == (
        "BUILD: command `pip install not-a-real-package` exited with status 1; last output: twin: pip: "
        "'not-a-real-package' is not installed in the project's virtualenv; add it to requirements.txt"
    )
    assert result.shim_log is not None
    shims = [json.loads(line)["shim"] for line in result.shim_log.read_text().splitlines()]
    assert shims == ["python -m venv", "pip", "pip", "pip"]


# --- docker against the emulator's ECR --------------------------------------------------------


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server._server.server_address  # the port bound for port 0
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """AWS environment for the emulator; returns the URI of a new IMMUTABLE repository."""
    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "TWIN_DOCKER_STORE": str(tmp_path / "docker.json"),
        "TWIN_SHIM_LOG": str(tmp_path / "shims.jsonl"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    name = f"repo-{tmp_path.name.lower().replace('_', '-')}"[-60:].strip("-")
    repository = boto3.client("ecr").create_repository(
        repositoryName=name, imageTagMutability="IMMUTABLE"
    )
    return repository["repository"]["repositoryUri"]


def run_docker(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = ""
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status = docker.main(list(argv))
    return status, capsys.readouterr().out.strip()


@pytest.fixture
def context(tmp_path: Path) -> Path:
    folder = tmp_path / "context"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM scratch\nCOPY app.py /\n", encoding="utf-8")
    (folder / "app.py").write_text("print('hi')\n", encoding="utf-8")
    return folder


def test_docker_build_push_registers_the_image_in_ecr(
    aws: str, context: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    registry, repository = aws.split("/", 1)
    assert run_docker(
        monkeypatch,
        capsys,
        "login",
        "--username",
        "AWS",
        "--password-stdin",
        registry,
        stdin="token\n",
    ) == (0, "Login Succeeded")
    status, out = run_docker(
        monkeypatch,
        capsys,
        "build",
        "--cache-from",
        f"{aws}:old",
        "--build-arg",
        "BUILDKIT_INLINE_CACHE=1",
        "--label",
        "rev=abc",
        "--tag",
        f"{aws}:abc",
        str(context),
    )
    assert status == 0 and out.endswith(f"Successfully tagged {aws}:abc")
    status, out = run_docker(monkeypatch, capsys, "push", f"{aws}:abc")
    assert status == 0, out
    digest = out.split("digest: ")[1].split()[0]
    (image,) = boto3.client("ecr").describe_images(repositoryName=repository)["imageDetails"]
    assert (
        image["imageTags"] == ["abc"]
        and image["imageDigest"] == digest
        and digest.startswith("sha256:")
    )

    status, out = run_docker(monkeypatch, capsys, "push", f"{aws}:abc")
    assert status == 1 and "ImageAlreadyExistsException" in out and "\n" not in out

    assert run_docker(monkeypatch, capsys, "pull", "--quiet", f"{aws}:abc") == (0, f"{aws}:abc")
    status, out = run_docker(monkeypatch, capsys, "pull", f"{aws}:nope")
    assert status == 1 and "manifest unknown" in out


def test_the_digest_follows_the_context_and_labels(
    aws: str, context: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def image_id(*extra: str) -> str:
        run_docker(monkeypatch, capsys, "build", *extra, "-t", f"{aws}:t", str(context))
        return docker.Store.default().images[f"{aws}:t"]["id"]

    first = image_id()
    assert image_id() == first
    assert image_id("--label", "rev=1") != first
    (context / "app.py").write_text("print('changed')\n", encoding="utf-8")
    assert image_id() != first


DOCKER_ERRORS = [
    (
        ("push", "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:never-built"),
        1,
        "An image does not exist locally with the tag",
    ),
    (("build", "-t", "x:1", "no-such-folder"), 1, "is not a folder"),
    (("run", "alpine"), 2, "twin: docker run is not emulated"),
    (("push", "docker.io/library/alpine:3"), 1, "is not an ECR image"),
]


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    "case", DOCKER_ERRORS, ids=lambda case: " ".join(case[0][:1]) + f"-{case[1]}"
)
def test_docker_errors_are_one_line(
    case: tuple[tuple[str, ...], int, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv, status, message = case
    got, out = run_docker(monkeypatch, capsys, *argv)
    assert got == status and message in out and "\n" not in out


def test_docker_build_needs_a_dockerfile_and_push_a_login(
    aws: str, context: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (context / "Dockerfile").unlink()
    status, out = run_docker(monkeypatch, capsys, "build", "-t", f"{aws}:x", str(context))
    assert status == 1 and "no Dockerfile" in out
    (context / "Dockerfile").write_text("FROM scratch\n", encoding="utf-8")
    assert run_docker(monkeypatch, capsys, "build", "-t", f"{aws}:x", str(context))[0] == 0
    status, out = run_docker(monkeypatch, capsys, "push", f"{aws}:x")
    assert status == 1 and "no basic auth credentials" in out


def test_the_docker_shim_runs_and_records_its_invocation(
    aws: str, context: Path, tmp_path: Path
) -> None:
    import os  # noqa: PLC0415 - the environment the fixture set

    env = {**os.environ, "TWIN_PYTHON": sys.executable}
    done = subprocess.run(
        [str(SHIMS / "docker"), "build", "-t", f"{aws}:shim", str(context)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (entry,) = [json.loads(line) for line in (tmp_path / "shims.jsonl").read_text().splitlines()]
    assert entry["shim"] == "docker" and entry["argv"][:2] == ["docker", "build"]


def test_the_image_buildspec_pushes_and_exports_a_digest_pinned_uri(
    aws: str, tmp_path: Path
) -> None:
    """The project's own model-build/container/buildspec.yml: build, push, export the digest."""
    buildspec = TEMPLATE / "model-build" / "container" / "buildspec.yml"
    if not buildspec.is_file():
        pytest.skip("generated for another CI system: no buildspecs")
    text = buildspec.read_text(encoding="utf-8")
    if any(mark in text for mark in ("{" + "{", "{" + "%")):  # split: bakes check for leftovers
        pytest.skip(
            "the buildspec in this tree is a template; the baked project's copy is tested there"
        )
    if shutil.which("aws") is None:
        pytest.skip("the AWS CLI (aws) is not on PATH; the image buildspec calls it")
    source = tmp_path / "source"
    for folder in ("container", "ci"):  # the build context and the step's script
        shutil.copytree(
            TEMPLATE / "model-build" / folder,
            source / "model-build" / folder,
            ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"),
        )
    result = run_build(
        "model-build/container/buildspec.yml",
        [BuildInput("SourceArtifact", source)],
        # The caller's keys never pass through; the build gets its credentials explicitly.
        environment={
            "ECR_REPOSITORY_URI": aws,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        },
        work=tmp_path / "work",
        primary_artifact="ImageArtifact",
        source_version="0123456789abcdef",
        log=lambda _line: None,
    )
    assert result.status == "SUCCEEDED", result.error
    (image,) = boto3.client("ecr").describe_images(repositoryName=aws.split("/", 1)[1])[
        "imageDetails"
    ]
    assert result.exported == {
        "IMAGE_URI": f"{aws}@{image['imageDigest']}",
        "IMAGE_TAG": image["imageTags"][0],  # src-<hash of model-build/>
    }
    assert image["imageTags"][0].startswith("src-")
    uri = (result.artifacts["ImageArtifact"] / "image-uri.txt").read_text(encoding="utf-8").strip()
    assert uri == result.exported["IMAGE_URI"]
