"""The organization's answers: a JSON object handed to cookiecutter as ``extra_context``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class PublishError(ValueError):
    """Bad input to the publish command: one line naming the value and what is allowed."""


def allowed_keys(template_root: Path) -> set[str]:
    """Questions of ``cookiecutter.json`` a user may answer (private ``_``/``__`` keys are not)."""
    questions = json.loads((template_root / "cookiecutter.json").read_text(encoding="utf-8"))
    return {key for key in questions if not key.startswith("_")}


def load(path: Path, template_root: Path) -> dict[str, Any]:
    """Read and check the answers file; unknown keys and non-scalar values are refused."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PublishError(f"{path}: cannot read answers: {error.strerror}") from error
    except json.JSONDecodeError as error:
        raise PublishError(f"{path}: not JSON: {error.msg} (line {error.lineno})") from error
    if not isinstance(data, dict):
        raise PublishError(f"{path}: answers must be a JSON object of question -> answer")
    allowed = allowed_keys(template_root)
    for key, value in data.items():
        if key not in allowed:
            raise PublishError(
                f"{path}: {key!r} is not a question; allowed: {', '.join(sorted(allowed))}"
            )
        if not isinstance(value, str | bool):
            raise PublishError(f"{path}: {key}={value!r}: answers are strings (or true/false)")
    return data
