"""The README's publishing commands on a fresh clone: ``make synth`` creates the dev venv it needs
(``../dev setup``) or stops with one line naming the command to run. The Makefile runs for real
in a copy of the repository's layout; ``../dev`` there is a stand-in that records the call and makes
the venv (the real one installs the pinned tooling, minutes and a network; `./dev test` runs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

SERVICE_CATALOG = Path(__file__).resolve().parents[1]
REPO = SERVICE_CATALOG.parent

# ../dev setup as far as the Makefile can tell: .venv/bin/python (records its arguments) and the stamp.
DEV = """#!/bin/sh
set -e
cd "$(dirname "$0")"
echo "dev $*" >> calls.log
mkdir -p .venv/bin
printf '#!/bin/sh\\necho "python $*" >> "%s/calls.log"\\n' "$PWD" > .venv/bin/python
chmod +x .venv/bin/python
echo stamp > .venv/.installed
"""


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """The files ``make`` reads in a fresh clone: service-catalog's Makefile and example answers, the
    two dev requirement files at the root, and no .venv."""
    (tmp_path / "service-catalog").mkdir()
    for name in ("Makefile", "answers.example.json"):
        shutil.copy2(SERVICE_CATALOG / name, tmp_path / "service-catalog" / name)
    for name in ("requirements-dev.lock", "requirements-dev.in"):
        shutil.copy2(REPO / name, tmp_path / name)
    (tmp_path / "dev").write_text(DEV, encoding="utf-8")
    (tmp_path / "dev").chmod(0o755)
    return tmp_path


def _make(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=clone / "service-catalog",
        env={**os.environ, "MAKEFLAGS": ""},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _calls(clone: Path) -> list[str]:
    log = clone / "calls.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def _errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("ERROR: ")]


def test_readme_commands_create_the_venv_then_synthesize(clone: Path) -> None:
    shutil.copy2(
        clone / "service-catalog/answers.example.json", clone / "service-catalog/answers.json"
    )
    first = _make(clone, "synth")
    assert first.returncode == 0, first.stderr
    publish = "python -m service_catalog.publish --answers answers.json --out cdk.out"
    assert _calls(clone) == ["dev setup", publish]

    again = _make(clone, "synth")
    assert again.returncode == 0, again.stderr
    assert _calls(clone) == ["dev setup", publish, publish]  # the venv is made once

    # A changed lock brings the venv up to date before the next synth.
    lock = clone / "requirements-dev.lock"
    os.utime(lock, (time.time() + 5, time.time() + 5))
    assert _make(clone, "synth").returncode == 0
    assert _calls(clone)[3:] == ["dev setup", publish]


def test_missing_answers_stop_with_the_command_to_run(clone: Path) -> None:
    result = _make(clone, "synth")
    assert result.returncode != 0
    assert _errors(result) == [
        "ERROR: ANSWERS=answers.json: no such file; run: cp answers.example.json answers.json "
        "(then edit size, git provider, accounts, region)"
    ]
    assert _calls(clone) == []  # checked before minutes of installs


def test_missing_node_stops_with_one_line(clone: Path) -> None:
    shutil.copy2(
        clone / "service-catalog/answers.example.json", clone / "service-catalog/answers.json"
    )
    result = _make(clone, "synth", "NODE=no-such-node-binary")
    assert result.returncode != 0
    assert _errors(result) == [
        "ERROR: no-such-node-binary: not found; allowed: Node.js on PATH (the CDK runs on it; "
        "https://nodejs.org)"
    ]


@pytest.mark.parametrize(
    ("args", "named"),
    [(("BUCKET=",), "ERROR: BUCKET is empty"), (("BUCKET=b",), "ERROR: DOMAIN_ID is empty")],
)
def test_upload_names_a_missing_argument(clone: Path, args: tuple[str, ...], named: str) -> None:
    shutil.copy2(
        clone / "service-catalog/answers.example.json", clone / "service-catalog/answers.json"
    )
    result = _make(clone, "upload", *args)
    assert result.returncode != 0
    (line,) = _errors(result)
    assert line.startswith(named + "; allowed: ")
    assert not [c for c in _calls(clone) if c.startswith("python")]


def test_own_python_is_used_as_given(clone: Path) -> None:
    """PYTHON=... (a venv of one's own) is not replaced by the dev venv."""
    shutil.copy2(
        clone / "service-catalog/answers.example.json", clone / "service-catalog/answers.json"
    )
    (clone / "mine").write_text(
        f'#!/bin/sh\necho "mine $*" >> "{clone}/calls.log"\n', encoding="utf-8"
    )
    (clone / "mine").chmod(0o755)
    result = _make(clone, "synth", f"PYTHON={clone / 'mine'}")
    assert result.returncode == 0, result.stderr
    assert _calls(clone) == ["mine -m service_catalog.publish --answers answers.json --out cdk.out"]
