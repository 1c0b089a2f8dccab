"""Stop before the first question when this Python or cookiecutter is too old for the template."""

from __future__ import annotations

import re
import sys

MIN_PYTHON = (3, 11)
MIN_COOKIECUTTER = (2, 6)


def version_tuple(text: str) -> tuple[int, ...]:
    """``"2.7.1"`` -> ``(2, 7)``; ``"2.8.0rc1"`` -> ``(2, 8)``; unreadable -> ``(0,)``."""
    found = re.match(r"(\d+)\.(\d+)", text)
    return (int(found[1]), int(found[2])) if found else (0,)


def problems(python: tuple[int, ...], cookiecutter: str) -> list[str]:
    found = []
    if python[:2] < MIN_PYTHON:
        found.append(
            f"ERROR: python={'.'.join(map(str, python[:3]))}: too old for this template; "
            f"allowed: Python {'.'.join(map(str, MIN_PYTHON))} or newer"
        )
    if version_tuple(cookiecutter)[:2] < MIN_COOKIECUTTER:
        found.append(
            f"ERROR: cookiecutter={cookiecutter}: too old for this template; "
            f"allowed: cookiecutter {'.'.join(map(str, MIN_COOKIECUTTER))} or newer "
            "(pip install -U cookiecutter)"
        )
    return found


def main() -> int:
    try:
        from cookiecutter import __version__ as cookiecutter_version  # noqa: PLC0415 (optional)
    except ImportError:  # cruft and other front ends run the hooks with their own cookiecutter
        cookiecutter_version = "0"
    found = problems(tuple(sys.version_info), cookiecutter_version)
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
