"""The generated project's own tests pass: the default bake always, every matrix bake in the slow tier."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.baking import PROJECT_TEMPLATE, bake, package_paths, run_generated_tests
from tests.matrix import combinations

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


def _assert_suites_pass(project: Path, skip: frozenset[str] = frozenset()) -> None:
    results = run_generated_tests(project, skip=skip)
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
    _assert_suites_pass(project)


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


@pytest.mark.slow
@pytest.mark.parametrize(("name", "extra"), combinations(), ids=[n for n, _ in combinations()])
def test_matrix_bake_suites_pass(
    template: Path, tmp_path: Path, name: str, extra: dict[str, Any]
) -> None:
    _assert_suites_pass(bake(template, tmp_path, extra), skip=ANSWER_FREE)
