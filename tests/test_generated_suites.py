"""The generated project's own tests pass: the default bake always, the rotated matrix bakes
(tests/matrix.py `suite_bakes`) in the slow tier."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from tests.baking import PROJECT_TEMPLATE, bake, package_paths, run_generated_tests
from tests.matrix import suite_bakes

SUITES = {
    "names",
    "model-build",
    "model-build/model",
    "model-build/container",
    "model-deploy",
    "infra",
}
# Suites whose files are the same in every bake (nothing in them is rendered from an answer): the
# default bake runs them; the matrix bakes, whose answers differ, run only the others.
ANSWER_FREE = frozenset({"names", "model-build/model", "model-build/container"})
# Test files of the other suites that read no answer either: the twin's engines and the cleanup
# handler against moto, given their inputs in the test (about a minute of each infra suite).
ANSWER_FREE_TESTS = frozenset(
    {
        "infra/tests/test_cleanup_handler.py",
        "infra/tests/test_nag_rules.py",
        "infra/tests/twin/test_cleanup_twin.py",
        "infra/tests/twin/test_api_front_door.py",
        "infra/tests/twin/test_codebuild.py",
        "infra/tests/twin/test_endpoint_report.py",
        "infra/tests/twin/test_runtime.py",
        "infra/tests/twin/test_reuse.py",
        "infra/tests/twin/test_s3_mirror.py",
        "infra/tests/twin/test_transform.py",
    }
)
# The calls that read the answers (project.toml) or synthesize the stack from them: neither an
# answer-free test file nor any project module it imports makes them.
READS_ANSWERS = {"load", "find_project_file", "build_app"}


def _assert_suites_pass(
    project: Path, skip: frozenset[str] = frozenset(), ignore: frozenset[str] = frozenset()
) -> None:
    results = run_generated_tests(project, skip=skip, ignore=ignore)
    assert set(results) == SUITES - skip
    for folder, result in results.items():
        assert result.returncode == 0, f"{folder}:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
        assert " passed" in result.stdout.splitlines()[-1], folder


def test_default_bake_suites_pass(template: Path, tmp_path: Path) -> None:
    project = bake(template, tmp_path, {})
    packages = {package.name for src in package_paths(project) for package in src.iterdir()}
    assert packages >= {
        "project_names",
        "model_build",
        "model_container",
        "project_model",
        "model_deploy",
        "project_infra",
    }
    # model-deploy's suite runs from a copy of its own (tests/test_repo_independence.py).
    _assert_suites_pass(project, skip=frozenset({"model-deploy"}))


def test_answer_free_suites_render_nothing(template: Path) -> None:
    """What lets the matrix skip them: no file of theirs names a template variable, and their code
    reads no answer (project.toml)."""
    for folder in ANSWER_FREE:
        root = template / PROJECT_TEMPLATE / folder
        for path in root.rglob("*"):
            if path.is_file() and path.suffix not in {".data", ".parquet"}:
                text = path.read_text(encoding="utf-8", errors="replace")
                assert "cookiecutter" not in text and "{%" not in text, path
                assert not re.search(r"\bproject\.toml", text), path


def _module_file(src: Path, module: str) -> Path | None:
    path = src.joinpath(*module.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imported(path: Path, src: Path, package: str) -> set[str]:
    """Modules of ``package`` that ``path`` imports, directly or through each other."""
    seen: set[str] = set()
    todo = [path]
    while todo:
        tree = ast.parse(todo.pop().read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                found = _module_file(src, name)
                if name.startswith(package) and name not in seen and found is not None:
                    seen.add(name)
                    todo.append(found)
    return seen


def _calls(nodes: list[ast.stmt]) -> set[str]:
    """Names called in ``nodes``: ``f(...)`` and ``x.f(...)`` both give ``f``."""
    called = set()
    for node in (n for statement in nodes for n in ast.walk(statement)):
        if isinstance(node, ast.Call):
            func = node.func
            called.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return called


def _fixtures(conftest: Path) -> set[str]:
    tree = ast.parse(conftest.read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any("fixture" in ast.unparse(d) for d in node.decorator_list)
    }


def test_answer_free_test_files_read_no_answer(template: Path) -> None:
    """What lets the matrix ignore them: neither the file nor any project module it imports is
    rendered, none of them ever calls what loads the answers or synthesizes the stack, and no test
    takes a fixture of the suite's conftest (which synthesizes the
    baked stack)."""
    project = template / PROJECT_TEMPLATE
    for rel in sorted(ANSWER_FREE_TESTS):
        path = project / rel
        folder = rel.split("/tests/")[0]
        src = project / folder / "src"
        modules = _imported(path, src, "project_infra")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert not _calls(tree.body) & READS_ANSWERS, rel
        assert not re.search(r"\bproject\.toml", path.read_text(encoding="utf-8")), rel
        for module in modules:
            found = _module_file(src, module)
            body = ast.parse(found.read_text(encoding="utf-8")).body if found else []
            assert found and not _calls(body) & READS_ANSWERS, module
        for file in [path, *(f for m in modules if (f := _module_file(src, m)))]:
            text = file.read_text(encoding="utf-8")
            assert "cookiecutter" not in text and "{%" not in text, file

        shared = set().union(
            *(_fixtures(c) for c in (project / folder).glob("tests/**/conftest.py"))
        )
        tests = [
            node
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        ]
        assert tests, rel
        for node in tests:
            taken = {a.arg for a in node.args.args} & shared
            assert not taken, f"{rel}::{node.name} takes {sorted(taken)} from the conftest"


@pytest.mark.slow
@pytest.mark.parametrize(("name", "extra"), suite_bakes(), ids=[n for n, _ in suite_bakes()])
def test_matrix_bake_suites_pass(
    template: Path, tmp_path: Path, name: str, extra: dict[str, Any]
) -> None:
    _assert_suites_pass(bake(template, tmp_path, extra), skip=ANSWER_FREE, ignore=ANSWER_FREE_TESTS)
