"""Template updates reach baked projects: cruft create at commit A, template change B, cruft update."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import cruft
import pytest

from tests.baking import PROJECT_TEMPLATE, pristine_copy

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    ).stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    repo = pristine_copy(tmp_path / "template")
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "A")
    return repo


def test_cruft_update_applies_a_template_change(template_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    project = cruft.create(
        str(template_repo),
        output_dir=out,
        no_input=True,
        extra_context={
            "project_name": "Cruft Demo",
            "mlops_size": "medium",
            "single_account": True,
        },
    )
    assert (
        json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]["mlops_size"]
        == "medium"
    )
    git(project, "init", "-q", "-b", "main")
    # A user edit that the update must keep.
    settings = project / "project.toml"
    settings.write_text(
        settings.read_text().replace('endpoint = "ml.m5.large"', 'endpoint = "ml.c5.large"')
    )
    commit_all(project, "baked")
    assert cruft.check(project) is True

    # Commit B: the template changes a rendered file and adds a new one.
    readme = template_repo / PROJECT_TEMPLATE / "README.md"
    readme.write_text(readme.read_text() + "\n## Support\n\nAsk {{ cookiecutter.owner }}.\n")
    (template_repo / PROJECT_TEMPLATE / "CONTRIBUTING.md").write_text(
        "# Contributing to {{ cookiecutter.project_slug }}\n"
    )
    commit_b = commit_all(template_repo, "B")
    assert cruft.check(project) is False

    assert cruft.update(project, skip_apply_ask=True) is True
    assert "## Support\n\nAsk ml-platform." in (project / "README.md").read_text()
    assert (project / "CONTRIBUTING.md").read_text() == "# Contributing to cruft-demo\n"
    assert 'endpoint = "ml.c5.large"' in settings.read_text()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == commit_b
    assert not list(project.rglob("*.rej"))
