"""The generated project's own tests pass: the default bake always, every matrix bake in the slow tier."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.baking import bake, package_paths, run_generated_tests
from tests.matrix import combinations

SUITES = {"model-build", "model-build/container", "model-deploy", "infra"}


def _assert_suites_pass(project: Path) -> None:
    results = run_generated_tests(project)
    assert set(results) == SUITES
    for folder, result in results.items():
        assert result.returncode == 0, f"{folder}:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
        assert " passed" in result.stdout.splitlines()[-1], folder


def test_default_bake_suites_pass(template: Path, tmp_path: Path) -> None:
    project = bake(template, tmp_path, {})
    packages = {package.name for src in package_paths(project) for package in src.iterdir()}
    assert packages >= {"model_build", "model_container", "model_deploy", "project_infra"}
    _assert_suites_pass(project)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "extra"), combinations(), ids=[n for n, _ in combinations()])
def test_matrix_bake_suites_pass(
    template: Path, tmp_path: Path, name: str, extra: dict[str, Any]
) -> None:
    _assert_suites_pass(bake(template, tmp_path, extra))
