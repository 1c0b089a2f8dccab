"""``python -m venv DIR`` in a twin build: a stand-in virtualenv that points at the project's own.

Nothing is installed in a twin build (see pipcheck), so DIR only needs what buildspecs touch:
``DIR/bin/activate`` (puts the shims and the project's virtualenv first on PATH, sets VIRTUAL_ENV,
defines ``deactivate``) and ``DIR/bin/python``/``pip`` (links to the shims).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from project_infra.twin.shimlog import record

SHIMS = Path(__file__).resolve().parent / "shims"
LINKS = ("python", "python3", f"python3.{sys.version_info.minor}", "pip", "pip3")

ACTIVATE = """\
# twin: a stand-in for a virtualenv; the project's own virtualenv already holds every pinned package.
deactivate () {{
    if [ -n "${{_OLD_VIRTUAL_PATH:-}}" ]; then PATH="$_OLD_VIRTUAL_PATH"; export PATH; unset _OLD_VIRTUAL_PATH; fi
    unset VIRTUAL_ENV
    if [ "${{1:-}}" != "nondestructive" ]; then unset -f deactivate; fi
}}
deactivate nondestructive
VIRTUAL_ENV={venv}
export VIRTUAL_ENV
_OLD_VIRTUAL_PATH="$PATH"
PATH={shims}:{real_bin}:"$PATH"
export PATH
hash -r 2>/dev/null || true
"""


def create(target: Path) -> None:
    bin_dir = target / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    (target / "pyvenv.cfg").write_text(
        f"home = {Path(sys.executable).parent}\ninclude-system-site-packages = false\n"
        f"version = {sys.version.split()[0]}\ntwin = stand-in for the project's virtualenv\n",
        encoding="utf-8",
    )
    (bin_dir / "activate").write_text(
        ACTIVATE.format(
            venv=shlex.quote(str(target.resolve())),
            shims=shlex.quote(str(SHIMS)),
            real_bin=shlex.quote(str(Path(sys.executable).parent)),
        ),
        encoding="utf-8",
    )
    for name in LINKS:
        link = bin_dir / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(SHIMS / ("pip" if name.startswith("pip") else "python"))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    record("python -m venv", ["python", "-m", "venv", *argv])
    dirs, i = [], 0
    while i < len(argv):
        if argv[i] == "--prompt":  # the one option with a value
            i += 1
        elif not argv[i].startswith("-"):
            dirs.append(argv[i])
        i += 1
    if len(dirs) != 1:
        print(f"twin: python -m venv: expected one directory, got {dirs or 'none'}")
        return 2
    create(Path(dirs[0]))
    print(
        f"twin: {dirs[0]} stands in for a virtualenv (the project's own: {Path(sys.executable).parent.parent})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
