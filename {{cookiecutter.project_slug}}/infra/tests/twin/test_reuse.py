"""The twin reruns a build's unit tests only when what they read changed (twin/reuse.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from project_infra.twin.codebuild import BuildInput, BuildResult, run_build
from project_infra.twin.reuse import REUSABLE, PassedTests

COMMAND = "bash model-build/ci/unit-tests.sh"
BUILDSPEC = f"""\
version: 0.2
phases:
  install:
    commands:
      - mkdir -p .venv && echo installed > .venv/marker
  pre_build:
    commands:
      - {COMMAND}
  build:
    commands:
      - echo built
"""
# Counts its runs in a file outside the source; fails when the source says so.
SCRIPT = """\
echo run >> "$RUNS"
grep -q fail model-build/state.txt && { echo "FAILED tests/test_x.py::test_x"; exit 1; }
echo "1 passed"
"""


def source(root: Path) -> Path:
    files = {
        "buildspec.yml": BUILDSPEC,
        "constraints.txt": "pytest==8.4.2\n",
        "model-build/ci/unit-tests.sh": SCRIPT,
        "model-build/state.txt": "pass\n",
        "names/src/names.py": "X = 1\n",
        "infra/app.py": "A = 1\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def run(tmp_path: Path, src: Path, passed: PassedTests, n: int) -> tuple[BuildResult, list[str]]:
    lines: list[str] = []
    result = run_build(
        "buildspec.yml",
        [BuildInput("SourceArtifact", src)],
        environment={"RUNS": str(tmp_path / "runs.txt")},
        work=tmp_path / f"{n:02d}-pipeline" / "build-Build",
        log=lines.append,
        passed=passed,
    )
    return result, lines


def runs(tmp_path: Path) -> int:
    path = tmp_path / "runs.txt"
    return len(path.read_text().splitlines()) if path.is_file() else 0


def test_the_same_inputs_are_not_tested_twice_and_a_change_they_read_is(tmp_path: Path) -> None:
    src = source(tmp_path / "src")
    passed = PassedTests(tmp_path / "passed")
    first, _ = run(tmp_path, src, passed, 1)
    assert first.status == "SUCCEEDED" and runs(tmp_path) == 1
    again, lines = run(tmp_path, src, passed, 2)
    assert again.status == "SUCCEEDED" and runs(tmp_path) == 1
    # The log says so, names the build that passed, and replays its output.
    assert any(
        "not rerun: these inputs passed this command in build 01-pipeline" in x for x in lines
    )
    assert "[PRE_BUILD] 1 passed" in lines
    assert [(r.command, r.build, r.passed_in) for r in passed.reused] == [
        (COMMAND, "02-pipeline/build-Build", "01-pipeline/build-Build")
    ]
    # A folder its tests never read: still reused. Its own folder, names/ or a root file: rerun.
    (src / "infra/app.py").write_text("A = 2\n")
    run(tmp_path, src, passed, 3)
    assert runs(tmp_path) == 1
    for changed in ("model-build/state.txt", "names/src/names.py", "constraints.txt"):
        (src / changed).write_text((src / changed).read_text() + "# changed\n")
        run(tmp_path, src, passed, 4)
        assert runs(tmp_path) == 2, changed
        (tmp_path / "runs.txt").write_text("run\n")  # one run again: the next change reruns too


def test_a_failure_is_never_reused_and_rerun_tests_runs_it_again(tmp_path: Path) -> None:
    src = source(tmp_path / "src")
    (src / "model-build/state.txt").write_text("fail\n")
    passed = PassedTests(tmp_path / "passed")
    for n in (1, 2):
        failed, _ = run(tmp_path, src, passed, n)
        assert failed.status == "FAILED" and failed.failed_phase == "PRE_BUILD"
        assert runs(tmp_path) == n
    (src / "model-build/state.txt").write_text("pass\n")
    run(tmp_path, src, passed, 3)
    assert runs(tmp_path) == 3
    rerun = PassedTests(tmp_path / "passed", rerun=True)
    result, _ = run(tmp_path, src, rerun, 4)
    assert result.status == "SUCCEEDED" and runs(tmp_path) == 4 and rerun.reused == []


def test_what_the_build_adds_to_its_source_does_not_change_the_key(tmp_path: Path) -> None:
    """The install step's virtualenv and caches lie in the source folder: the key is taken before."""
    src = source(tmp_path / "src")
    passed = PassedTests(tmp_path / "passed")
    run(tmp_path, src, passed, 1)
    (src / "model-build/__pycache__").mkdir()
    (src / "model-build/__pycache__/x.pyc").write_bytes(b"\0")
    run(tmp_path, src, passed, 2)
    assert runs(tmp_path) == 1


def test_the_reusable_commands_are_the_buildspecs_own() -> None:
    """A renamed script would silently turn reuse off: each command must be in a buildspec."""
    root = Path(__file__).resolve().parents[3]
    buildspecs = "".join(p.read_text() for p in root.glob("*/buildspec*.yml"))
    if not buildspecs:
        pytest.skip("generated for another CI system: the twin runs no CodeBuild build")
    for command, folders in REUSABLE.items():
        assert f"- {command}\n" in buildspecs, command
        assert all((root / folder).is_dir() for folder in folders), folders
