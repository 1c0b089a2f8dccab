"""Run a buildspec (version 0.2) on this machine as AWS CodeBuild would run it.

Semantics followed (AWS docs):
- Buildspec syntax, ``finally``, ``on-failure``, variable precedence, artifacts:
  https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html
- Phase transitions (a failed INSTALL or PRE_BUILD ends the build; POST_BUILD and UPLOAD_ARTIFACTS
  still run after a failed BUILD):
  https://docs.aws.amazon.com/codebuild/latest/userguide/view-build-details-phases.html
- Built-in variables (CODEBUILD_SRC_DIR_<identifier>, CODEBUILD_BUILD_SUCCEEDING, ...):
  https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html

Version 0.2 runs all commands of a build "in the same instance of the default shell": a variable,
``cd`` or ``source .venv/bin/activate`` carries over to later commands and phases. Here each command
runs in its own bash process that restores the previous command's shell state (variables, functions,
working directory, options) and saves its own on exit, even after ``exit 1``; that is the same
shell state without one command's ``exit`` ending the build's shell.

The build environment starts clean (like a CodeBuild container): only the AWS connection variables
(endpoint, credentials, region) and TWIN_* of this process pass through, then the buildspec's
``env.variables``, then ``environment`` (the project's variables merged with the action's
overrides), then the CODEBUILD_* values the build defines. With ``shims=True`` PATH starts with
the twin's shims (python/pip/docker, see the ``shims`` folder) and the project's virtualenv.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import yaml

from project_infra.twin.reuse import PassedTests, Reused, inputs_key

SHIMS = Path(__file__).resolve().parent / "shims"
# A failed test run's summary lines go into the build's error: the stage's one-line failure then
# names the test, not only the buildspec's "unit tests failed".
PYTEST_FAILURE = re.compile(r"(FAILED|ERROR) \S+::")
MAX_FAILURES = 10
PHASES = (
    ("install", "INSTALL"),
    ("pre_build", "PRE_BUILD"),
    ("build", "BUILD"),
    ("post_build", "POST_BUILD"),
)
TOP_KEYS = {"version", "run-as", "env", "proxy", "batch", "phases", "reports", "artifacts", "cache"}
ENV_KEYS = {
    "shell",
    "variables",
    "parameter-store",
    "exported-variables",
    "secrets-manager",
    "git-credential-helper",
}
PHASE_KEYS = {"run-as", "on-failure", "runtime-versions", "commands", "finally"}
ARTIFACT_KEYS = {
    "files", "name", "discard-paths", "base-directory", "exclude-paths", "enable-symlinks", "s3-prefix",
    "secondary-artifacts",
}  # fmt: skip
REPORT_KEYS = {"files", "base-directory", "discard-paths", "file-format"}
SHELLS = {"bash": False, "/bin/bash": False, "sh": True, "/bin/sh": True}  # shell -> bash --posix
# Passed through from this process: how to reach the emulator, as the build role's credentials would.
PASSTHROUGH = re.compile(
    # No keys: a build gets its role's credentials the way CodeBuild gives them (the container
    # credentials endpoint, passed in ``environment``), never the caller's own.
    r"^(AWS_ENDPOINT_URL(_[A-Z0-9_]+)?|AWS_REGION|AWS_DEFAULT_REGION|AWS_CA_BUNDLE"
    r"|TWIN_[A-Z0-9_]+|LANG|LC_ALL|TZ)$"
)
IDENTIFIER = re.compile(r"^[A-Za-z0-9_]+$")
# Variables bash sets itself (or that the state restore must not overwrite); IFS stays the default.
BASH_OWN = (
    "BASH*|COLUMNS|COMP_WORDBREAKS|DIRSTACK|EPOCHREALTIME|EPOCHSECONDS|EUID|FUNCNAME|GROUPS|HISTCMD"
    "|HISTFILE|HISTFILESIZE|HISTSIZE|HOSTNAME|HOSTTYPE|IFS|LINENO|LINES|MACHTYPE|MAILCHECK|OLDPWD|OPTERR"
    "|OPTIND|OSTYPE|PIPESTATUS|PPID|PS1|PS2|PS4|PWD|RANDOM|SECONDS|SHELLOPTS|SHLVL|SRANDOM|UID|_|__twin_*"
)

Log = Callable[[str], None]


@dataclass(frozen=True)
class BuildInput:
    """One input artifact, already a folder on disk."""

    name: str  # artifact name, e.g. "SourceArtifact", "ImageArtifact"
    path: Path


@dataclass
class BuildResult:
    """What a build did. ``error`` is one line: the phase, the failing command (its first line), the
    exit status and the command's last non-empty output line."""

    status: str  # "SUCCEEDED" | "FAILED"
    failed_phase: str | None  # e.g. "PRE_BUILD"; "DOWNLOAD_SOURCE" for a missing or bad buildspec
    error: str | None
    exported: dict[str, str]  # env.exported-variables at the end of the build
    artifacts: dict[str, Path]  # artifact name -> folder holding its files
    log: Path  # full log file
    seconds: float
    phases: dict[str, str] = field(default_factory=dict)  # phase run -> SUCCEEDED | FAILED
    shim_log: Path | None = None  # JSON lines: one per emulated command (docker, pip, venv)
    reports: dict[str, list[Path]] = field(default_factory=dict)  # report group -> its files


class BuildspecError(Exception):
    """A buildspec CodeBuild would reject (or that the twin does not emulate): one line naming the key."""


@dataclass(frozen=True)
class Phase:
    key: str  # "pre_build"
    name: str  # "PRE_BUILD"
    commands: tuple[str, ...]
    finally_: tuple[str, ...]
    on_failure: str | None  # None: the documented phase transitions


@dataclass(frozen=True)
class FileSet:
    """``artifacts``, one of its ``secondary-artifacts``, or a report group."""

    key: str  # where it is in the buildspec, for messages
    files: tuple[str, ...]
    base_directory: str
    discard_paths: bool
    exclude: tuple[str, ...] = ()
    name: str | None = None
    file_format: str | None = None


@dataclass(frozen=True)
class Buildspec:
    posix: bool
    shell: str
    variables: dict[str, str]
    exported: tuple[str, ...]
    phases: tuple[Phase, ...]
    artifacts: FileSet | None
    secondary: dict[str, FileSet]
    reports: dict[str, FileSet]
    notes: tuple[str, ...]


# --- buildspec -------------------------------------------------------------------------------


def _mapping(value: Any, key: str, allowed: set[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BuildspecError(
            f"buildspec: '{key or '(top level)'}' must be a mapping, got {type(value).__name__}"
        )
    unknown = sorted(set(map(str, value)) - allowed)
    if unknown:
        where = f"{key}.{unknown[0]}" if key else unknown[0]
        raise BuildspecError(
            f"buildspec: unknown key '{where}' (allowed: {', '.join(sorted(allowed))})"
        )
    return value


def _scalar(value: Any, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise BuildspecError(f"buildspec: '{key}' must be a string, got {type(value).__name__}")


def _strings(value: Any, key: str, *, required: bool = True) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        raise BuildspecError(f"buildspec: '{key}' must be a non-empty list of strings")
    return tuple(_scalar(item, f"{key}[{i}]") for i, item in enumerate(value))


def _flag(value: Any, key: str) -> bool:
    text = _scalar(value, key).lower() if value is not None else "no"
    if text not in ("yes", "no", "true", "false"):
        raise BuildspecError(f"buildspec: '{key}' must be yes or no, got '{value}'")
    return text in ("yes", "true")


def _paths(value: Any, key: str) -> tuple[str, ...]:
    """A location or a list of them (``exclude-paths`` takes both)."""
    if value is None or isinstance(value, list):
        return _strings(value, key, required=False)
    return (_scalar(value, key),)


def _free_mapping(value: Any, key: str) -> dict[str, Any]:
    """A mapping whose keys are the buildspec author's (variable names, identifiers, report groups)."""
    return (
        _mapping(value, key, set(map(str, value)))
        if isinstance(value, dict)
        else _mapping(value, key, set())
    )


def _phase(key: str, name: str, raw: Any) -> Phase:
    body = _mapping(raw, f"phases.{key}", PHASE_KEYS)
    if "commands" not in body:
        raise BuildspecError(
            f"buildspec: 'phases.{key}.commands' is missing (a phase needs a list of commands)"
        )
    on_failure = body.get("on-failure")
    if on_failure is not None and on_failure not in ("ABORT", "CONTINUE"):
        raise BuildspecError(
            f"buildspec: 'phases.{key}.on-failure' is '{on_failure}'; the twin emulates ABORT and CONTINUE"
        )
    return Phase(
        key,
        name,
        _strings(body["commands"], f"phases.{key}.commands"),
        _strings(body.get("finally"), f"phases.{key}.finally", required=False),
        on_failure,
    )


def _fileset(raw: Any, key: str, allowed: set[str]) -> FileSet:
    body = _mapping(raw, key, allowed)
    return FileSet(
        key,
        _strings(body.get("files"), f"{key}.files"),
        _scalar(body.get("base-directory", "."), f"{key}.base-directory"),
        _flag(body.get("discard-paths"), f"{key}.discard-paths"),
        _paths(body.get("exclude-paths"), f"{key}.exclude-paths"),
        _scalar(body["name"], f"{key}.name") if "name" in body else None,
        _scalar(body["file-format"], f"{key}.file-format") if "file-format" in body else None,
    )


def _runtime_notes(phases: dict[str, Any]) -> list[str]:
    notes = []
    for key, raw in phases.items():
        versions = raw.get("runtime-versions") if isinstance(raw, dict) else None
        for runtime, version in (versions or {}).items():
            here = f"{sys.version_info.major}.{sys.version_info.minor}"
            if runtime == "python":
                mismatch = (
                    ""
                    if str(version) in (here, "latest")
                    else f" (asked for {version}, the twin has {here})"
                )
                notes.append(
                    f"runtime-versions: python {version} -> the twin's interpreter, Python {sys.version.split()[0]}{mismatch}"
                )
            else:
                notes.append(
                    f"runtime-versions: {runtime} {version} in {key} -> not emulated; PATH decides"
                )
    return notes


def parse_buildspec(text: str, where: str) -> Buildspec:
    """Validate a buildspec as CodeBuild would in DOWNLOAD_SOURCE; BuildspecError names the key."""
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise BuildspecError(
            f"buildspec {where}: not valid YAML{at}: {getattr(exc, 'problem', exc)}"
        ) from None
    spec = _mapping(spec, "", TOP_KEYS) if spec is not None else {}
    if str(spec.get("version")) != "0.2":
        raise BuildspecError(
            f"buildspec {where}: 'version' is {spec.get('version')!r}; the twin runs version 0.2"
        )
    if "batch" in spec:
        raise BuildspecError("buildspec: 'batch' (batch builds) is not emulated by the twin")
    env = _mapping(spec.get("env"), "env", ENV_KEYS)
    for key in ("parameter-store", "secrets-manager"):
        if env.get(key):
            names = ", ".join(map(str, env[key]))
            raise BuildspecError(
                f"buildspec: 'env.{key}' ({names}) is not emulated by the twin; use env.variables"
            )
    if env.get("git-credential-helper") and _flag(
        env["git-credential-helper"], "env.git-credential-helper"
    ):
        raise BuildspecError(
            "buildspec: 'env.git-credential-helper: yes' is not emulated by the twin"
        )
    shell = _scalar(env.get("shell", "sh"), "env.shell")
    if shell not in SHELLS:
        raise BuildspecError(
            f"buildspec: 'env.shell' is '{shell}'; the twin runs {', '.join(SHELLS)}"
        )
    variables = _free_mapping(env.get("variables"), "env.variables")
    phases_raw = _mapping(spec.get("phases"), "phases", {key for key, _ in PHASES})
    artifacts = (
        _mapping(spec.get("artifacts"), "artifacts", ARTIFACT_KEYS) if "artifacts" in spec else None
    )
    secondary = _free_mapping(
        (artifacts or {}).get("secondary-artifacts"), "artifacts.secondary-artifacts"
    )
    # Only secondary artifacts (several CodePipeline outputs): the primary needs no files.
    primary = (
        artifacts if artifacts is not None and ("files" in artifacts or not secondary) else None
    )
    notes = _runtime_notes(phases_raw)
    notes += [f"{key}: not emulated (ignored)" for key in ("run-as", "proxy") if key in spec]
    notes += [
        f"phases.{k}.run-as: not emulated (ignored)"
        for k, v in phases_raw.items()
        if isinstance(v, dict) and "run-as" in v
    ]
    if "cache" in spec:
        notes.append("cache: ignored (each twin build starts clean, as a build with a cold cache)")
    if SHELLS[shell]:
        notes.append(
            f"shell {shell}: run by bash --posix (CodeBuild's Ubuntu images run dash; bashisms are not caught here)"
        )
    return Buildspec(
        posix=SHELLS[shell],
        shell=shell,
        variables={str(k): _scalar(v, f"env.variables.{k}") for k, v in variables.items()},
        exported=_strings(env.get("exported-variables"), "env.exported-variables", required=False),
        phases=tuple(
            _phase(key, name, phases_raw[key]) for key, name in PHASES if key in phases_raw
        ),
        artifacts=_fileset(primary, "artifacts", ARTIFACT_KEYS) if primary is not None else None,
        secondary={
            str(k): _fileset(
                v, f"artifacts.secondary-artifacts.{k}", ARTIFACT_KEYS - {"secondary-artifacts"}
            )
            for k, v in secondary.items()
        },
        reports={
            str(k): _fileset(v, f"reports.{k}", REPORT_KEYS)
            for k, v in _free_mapping(spec.get("reports"), "reports").items()
        },
        notes=tuple(notes),
    )


# --- the build's shell -----------------------------------------------------------------------

# Sourced at the start of every command (`bash -c '. prelude; COMMAND' bash SUCCEEDING`, so error
# messages give the command's own line numbers): restore the previous command's state, arm the save on
# EXIT (which runs after `exit 1` too), then restore the shell options last so `set -x` traces no twin
# line. Subshells do not inherit the EXIT trap, so only the command's own shell saves its state.
PRELUDE = r"""if [ -f %(state)s ]; then . %(state)s; fi
export CODEBUILD_BUILD_SUCCEEDING="$1"
shift
__twin_save() {
    __twin_rc=$?
    __twin_opts="$(set +o; shopt -p)"
    set +eux +o pipefail
    {
        for __twin_v in $(compgen -v); do
            case "$__twin_v" in %(own)s) continue ;; esac
            declare -p "$__twin_v" 2>/dev/null
        done
        declare -f
        alias -p
        printf 'cd -- %%q 2>/dev/null || echo "twin: working directory %%s is gone" >&2\n' "$PWD" "$PWD"
    } > %(next)s
    printf '%%s\n' "$__twin_opts" > %(next_opts)s
    exit "$__twin_rc"
}
trap '{ __twin_save; } 2>/dev/null' EXIT  # braces: `set -x` traces nothing of it
if [ -f %(opts)s ]; then { . %(opts)s; } 2>/dev/null; fi
"""


class Shell:
    """One build shell: each command in a fresh bash that restores the previous command's state."""

    def __init__(self, root: Path, cwd: Path, env: dict[str, str], *, posix: bool) -> None:
        self.root = root
        self.cwd = cwd
        self.env = env
        self.state, self.opts = root / "state.sh", root / "state.opts.sh"
        self.next, self.next_opts = root / "state.next.sh", root / "state.next.opts.sh"
        self.prelude = root / "prelude.sh"
        self.prelude.write_text(
            PRELUDE
            % {
                "state": _quote(self.state),
                "opts": _quote(self.opts),
                "next": _quote(self.next),
                "next_opts": _quote(self.next_opts),
                "own": BASH_OWN,
            },
            encoding="utf-8",
        )
        self.bash = shutil.which("bash", path=env.get("PATH")) or "/bin/bash"
        self.argv0 = [self.bash, "--posix"] if posix else [self.bash]
        self.count = 0

    def run(
        self, command: str, *, succeeding: bool, out: Callable[[str], None]
    ) -> tuple[int, str, list[str]]:
        """(exit status, last non-empty output line, pytest's FAILED/ERROR summary lines); output
        lines go to ``out`` as they come."""
        self.count += 1
        (self.root / f"command-{self.count:03d}.sh").write_text(command + "\n", encoding="utf-8")
        # After the first command the state file holds the whole environment (unset included).
        env = self.env if not self.state.is_file() else {}
        self.next.unlink(missing_ok=True)
        self.next_opts.unlink(missing_ok=True)
        last = ""
        failed: list[str] = []
        with subprocess.Popen(
            [
                *self.argv0,
                "-c",
                f". {_quote(self.prelude)}; {command}",
                "bash",
                str(int(succeeding)),
            ],
            cwd=self.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        ) as proc:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                out(line)
                last = line.strip() or last
                if PYTEST_FAILURE.match(line) and len(failed) < MAX_FAILURES:
                    failed.append(line.strip())
        saved = self.next.is_file() and self.next_opts.is_file()  # not if it replaced the EXIT trap
        if saved:
            self.next.replace(self.state)
            self.next_opts.replace(self.opts)
        return proc.returncode, last, failed

    def values(self, names: tuple[str, ...]) -> dict[str, str | None]:
        """The shell's current values of ``names`` (None: unset)."""
        if not names:
            return {}
        script = self.root / "exported.sh"
        restore = (
            f". {_quote(self.state)} >/dev/null 2>&1\nset +eu\n" if self.state.is_file() else ""
        )
        script.write_text(
            restore + 'for __twin_n in "$@"; do\n'
            "    if [ -n \"${!__twin_n+x}\" ]; then printf '1%s\\0' \"${!__twin_n}\"; else printf '0\\0'; fi\n"
            "done\n",
            encoding="utf-8",
        )
        env = self.env if not self.state.is_file() else {}
        done = subprocess.run(
            [self.bash, str(script), *names], cwd=self.cwd, env=env, capture_output=True, check=True
        )
        fields = done.stdout.decode("utf-8", errors="replace").split("\0")
        return {
            n: (f[1:] if f.startswith("1") else None) for n, f in zip(names, fields, strict=False)
        }


def _quote(path: Path) -> str:
    return shlex.quote(str(path))


# --- artifacts -------------------------------------------------------------------------------


def _matches(base: Path, pattern: str) -> list[Path]:
    """Files a CodeBuild location matches: a file, a folder (recursively) or a glob (``**/*``)."""
    pattern = pattern.removeprefix("./")
    if not any(c in pattern for c in "*?["):
        target = base / pattern
        if target.is_dir():
            return sorted(p for p in target.rglob("*") if p.is_file())
        return [target] if target.is_file() else []
    return sorted(p for p in base.glob(pattern) if p.is_file())


def _excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch(rel, p.removeprefix("./")) for p in patterns)


def collect(fileset: FileSet, src: Path) -> dict[str, Path]:
    """Artifact-relative path -> file, as UPLOAD_ARTIFACTS would package them; BuildspecError when
    the base directory or a location matches nothing ("no matching artifact paths found")."""
    base = src / fileset.base_directory
    if not base.is_dir():
        raise BuildspecError(
            f"{fileset.key}: no matching base directory path found for '{fileset.base_directory}'"
        )
    found: dict[str, Path] = {}
    for pattern in fileset.files:
        matched = [
            p
            for p in _matches(base, pattern)
            if not _excluded(p.relative_to(base).as_posix(), fileset.exclude)
        ]
        if not matched:
            raise BuildspecError(
                f"{fileset.key}: no matching artifact paths found for '{pattern}' (base directory '{fileset.base_directory}')"
            )
        for path in matched:
            found[path.name if fileset.discard_paths else path.relative_to(base).as_posix()] = path
    return found


def _package(fileset: FileSet, src: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for rel, path in collect(fileset, src).items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / rel)
    return target


# --- the build -------------------------------------------------------------------------------


class _Output:
    """The build log: the file gets every line, ``log`` gets each line prefixed with its phase."""

    def __init__(self, path: Path, sink: Log) -> None:
        self.file = path.open("w", encoding="utf-8")
        self.sink = sink

    def __call__(self, phase: str, line: str) -> None:
        text = f"[{phase}] {line}"
        self.file.write(text + "\n")
        self.file.flush()
        self.sink(text)

    def close(self) -> None:
        self.file.close()


@dataclass
class _Reuse:
    """The passing runs this build may reuse, and its reusable commands' inputs keys (taken from
    the source as it came in, before the build's own steps add to it)."""

    passed: PassedTests
    keys: dict[str, str]
    build: str


@dataclass
class _State:
    started: float
    failed_phase: str | None = None
    error: str | None = None
    phases: dict[str, str] = field(default_factory=dict)
    shim_log: Path | None = None

    def fail(self, phase: str, error: str) -> None:
        self.phases[phase] = "FAILED"
        if self.failed_phase is None:  # the first failure is the build's
            self.failed_phase, self.error = phase, error


def _copy_inputs(inputs: list[BuildInput], src_root: Path) -> dict[str, Path]:
    names = [i.name for i in inputs]
    for index, item in enumerate(inputs):
        if names.count(item.name) > 1:
            raise BuildspecError(f"input artifact name '{item.name}' is given twice")
        if index and not IDENTIFIER.match(item.name):  # it names CODEBUILD_SRC_DIR_<name>
            raise BuildspecError(
                f"secondary input name '{item.name}' must be letters, digits and _ (CODEBUILD_SRC_DIR_<name>)"
            )
        if not item.path.is_dir():
            raise BuildspecError(f"input artifact {item.name}: '{item.path}' is not a folder")
    copies = {}
    for item in inputs:
        copies[item.name] = src_root / item.name
        shutil.copytree(item.path, copies[item.name], symlinks=True)
    return copies


def _environment(
    spec_vars: dict[str, str],
    environment: dict[str, str],
    sources: dict[str, Path],
    build: Path,
    *,
    source_version: str,
    shims: bool,
) -> dict[str, str]:
    build_uuid = str(uuid.uuid4())
    region = (
        environment.get("AWS_REGION")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )
    env = {k: v for k, v in os.environ.items() if PASSTHROUGH.match(k)}
    env.update(
        CODEBUILD_BUILD_ID=f"twin:{build_uuid}",
        CODEBUILD_BUILD_ARN=f"arn:aws:codebuild:{region}:123456789012:build/twin:{build_uuid}",
        CODEBUILD_BUILD_NUMBER="1",
        CODEBUILD_INITIATOR="twin",
        CODEBUILD_START_TIME=str(int(time.time() * 1000)),
        CODEBUILD_BUILD_IMAGE="twin (this machine)",
        CODEBUILD_CI="true",
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
        AWS_EC2_METADATA_DISABLED="true",  # credentials come from the environment, never 169.254.169.254
        LANG=os.environ.get("LANG", "C.UTF-8"),
    )
    env.update(spec_vars)  # lowest precedence: the buildspec's env.variables
    env.update(environment)  # then the project's variables and the action's overrides
    primary, *secondary = sources.items()
    env.update(
        CODEBUILD_SRC_DIR=str(primary[1]),
        CODEBUILD_RESOLVED_SOURCE_VERSION=source_version,
        CODEBUILD_SOURCE_VERSION=environment.get("CODEBUILD_SOURCE_VERSION", source_version),
        HOME=str(build / "home"),
        TMPDIR=str(build / "tmp"),
        TWIN_PYTHON=sys.executable,
        TWIN_SHIMS=str(SHIMS),
    )
    env.update({f"CODEBUILD_SRC_DIR_{name}": str(path) for name, path in secondary})
    env.setdefault("TWIN_DOCKER_STORE", str(build / "docker" / "images.json"))
    env.setdefault("TWIN_SHIM_LOG", str(build / "shims.jsonl"))
    path = environment.get("PATH") or os.environ.get("PATH", "/usr/bin:/bin")
    if shims:  # shims first, then the project's virtualenv (what a buildspec's pip install adds)
        path = os.pathsep.join([str(SHIMS), str(Path(sys.executable).parent), path])
    env["PATH"] = path
    return env


def _run_phase(
    phase: Phase, shell: Shell, state: _State, out: _Output, reuse: _Reuse | None = None
) -> bool:
    """Run commands until one fails, then ``finally``; True if the phase succeeded."""
    failure: str | None = None
    for commands in (phase.commands, phase.finally_):
        for command in commands:
            first = command.strip().splitlines()[0] if command.strip() else ""
            out(phase.name, f"Running command {first}")
            succeeding = state.failed_phase is None and failure is None
            key = reuse.keys.get(command.strip()) if reuse else None
            if reuse and key and _replayed(reuse, key, command.strip(), phase.name, out):
                continue
            lines: list[str] = []

            def line_out(line: str, lines: list[str] = lines) -> None:
                lines.append(line)
                out(phase.name, line)

            status, last, failed = shell.run(command, succeeding=succeeding, out=line_out)
            if reuse and key and status == 0:
                reuse.passed.record(key, reuse.build, lines)
            if status != 0:
                failure = failure or (
                    f"{phase.name}: command `{first}` exited with status {status}; last output: {last or '(none)'}"
                    + (f"; pytest: {' | '.join(failed)}" if failed else "")
                )
                out(phase.name, f"Command did not exit successfully {first} exit status {status}")
                break  # the rest of this block is skipped; `finally` still runs
    if failure:
        state.fail(phase.name, failure)
    else:
        state.phases[phase.name] = "SUCCEEDED"
    out(phase.name, f"Phase complete: {phase.name} State: {state.phases[phase.name]}")
    return failure is None


def _replayed(reuse: _Reuse, key: str, command: str, phase: str, out: _Output) -> bool:
    """Replay a passing run of ``command`` on the same inputs, if there is one (see twin.reuse)."""
    passed = reuse.passed.lookup(key)
    if passed is None:
        return False
    out(
        phase,
        f"twin: not rerun: these inputs passed this command in build {passed.build} at "
        f"{passed.when} (inputs {key[:12]}); its log follows (make twin ARGS=--rerun-tests reruns it)",
    )
    for line in passed.log:
        out(phase, line)
    reuse.passed.reused.append(Reused(command, reuse.build, passed.build, key))
    return True


def _upload(
    spec: Buildspec,
    src: Path,
    *,
    artifacts_root: Path,
    primary_artifact: str | None,
    state: _State,
    out: _Output,
) -> dict[str, Path]:
    uploaded: dict[str, Path] = {}
    sets: list[tuple[str, FileSet]] = []
    if spec.artifacts is not None:
        sets.append((primary_artifact or spec.artifacts.name or "primary", spec.artifacts))
    elif primary_artifact:
        out(
            "UPLOAD_ARTIFACTS",
            f"no artifacts section: output artifact {primary_artifact} stays empty",
        )
    sets += list(spec.secondary.items())
    try:
        for name, fileset in sets:
            folder = _package(fileset, src, artifacts_root / name)
            uploaded[name] = folder
            count = sum(1 for p in folder.rglob("*") if p.is_file())
            out(
                "UPLOAD_ARTIFACTS",
                f"artifact {name}: {count} file(s) from {fileset.base_directory}",
            )
    except BuildspecError as exc:
        state.fail("UPLOAD_ARTIFACTS", f"UPLOAD_ARTIFACTS: {exc}")
        out("UPLOAD_ARTIFACTS", str(exc))
    state.phases.setdefault("UPLOAD_ARTIFACTS", "SUCCEEDED")
    return uploaded


def _reports(spec: Buildspec, src: Path, out: _Output) -> dict[str, list[Path]]:
    """Report files are listed (and returned, for the flow to read), not uploaded; a report group
    without files does not fail a build."""
    found: dict[str, list[Path]] = {}
    for group, fileset in spec.reports.items():
        try:
            files = collect(fileset, src)
        except BuildspecError:
            out(
                "FINALIZING",
                f"report {group}: no report files found ({', '.join(fileset.files)}); not a build failure",
            )
            continue
        names = sorted(files)
        found[group] = [files[name] for name in names]
        shown = ", ".join(names[:5]) + (f", ... ({len(names)} in all)" if len(names) > 5 else "")
        out("FINALIZING", f"report {group} ({fileset.file_format or 'JUNITXML'}): {shown}")
    return found


def _next_allowed(phase: Phase, succeeded: bool) -> tuple[bool, bool]:
    """(run the next phases, attempt UPLOAD_ARTIFACTS) after ``phase``, per the phase transitions."""
    if succeeded or phase.on_failure == "CONTINUE":
        return True, True
    if phase.on_failure == "ABORT":
        return False, False
    if phase.name == "BUILD":  # POST_BUILD and UPLOAD_ARTIFACTS still run after a failed BUILD
        return True, True
    if phase.name == "POST_BUILD":
        return False, True
    return False, False  # a failed INSTALL or PRE_BUILD goes straight to FINALIZING


def run_build(
    buildspec: str,
    inputs: list[BuildInput],
    *,
    environment: dict[str, str],
    work: Path,
    primary_artifact: str | None = None,
    source_version: str = "",
    log: Log = print,
    shims: bool = True,
    passed: PassedTests | None = None,
) -> BuildResult:
    """Run ``buildspec`` (a path relative to the primary source, ``inputs[0]``) in a clean copy of
    the inputs under ``work``. Never raises for a failing build: the result says what failed.
    ``passed``: earlier passing runs of the reusable test commands (twin.reuse), reused and kept."""
    if not inputs:
        raise ValueError("run_build needs at least one input (the primary source)")
    work.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f"build-{time.strftime('%H%M%S')}-", dir=work))
    for folder in ("home", "tmp", "src", "shell", "artifacts"):
        (build / folder).mkdir()
    (build / "shims.jsonl").touch()
    state = _State(time.monotonic())
    out = _Output(build / "build.log", log)
    exported: dict[str, str] = {}
    artifacts: dict[str, Path] = {}
    reports: dict[str, list[Path]] = {}
    try:
        artifacts, exported, reports = _build(
            buildspec,
            inputs,
            environment=environment,
            build=build,
            primary_artifact=primary_artifact,
            source_version=source_version,
            shims=shims,
            state=state,
            out=out,
            passed=passed,
            label=f"{work.parent.name}/{work.name}",
        )
    finally:
        status = "FAILED" if state.failed_phase else "SUCCEEDED"
        out("FINALIZING", f"Build {status}" + (f": {state.error}" if state.error else ""))
        out.close()
    return BuildResult(
        status=status,
        failed_phase=state.failed_phase,
        error=state.error,
        exported=exported,
        artifacts=artifacts,
        log=build / "build.log",
        seconds=round(time.monotonic() - state.started, 3),
        phases=state.phases,
        shim_log=state.shim_log if shims else None,
        reports=reports,
    )


def _build(
    buildspec: str,
    inputs: list[BuildInput],
    *,
    environment: dict[str, str],
    build: Path,
    primary_artifact: str | None,
    source_version: str,
    shims: bool,
    state: _State,
    out: _Output,
    passed: PassedTests | None = None,
    label: str = "",
) -> tuple[dict[str, Path], dict[str, str], dict[str, list[Path]]]:
    try:
        sources = _copy_inputs(inputs, build / "src")
        src = sources[inputs[0].name]
        spec_file = src / buildspec
        if not spec_file.is_file():
            raise BuildspecError(
                f"YAML_FILE_ERROR: buildspec '{buildspec}' does not exist in {inputs[0].name}"
            )
        spec = parse_buildspec(spec_file.read_text(encoding="utf-8"), buildspec)
    except BuildspecError as exc:
        state.fail("DOWNLOAD_SOURCE", f"DOWNLOAD_SOURCE: {exc}")
        out("DOWNLOAD_SOURCE", str(exc))
        return {}, {}, {}
    state.phases["DOWNLOAD_SOURCE"] = "SUCCEEDED"
    out(
        "DOWNLOAD_SOURCE",
        f"buildspec {buildspec}; sources: " + ", ".join(f"{n} -> {p}" for n, p in sources.items()),
    )
    for note in spec.notes:
        out("DOWNLOAD_SOURCE", note)
    reuse = None
    if passed is not None:
        commands = {c.strip() for p in spec.phases for c in (*p.commands, *p.finally_)}
        keys = {c: k for c in commands if (k := inputs_key(c, src)) is not None}
        reuse = _Reuse(passed, keys, label)
    env = _environment(
        spec.variables, environment, sources, build, source_version=source_version, shims=shims
    )
    state.shim_log = Path(env["TWIN_SHIM_LOG"])
    shell = Shell(build / "shell", src, env, posix=spec.posix)
    upload = True
    for phase in spec.phases:
        succeeded = _run_phase(phase, shell, state, out, reuse)
        go_on, upload = _next_allowed(phase, succeeded)
        if not go_on:
            break
    artifacts = {}
    if upload:
        artifacts = _upload(
            spec,
            src,
            artifacts_root=build / "artifacts",
            primary_artifact=primary_artifact,
            state=state,
            out=out,
        )
    reports = _reports(spec, src, out)
    values = shell.values(spec.exported)
    for name, value in values.items():
        if value is None:
            out("FINALIZING", f"exported variable {name} is not set; exported as an empty string")
    return artifacts, {name: value or "" for name, value in values.items()}, reports
