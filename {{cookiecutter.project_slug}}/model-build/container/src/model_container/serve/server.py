"""Run the inference app under granian: one process per CPU, each with its own copy of the model.

Why granian (measured side by side with gunicorn and SageMaker's XGBoost server): its HTTP/1.1 side is
Rust (hyper on tokio), so a one-row request spends about 50 us in the server instead of the ~230 us a
Python server such as gunicorn needs, and 1-row throughput is the server's cost plus the model's.
Scoring is CPU-bound and holds the GIL, so each worker scores one request at a time (the watchdog's gate),
but runs requests on a thread per connection: granian's WSGI app reads the body with a blocking call
on the request's thread (`WSGIBody.read` is `block_on` over the body stream, src/wsgi/types.rs), so on a
single thread one client stalled mid-body held the worker, and the requests queued behind it, until
the watchdog killed it. This is gunicorn's sync-worker problem, which its docs solve with a buffering
proxy (https://docs.gunicorn.org/en/stable/deploy.html); here a thread per connection does the waiting,
as granian's docs suggest for limiting concurrency with threads rather than with backpressure
(https://github.com/emmett-framework/granian/blob/master/README.md#backpressure). Threads are started
on demand (a steady single connection uses one, as before) and stop after 30 s idle. granian also brings what a hand-written server would have to
re-implement: TCP_NODELAY (no 40 ms Nagle stalls on keep-alive), header limits and a 30 s header read
timeout, SIGTERM draining with a kill timeout, and replacing workers that die.
"""

from __future__ import annotations

import os
import pwd
import stat
import sys
from collections.abc import Callable
from pathlib import Path

from granian import Granian
from granian.constants import HTTPModes, Interfaces

from model_container.monitor.capture import CaptureWriter
from model_container.serve.environment import Settings, SettingsError
from model_container.serve.model import ModelError, load_model, read_spec
from model_container.serve.watchdog import Watchdog
from model_container.serve.wsgi import InferenceApp

SERVE_USER = "model-server"  # created by the Dockerfile
WORKER_BOOT_ERROR = 3
# Connections waiting to be accepted (granian's default), shared by the workers: each worker holds at
# most BACKLOG // workers connections at once (granian's backpressure) and has as many threads, so a
# request never waits for a thread, only for the gate while another request scores.
BACKLOG = 1024
# The access log's per-request time (`dt_ms`) is measured around the WSGI call: body read and any wait
# for the gate included. Last, the caller's inference id (InvokeEndpoint's InferenceId; "-" without
# one): granian's access log reads request headers only, so an id made here is not in this line (it
# is in the answer's header and the capture).
ACCESS_LOG_FORMAT = (
    '%(addr)s "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).3fms'
    " inference-id=%(header{x-amzn-sagemaker-inference-id})s"
)


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


def _drop_root(user: pwd.struct_passwd) -> None:
    os.setgroups([])
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)


def create_app() -> Callable:
    """granian's app factory, called in each worker process before it accepts connections.

    The main process keeps root only to bind the port and manage workers; workers (which parse
    untrusted input) drop it first. Then one model per process, loaded before the worker serves, so
    /ping can only answer once the model is in memory.
    """
    settings = Settings.from_env()
    user = _unprivileged_user(settings.model_dir)
    if user is not None:
        _drop_root(user)
    try:
        model = load_model(settings.model_dir, nthread=1)
    except ModelError as exc:
        print(f"serve: error: {exc}", file=sys.stderr)
        sys.exit(WORKER_BOOT_ERROR)
    # One capture writer per worker process (SageMaker captures outside the container; locally the
    # server does it so the drift monitor has the same files to read).
    capture = CaptureWriter(Path(settings.capture_dir)) if settings.capture_dir else None
    watchdog = Watchdog(settings.timeout_s, drain_s=settings.graceful_timeout_s)
    app = InferenceApp(
        model, settings.max_body_bytes, settings.workers, capture=capture, gate=watchdog
    )
    return watchdog.track(app)


def build_server(settings: Settings) -> Granian:
    connections = max(1, BACKLOG // settings.workers)
    return Granian(
        f"{__name__}:create_app",
        factory=True,
        interface=Interfaces.WSGI,
        address=settings.host,
        port=settings.port,
        workers=settings.workers,
        backlog=BACKLOG,
        # A thread per connection a worker may hold (see the module docstring); backpressure counts
        # connections, not requests (backpressure=1 let one keep-alive client starve the others).
        backpressure=connections,
        blocking_threads=connections,
        runtime_threads=1,
        # SageMaker's front end speaks HTTP/1.1 with keep-alive; no HTTP/2 or websockets to detect.
        http=HTTPModes.http1,
        websockets=False,
        log_level=settings.log_level,
        log_access=settings.access_log,
        log_access_format=ACCESS_LOG_FORMAT,
        # A worker that dies (OOM, watchdog) is replaced; one that cannot boot ends the server
        # (granian stops on a worker that dies again within seconds of being started).
        respawn_failed_workers=True,
        respawn_interval=0.0,
        # SIGTERM: stop accepting, finish requests in flight, and kill what is left after this long.
        workers_kill_timeout=settings.graceful_timeout_s,
    )


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
    build_server(settings).serve()
    return 0
