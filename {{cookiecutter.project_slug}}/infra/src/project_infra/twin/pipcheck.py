"""``pip install`` in a twin build: a check, not an install.

The twin runs every build inside the project's own virtualenv, which already holds every pinned
package, and must not download anything. So ``pip install ARGS`` verifies that what ARGS names is
installed, at the version a ``-c`` constraints file pins, and that each local path (``-e DIR``) is a
project whose distribution is installed. Read-only subcommands (``list``, ``show``, ``freeze``,
``check``, ``--version``) run the real pip.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from project_infra.twin.shimlog import record

READ_ONLY = {"list", "show", "freeze", "check", "help", "inspect"}
# Options of `pip install` that take a value (as the next argument or after `=`).
VALUED = {
    "-c", "--constraint", "-r", "--requirement", "-e", "--editable", "-i", "--index-url",
    "--extra-index-url", "-f", "--find-links", "--trusted-host", "--cache-dir", "--progress-bar",
    "--src", "--upgrade-strategy", "--python-version", "--platform", "--implementation", "--abi",
    "--only-binary", "--no-binary", "-C", "--config-settings", "--log", "--timeout", "--retries",
    "--proxy", "--cert", "--client-cert", "--exists-action", "--global-option", "--root",
    "--prefix", "-t", "--target", "--report", "--keyring-provider", "--python",
}  # fmt: skip
# Options that would install somewhere other than the environment the build runs in.
ELSEWHERE = {"-t", "--target", "--root", "--prefix", "--user", "--python"}
PIP_GLOBAL_VALUED = {
    "--log",
    "--timeout",
    "--retries",
    "--proxy",
    "--cert",
    "--cache-dir",
    "--python",
}


class UnmetError(Exception):
    """The first requirement the project's virtualenv does not satisfy (one line)."""


@dataclass
class Request:
    """What one ``pip install`` command line asks for."""

    names: list[tuple[Requirement, str]] = field(default_factory=list)  # (requirement, where)
    paths: list[tuple[str, bool, str]] = field(
        default_factory=list
    )  # (path[extras], editable, where)
    constraints: dict[str, tuple[Requirement, str]] = field(default_factory=dict)
    no_deps: bool = False
    cwd: Path = field(default_factory=Path.cwd)  # pip resolves local paths from here

    @property
    def count(self) -> int:
        return len(self.names) + len(self.paths)


def _split_value(args: list[str], i: int) -> tuple[str, str, int]:
    """(option, value, next index) for ``-cFILE``, ``--constraint=FILE`` or ``-c FILE``."""
    arg = args[i]
    if arg.startswith("--") and "=" in arg:
        opt, value = arg.split("=", 1)
        return opt, value, i + 1
    if not arg.startswith("--") and len(arg) > 2:
        return arg[:2], arg[2:], i + 1
    if i + 1 >= len(args):
        raise UnmetError(f"twin: pip: option {arg} needs a value")
    return arg, args[i + 1], i + 2


def _is_path(spec: str, cwd: Path) -> bool:
    base = re.sub(r"\[[^\]]*\]$", "", spec)
    return base.startswith((".", "/", "~")) or os.sep in base or (cwd / base).is_dir()


def _file_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Logical lines of a requirements file: comments dropped, ``\\`` continuations joined."""
    pending = ""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = (pending + line).strip(), ""
        if line:
            yield number, line


def _read_file(path: Path, request: Request, *, as_constraints: bool, seen: set[Path]) -> None:
    path = path.resolve()
    if path in seen:
        return
    seen.add(path)
    if not path.is_file():
        kind = "constraints" if as_constraints else "requirements"
        raise UnmetError(f"twin: pip: {kind} file '{path}' does not exist")
    for number, line in _file_lines(path):
        where = f"{path.name}:{number}"
        if line.startswith("-"):
            args = line.split()
            _parse(args, request, base=path.parent, where=where, seen=seen, nested=as_constraints)
        elif as_constraints:
            req = _requirement(line, where)
            request.constraints[canonicalize_name(req.name)] = (req, where)
        else:
            _add_spec(line, request, where=where)


def _requirement(text: str, where: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise UnmetError(f"twin: pip: cannot parse requirement '{text}' ({where}): {exc}") from None


def _add_spec(spec: str, request: Request, *, where: str, editable: bool = False) -> None:
    """A name goes to the installed-distribution check; a local path (relative to cwd, as pip does) to the project check."""
    if editable or _is_path(spec, request.cwd):
        request.paths.append((spec, editable, where))
    else:
        request.names.append((_requirement(spec, where), where))


def _parse(
    args: list[str],
    request: Request,
    *,
    base: Path,
    where: str,
    seen: set[Path],
    nested: bool = False,
) -> None:
    """Fill ``request`` from install arguments; files named by -c/-r are read relative to ``base``."""
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("-") or arg == "-":
            _add_spec(arg, request, where=where)
            i += 1
            continue
        opt = arg.split("=", 1)[0] if arg.startswith("--") else arg[:2]
        if opt in ELSEWHERE:
            raise UnmetError(
                f"twin: pip: {opt} installs outside the project's virtualenv; not emulated"
            )
        if opt == "--no-deps":
            request.no_deps = True
        if opt not in VALUED:
            i += 1
            continue
        opt, value, i = _split_value(args, i)
        if opt in ("-c", "--constraint"):
            _read_file(base / value, request, as_constraints=True, seen=seen)
        elif opt in ("-r", "--requirement"):
            _read_file(base / value, request, as_constraints=nested, seen=seen)
        elif opt in ("-e", "--editable"):
            _add_spec(value, request, where=where, editable=True)


def parse_install(args: list[str], cwd: Path) -> Request:
    request = Request(cwd=cwd)
    _parse(args, request, base=cwd, where="command line", seen=set())
    return request


def _installed() -> dict[str, metadata.Distribution]:
    found: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(canonicalize_name(name), dist)
    return found


def _project_name(path: Path) -> str:
    """The distribution name a local project declares (pyproject.toml [project], setup.cfg, setup.py)."""
    pyproject = path / "pyproject.toml"
    if pyproject.is_file():
        name = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("name")
        if name:
            return str(name)
    for candidate, pattern in (
        ("setup.cfg", r"^\s*name\s*=\s*([A-Za-z0-9_.\-]+)\s*$"),
        ("setup.py", r"""name\s*=\s*["']([A-Za-z0-9_.\-]+)["']"""),
    ):
        file = path / candidate
        if file.is_file():
            match = re.search(pattern, file.read_text(encoding="utf-8"), re.MULTILINE)
            if match:
                return match.group(1)
    raise UnmetError(
        f"twin: pip: '{path}' has no project name (pyproject.toml [project] name, setup.cfg or setup.py)"
    )


class Checker:
    """Checks requirements against the distributions installed in this interpreter's environment."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.installed = _installed()
        self.checked: set[str] = set()

    def dist(self, name: str, why: str) -> metadata.Distribution:
        dist = self.installed.get(canonicalize_name(name))
        if dist is None:
            raise UnmetError(
                f"twin: pip: '{name}' is not installed in the project's virtualenv{why}; add it to requirements.txt"
            )
        return dist

    def check(self, req: Requirement, why: str = "") -> None:
        if req.marker is not None and not req.marker.evaluate():
            return
        dist = self.dist(req.name, why)
        version = Version(dist.version)
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            raise UnmetError(
                f"twin: pip: '{req.name}' is {version} in the project's virtualenv but{why} '{req}' is required"
            )
        pin = self.request.constraints.get(canonicalize_name(req.name))
        if (
            pin is not None
            and pin[0].specifier
            and not pin[0].specifier.contains(version, prereleases=True)
        ):
            raise UnmetError(
                f"twin: pip: '{req.name}' is {version} in the project's virtualenv but {pin[1]} pins '{pin[0]}'"
            )
        self.dependencies(dist, set(req.extras))

    def dependencies(self, dist: metadata.Distribution, extras: set[str]) -> None:
        """One level of dependencies (with the requested extras): pip would have installed them."""
        key = f"{canonicalize_name(dist.metadata['Name'])}[{','.join(sorted(extras))}]"
        if key in self.checked:
            return
        self.checked.add(key)
        if self.request.no_deps:
            return
        known = set(dist.metadata.get_all("Provides-Extra") or [])
        for extra in sorted(extras):
            if canonicalize_name(extra) not in {canonicalize_name(k) for k in known}:
                raise UnmetError(
                    f"twin: pip: '{dist.metadata['Name']}' has no extra '{extra}' (it has: {', '.join(sorted(known)) or 'none'})"
                )
        for line in dist.requires or []:
            dep = Requirement(line)
            environments = [{"extra": e} for e in sorted(extras)] or [{"extra": ""}]
            if dep.marker is not None and not any(dep.marker.evaluate(env) for env in environments):
                continue
            dep.marker = None
            self.check(dep, f" (needed by {dist.metadata['Name']})")

    def check_path(self, spec: str, editable: bool, cwd: Path) -> None:
        match = re.fullmatch(r"(.*?)(\[([^\]]*)\])?", spec)
        assert match is not None  # the pattern matches every string
        raw, extras = (
            match.group(1),
            {e.strip() for e in (match.group(3) or "").split(",") if e.strip()},
        )
        path = (cwd / raw).expanduser()
        flag = "-e " if editable else ""
        if not path.is_dir():
            raise UnmetError(f"twin: pip: {flag}path '{raw}' does not exist (from {cwd})")
        name = _project_name(path)
        self.check(
            Requirement(f"{name}[{','.join(sorted(extras))}]" if extras else name),
            f" (project at {raw})",
        )


def check_install(args: list[str], cwd: Path) -> int:
    """Number of requirements checked; raises UnmetError for the first one not satisfied."""
    request = parse_install(args, cwd)
    checker = Checker(request)
    for spec, editable, _where in request.paths:
        checker.check_path(spec, editable, cwd)
    for req, _where in request.names:
        checker.check(req)
    return request.count


def _subcommand(argv: list[str]) -> tuple[str | None, list[str]]:
    """Skip pip's global options (``-q``, ``--disable-pip-version-check``) before the subcommand."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-"):
            return arg, argv[i + 1 :]
        i += 2 if arg in PIP_GLOBAL_VALUED else 1
    return None, argv


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command, rest = _subcommand(argv)
    if command in READ_ONLY or (command is None and ("--version" in argv or "-V" in argv)):
        os.execv(sys.executable, [sys.executable, "-m", "pip", *argv])
    record("pip", ["pip", *argv])
    if command != "install":
        print(
            f"twin: pip {command or '(no subcommand)'} is not emulated (install, {', '.join(sorted(READ_ONLY))} are)"
        )
        return 2
    try:
        count = check_install(rest, Path.cwd())
    except UnmetError as unmet:
        print(unmet)
        return 1
    print(f"twin: pip install satisfied by the project's virtualenv ({count} requirements checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
