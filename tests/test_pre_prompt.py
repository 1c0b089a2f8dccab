"""pre_prompt stops a too-old Python or cookiecutter with one clear line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.baking import REPO, load_hook

pre_prompt = load_hook("pre_prompt")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2.7.1", (2, 7)), ("2.10.0rc1", (2, 10)), ("3.0", (3, 0)), ("garbage", (0,))],
)
def test_version_tuple(text: str, expected: tuple[int, ...]) -> None:
    assert pre_prompt.version_tuple(text) == expected


def test_current_interpreter_and_cookiecutter_pass() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "hooks" / "pre_prompt.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_old_python_and_old_cookiecutter_are_named() -> None:
    assert pre_prompt.problems((3, 10, 12), "2.5.0") == [
        "ERROR: python=3.10.12: too old for this template; allowed: Python 3.11 or newer",
        "ERROR: cookiecutter=2.5.0: too old for this template; allowed: cookiecutter 2.6 or newer "
        "(pip install -U cookiecutter)",
    ]
    assert pre_prompt.problems((3, 11, 0), "2.6.0") == []
