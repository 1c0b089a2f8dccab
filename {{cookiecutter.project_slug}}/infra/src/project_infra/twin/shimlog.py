"""Record a shim's invocation so the twin's report can list what was emulated."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


def record(shim: str, argv: list[str]) -> None:
    """Append one JSON line to ``$TWIN_SHIM_LOG`` (no-op when unset)."""
    target = os.environ.get("TWIN_SHIM_LOG")
    if not target:
        return
    entry = {"shim": shim, "argv": argv, "cwd": str(Path.cwd()), "time": round(time.time(), 3)}
    with Path(target).open(
        "a", encoding="utf-8"
    ) as out:  # O_APPEND: lines from parallel shims stay whole
        out.write(json.dumps(entry) + "\n")
