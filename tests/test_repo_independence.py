"""model-deploy stands on its own: the team that runs endpoints can own it as a repository of its own
(the paired layout AWS's SageMaker Projects templates ship). Its code names nothing of the model-build
side, and its suite passes from a copy holding only what that repository would: model-deploy, the
names package and the project's answers (project.toml, constraints.txt, ruff.toml), with the other
side's packages unimportable."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.baking import CHECKOV, PROJECT_TEMPLATE, bake

# What model-deploy's repository holds besides its own folder (the rest of the project is the other
# side's, or the platform's).
CARRIED = ("names", "project.toml", "constraints.txt", "ruff.toml")
# The other side's packages (model-build's, the image's, the model's) and the platform's (infra).
OTHER_PACKAGES = ("model_build", "model_container", "project_model", "project_infra")
CODE = {".py", ".sh", ".yml", ".yaml", ".json", ".toml", ".txt", ".cfg", ""}
NAMED = re.compile(r"\b(?:" + "|".join(OTHER_PACKAGES) + r")\b|model-build/|\.\./model-build")

GUARDED = ("-p", "other_repository_guard")
GUARD = f"""
import importlib.abc
import sys

OTHER = {OTHER_PACKAGES!r}


class OtherRepository(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in OTHER:
            raise ModuleNotFoundError(f"{{name}}: not in model-deploy's repository", name=name)
        return None


sys.meta_path.insert(0, OtherRepository())
"""


def test_model_deploy_code_names_nothing_of_the_other_side(template: Path) -> None:
    """No path into model-build and no module of the other side, outside comments (a comment may
    point a reader at the other side's docs; READMEs too)."""
    root = template / PROJECT_TEMPLATE / "model-deploy"
    found = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.suffix in CODE and path.name != "README.md"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if NAMED.search(line) and not line.lstrip().startswith("#")
    ]
    assert not found, "\n".join(found)


def test_the_guard_refuses_the_other_sides_packages(tmp_path: Path) -> None:
    """The import guard below can fail: with it, model_container (installed here) is unimportable."""
    (tmp_path / "other_repository_guard.py").write_text(GUARD, encoding="utf-8")
    probe = "import other_repository_guard, project_names\nimport model_container"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1 and "not in model-deploy's repository" in done.stderr, done.stderr


def test_model_deploy_suite_passes_alone(template: Path, tmp_path: Path) -> None:
    """The default bake's model-deploy suite runs here (tests/test_generated_suites.py skips it)."""
    project = bake(template, tmp_path / "bake", {})
    repo = tmp_path / "model-deploy-repo"
    shutil.copytree(project / "model-deploy", repo / "model-deploy")
    for name in CARRIED:
        copy = shutil.copytree if (project / name).is_dir() else shutil.copy2
        copy(project / name, repo / name)
    (tmp_path / "other_repository_guard.py").write_text(GUARD, encoding="utf-8")
    paths = [tmp_path, repo / "names" / "src", repo / "model-deploy" / "src"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *GUARDED],
        cwd=repo / "model-deploy",
        env={**os.environ, "PYTHONPATH": os.pathsep.join(map(str, paths)), "CHECKOV": CHECKOV},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1], done.stdout[-2000:]
    # Only the endpoint suite skips (no endpoint is running): nothing skips for a missing package.
    skipped = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert all("tests/endpoint/" in line for line in skipped), skipped
