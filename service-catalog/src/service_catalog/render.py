"""Render the template with the organization's answers (cookiecutter's API, no prompts) and name the
result: the product version is a digest of the rendered files, so it changes when the template or
the answers change, and only then."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cookiecutter.exceptions import CookiecutterException
from cookiecutter.main import cookiecutter
from project_infra.settings import SettingsError, load

from service_catalog.answers import PublishError

# Working-copy clutter that is neither seed code nor part of the version (as project_infra.source
# leaves it out of the CodeCommit seed).
CLUTTER = {
    ".git",
    ".venv",
    "cdk.out",
    ".local",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
}


# What cookiecutter reads from the template repository.
TEMPLATE_PARTS = ("cookiecutter.json", "hooks", "{{cookiecutter.project_slug}}")


def shipped_files(template_root: Path) -> list[str]:
    """Template files a fresh clone holds (tracked, or new and not ignored), so that caches and
    build output of the working copy never reach the seed code; every file outside git."""
    try:
        out = subprocess.run(
            [
                "git",
                "ls-files",
                "--cached",
                "--others",
                "--exclude-standard",
                "-z",
                "--",
                *TEMPLATE_PARTS,
            ],
            cwd=template_root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        names = [name for name in out.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        names = [
            path.relative_to(template_root).as_posix()
            for part in TEMPLATE_PARTS
            for path in (template_root / part).rglob("*")
            if path.is_file() and not _is_clutter(path.relative_to(template_root))
        ] + ["cookiecutter.json"]
    return sorted({n for n in names if (template_root / n).is_file()})


def clean_copy(template_root: Path, target: Path) -> Path:
    """Copy the shipped template files to ``target`` (what cookiecutter renders from)."""
    for name in shipped_files(template_root):
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(template_root / name, destination)
    return target


def render(template_root: Path, answers: Mapping[str, Any], output_dir: Path) -> Path:
    """Bake the project as ``cookiecutter --no-input`` would from a clean copy of the template;
    returns the project folder."""
    try:
        with tempfile.TemporaryDirectory(prefix="template-") as copy:
            project = cookiecutter(
                str(clean_copy(template_root, Path(copy))),
                no_input=True,
                extra_context=dict(answers),
                output_dir=str(output_dir),
                overwrite_if_exists=True,
            )
    # cookiecutter refuses an unknown choice with ValueError; the hooks fail with their own message.
    except (CookiecutterException, ValueError) as error:
        lines = str(error).strip().splitlines()
        raise PublishError(
            f"the template refused the answers: {lines[-1] if lines else type(error).__name__}"
        ) from error
    return Path(project)


def write_network(
    project_file: Path, tables: Mapping[str, Mapping[str, Any]], source: Path
) -> None:
    """Fill the rendered project.toml's blank [network] / [network.<stage>] tables with the answers'
    ids, then check them with the project's own settings loader (a bake's rules, its one line,
    naming ``source`` instead of the rendered file)."""
    text = project_file.read_text(encoding="utf-8")
    for name, table in tables.items():
        start = text.find(f"\n[{name}]\n")
        if start == -1:
            raise PublishError(f"{source}: network: the template's project.toml has no [{name}]")
        end = text.find("\n[", start + 1)
        end = len(text) if end == -1 else end
        body = text[start:end]
        for key, value in table.items():
            body, count = re.subn(
                rf"^{key} = .*$", f"{key} = {json.dumps(value)}", body, count=1, flags=re.M
            )
            if count != 1:
                raise PublishError(f"{source}: network: [{name}] of project.toml has no {key}")
        text = text[:start] + body + text[end:]
    project_file.write_text(text, encoding="utf-8")
    try:
        load(project_file)
    except SettingsError as error:
        raise PublishError(str(error).replace(str(project_file), f"{source}: network")) from None


def _is_clutter(relative: Path) -> bool:
    return any(part in CLUTTER or part.endswith(".egg-info") for part in relative.parts)


def seed_files(project: Path) -> Iterator[Path]:
    """Files of the rendered project that make up the seed code, in a stable order."""
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project)
        if path.is_file() and not _is_clutter(relative):
            yield relative


def digest(project: Path) -> str:
    """SHA-256 over the seed files' paths and bytes."""
    sha = hashlib.sha256()
    for relative in seed_files(project):
        sha.update(relative.as_posix().encode() + b"\0")
        sha.update((project / relative).read_bytes() + b"\0")
    return sha.hexdigest()


def version_name(project: Path) -> str:
    """Service Catalog version name (at most 100 characters): ``v-`` + 16 hex digits of the digest."""
    return f"v-{digest(project)[:16]}"


def template_commit(template_root: Path) -> str:
    """The template's git commit (with ``-dirty`` for local edits), or ``unknown`` outside git."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=template_root,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip() or "unknown"
