"""Run the inference app under gunicorn: one process per CPU, each with its own copy of the model.

Why gunicorn (measured by bench/serving of the template repository): scoring is CPU-bound and holds the GIL, so one request
at a time per process is all a worker can do; gunicorn's `gthread` worker with one thread does
exactly that while keeping idle keep-alive connections open, with no event-loop monkey-patching.
gunicorn also brings what a hand-written server would have to re-implement: TCP_NODELAY on its
sockets (no 40 ms Nagle stalls on keep-alive), request-line and header limits, SIGTERM draining
(`graceful_timeout`), and replacing workers that die.
"""

from __future__ import annotations

import os
import pwd
import stat
import sys
from collections.abc import Callable
from pathlib import Path

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from model_container.monitor.capture import CaptureWriter
from model_container.serve.app import InferenceApp
from model_container.serve.model import ModelError, load_model, read_spec
from model_container.serve.settings import Settings, SettingsError

WORKER_BOOT_ERROR = Arbiter.WORKER_BOOT_ERROR
SERVE_USER = "model-server"  # created by the Dockerfile


def _world_readable(model_dir: str) -> bool:
    """True when every entry of the model folder is readable by a user who is neither owner nor group."""
    root = Path(model_dir)
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        needed = stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0)
        if mode & needed != needed:
            return False
    return True


def _unprivileged_user(model_dir: str) -> pwd.struct_passwd | None:
    """The user workers should run as, or None to stay as we are (not root, no such user, or unreadable model)."""
    if os.geteuid() != 0:
        return None
    try:
        user = pwd.getpwnam(SERVE_USER)
    except KeyError:
        return None
    if not _world_readable(model_dir):
        print(
            f"serve: warning: {model_dir} is not world-readable; workers keep running as root",
            file=sys.stderr,
        )
        return None
    return user


class _Server(BaseApplication):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        user = _unprivileged_user(s.model_dir)
        if user is not None:
            # The master keeps root only to manage workers; workers (which parse untrusted input) do not.
            self.cfg.set("user", user.pw_uid)
            self.cfg.set("group", user.pw_gid)
        options = {
            "bind": f"{s.host}:{s.port}",
            "workers": s.workers,
            # gthread with one thread: one request at a time (the model holds the GIL anyway) but idle
            # keep-alive connections are parked in a selector instead of closed after every response.
            "worker_class": "gthread",
            "threads": 1,
            "timeout": s.timeout_s,
            "graceful_timeout": s.graceful_timeout_s,
            # SageMaker's front end keeps connections open between invocations.
            "keepalive": 75,
            "accesslog": "-" if s.access_log else None,
            # %(D)s: microseconds from the parsed request line to the last byte of the response.
            "access_log_format": '%(h)s "%(r)s" %(s)s %(b)s %(D)sus',
            "errorlog": "-",
            "loglevel": s.log_level,
            "proc_name": "model-server",
            "preload_app": False,
            # No runtime control socket: nothing in a SageMaker container uses it, and /root may be read-only.
            "control_socket_disable": True,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Callable:
        # Runs in each worker after fork: one model per process, loaded before the worker accepts
        # connections, so /ping can only answer once the model is in memory.
        s = self.settings
        try:
            model = load_model(s.model_dir, nthread=1)
        except ModelError as exc:
            print(f"serve: error: {exc}", file=sys.stderr)
            # Exit code 3 makes gunicorn stop instead of re-spawning a worker that cannot boot.
            sys.exit(WORKER_BOOT_ERROR)
        # One capture writer per worker process (SageMaker captures outside the container; locally the
        # server does it so the drift monitor has the same files to read).
        capture = CaptureWriter(Path(s.capture_dir)) if s.capture_dir else None
        return InferenceApp(model, s.max_body_bytes, s.workers, capture=capture)


def main(argv: list[str] | None = None) -> int:
    """`serve`: the command SageMaker runs (`<image> serve`); all settings come from the environment."""
    args = sys.argv[1:] if argv is None else argv
    if args and args != ["serve"]:
        print(
            f"serve: error: unexpected arguments {' '.join(args)!r}; serve takes its settings from environment variables",
            file=sys.stderr,
        )
        return 2
    try:
        settings = Settings.from_env()
        # Fail fast with one line; the booster itself is loaded only in the workers (see load_model).
        read_spec(settings.model_dir)
    except (SettingsError, ModelError) as exc:
        print(f"serve: error: {exc}", file=sys.stderr)
        return 1
    _Server(settings).run()
    return 0
