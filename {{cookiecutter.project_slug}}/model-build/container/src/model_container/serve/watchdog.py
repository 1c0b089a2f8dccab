"""End a worker whose request runs past the invocation timeout, so the server starts a fresh one.

granian has no per-request timeout (gunicorn's worker `timeout` did this job before). The check costs
one clock read per request; the watching thread wakes once a second.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable

log = logging.getLogger("model_container.serve")


class Watchdog:
    """Wraps a WSGI app that serves one request at a time (the server's backpressure is 1)."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        timeout_s: float,
        exit_process: Callable[[int], object] = os._exit,
        period_s: float = 1.0,
    ) -> None:
        self.app = app
        self.timeout_s = timeout_s
        self.exit_process = exit_process
        self.period_s = period_s
        self.started: float | None = None
        threading.Thread(target=self._watch, name="request-watchdog", daemon=True).start()

    def __call__(self, environ: dict, start_response: Callable[..., object]) -> Iterable[bytes]:
        self.started = time.monotonic()
        try:
            return self.app(environ, start_response)
        finally:
            self.started = None

    def _watch(self) -> None:
        while True:
            time.sleep(self.period_s)
            started = self.started
            if started is not None and time.monotonic() - started > self.timeout_s:
                log.error(
                    "a request ran longer than SAGEMAKER_MODEL_SERVER_TIMEOUT=%ss; restarting worker %d",
                    self.timeout_s,
                    os.getpid(),
                )
                self.exit_process(1)
                return
