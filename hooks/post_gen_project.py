"""Keep exactly the files the answers call for, then say what to do next.

``MANIFEST`` is the one table that decides which files exist: a row names a path of the generated
project (a folder stands for everything below it) and the answers it needs; a path without a row is
always kept. The template's tests compute the expected file set of every bake from this same table.
No network, no git, no AWS calls: this also runs on ``cruft update``.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

# path -> {variable: values that keep it}. Every condition of every row covering a file must hold.
MANIFEST: dict[str, dict[str, tuple[str, ...]]] = {
    # Roles the tooling account assumes in the staging and prod accounts (medium/large).
    "infra/bootstrap": {"__account_layout": ("multi",)},
    # The CI system's own files (project.toml [ci] system). CodePipeline runs the CodeBuild
    # buildspecs; GitHub Actions and GitLab CI/CD run their workflow files, which call ci/ to assume
    # the job's role and read its environment. model-deploy/ci/deploy-stage.sh is kept for every
    # system (CodePipeline's own CloudFormation actions do what it does).
    "model-build/buildspec.yml": {"ci_system": ("codepipeline",)},
    "model-build/container/buildspec.yml": {"ci_system": ("codepipeline",)},
    "model-deploy/buildspec.yml": {"ci_system": ("codepipeline",)},
    "model-deploy/buildspec-endpoint-test.yml": {"ci_system": ("codepipeline",)},
    ".github": {"ci_system": ("github-actions",)},
    ".gitlab-ci.yml": {"ci_system": ("gitlab-ci",)},
    "ci": {"ci_system": ("github-actions", "gitlab-ci")},
    "ci/gitlab-aws-credentials.sh": {"ci_system": ("gitlab-ci",)},
}


def _holds(condition: Mapping[str, tuple[str, ...]], answers: Mapping[str, object]) -> bool:
    return all(str(answers[name]) in values for name, values in condition.items())


def is_kept(path: str, answers: Mapping[str, object]) -> bool:
    """Whether the file at ``path`` (relative, POSIX) belongs in a project baked with ``answers``."""
    parts = PurePosixPath(path).parts
    return all(
        _holds(condition, answers)
        for row, condition in MANIFEST.items()
        if parts[: len(PurePosixPath(row).parts)] == PurePosixPath(row).parts
    )


def removed_paths(answers: Mapping[str, object]) -> list[str]:
    """The manifest rows whose conditions fail for ``answers``."""
    return sorted(row for row, condition in MANIFEST.items() if not _holds(condition, answers))


def prune(root: Path, answers: Mapping[str, object]) -> list[str]:
    """Delete what ``answers`` do not call for below ``root``; return what was deleted."""
    removed = removed_paths(answers)
    for row in removed:
        target = root / row
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    return removed


def main(context_json: str) -> int:
    answers = json.loads(context_json)
    prune(Path.cwd(), answers)
    print(
        f"\nCreated {answers['project_slug']} ({answers['mlops_size']}). Next:\n"
        f"  cd {answers['project_slug']}\n"
        "  make local     # runs the pipeline on this machine, no AWS needed\n"
        "  make help      # everything else\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(r"""{{ cookiecutter | tojson }}"""))
