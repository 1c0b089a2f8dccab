"""Test commands whose passing result the twin reuses while what they read is unchanged.

CodeBuild runs every command of every build. The twin runs a build's unit tests again only when their
inputs changed: the flow builds one commit twice (the push, then the release image's retraining), and
a seam broken in the infra or on the deploy side leaves model-build's tests as they were. The
project's own `make test` runs every suite on every change; what the twin checks is the flow across
them. A reused result is said in the build's log and in the twin's report; `make twin
ARGS=--rerun-tests` runs every command again.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

# command -> the folders its tests read, beside the files at the project's root (project.toml,
# constraints.txt, the locks, ruff.toml). model-build's suites read model-build/, the shared names
# package and the root; never infra/ or model-deploy/.
REUSABLE: dict[str, tuple[str, ...]] = {
    "bash model-build/ci/unit-tests.sh": ("model-build", "names"),
}
SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache"}


def inputs_key(command: str, src: Path) -> str | None:
    """A digest of the command, this Python and every file it reads in ``src`` (None: not reusable)."""
    folders = REUSABLE.get(command.strip())
    if folders is None:
        return None
    digest = hashlib.sha256(f"{command.strip()}\0{sys.version}\0".encode())
    files = [p for p in src.iterdir() if p.is_file()]
    for folder in folders:
        files += [p for p in (src / folder).rglob("*") if p.is_file()]
    for path in sorted(files):
        rel = path.relative_to(src)
        if SKIPPED_PARTS.isdisjoint(rel.parts) and not any(
            part.startswith(".venv") or part.endswith(".egg-info") for part in rel.parts
        ):
            digest.update(f"{rel.as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass(frozen=True)
class Passed:
    """A passing run: the build it ran in, when, and its output lines."""

    build: str
    when: str
    log: list[str]


@dataclass
class Reused:
    command: str
    build: str  # the build that reused it
    passed_in: str  # the build whose run passed
    key: str


@dataclass
class PassedTests:
    """Passing runs of the reusable commands, by inputs key, in ``folder`` (kept between twin runs
    of one project; ``rerun``: record, never reuse)."""

    folder: Path
    rerun: bool = False
    reused: list[Reused] = field(default_factory=list)

    def _file(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def lookup(self, key: str) -> Passed | None:
        if self.rerun or not self._file(key).is_file():
            return None
        return Passed(**json.loads(self._file(key).read_text(encoding="utf-8")))

    def record(self, key: str, build: str, lines: list[str]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        passed = Passed(build, time.strftime("%Y-%m-%d %H:%M:%S"), lines)
        self._file(key).write_text(json.dumps(asdict(passed)), encoding="utf-8")
