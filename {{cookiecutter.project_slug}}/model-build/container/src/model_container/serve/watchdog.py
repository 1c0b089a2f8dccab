"""One request scores at a time per worker, and a worker whose scoring runs past the invocation timeout is
replaced without dropping the requests queued on it.

granian has no per-request timeout (gunicorn's worker `timeout` did this job before). Only scoring is
timed: a request's body is read before it enters (a slow upload waits on its own thread, see server.py).
A stuck call cannot be interrupted from Python, so on timeout the watchdog lets the requests waiting
behind it through, tells granian to stop giving this worker connections (SIGTERM to the worker:
it finishes what it holds, closes idle keep-alive connections), and ends the process once nothing but
the stuck request is left, or after `drain_s`; the server then starts a fresh worker. The gate costs
a lock and a clock read per request (a few us); the watching thread wakes once a second.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable

log = logging.getLogger("model_container.serve")

WSGIApp = Callable[[dict, Callable[..., object]], Iterable[bytes]]


def _stop_accepting() -> None:
    # granian's worker treats SIGTERM as "shut down gracefully": no new connections, requests in flight
    # are answered (https://github.com/emmett-framework/granian/blob/master/granian/_signals.py).
    os.kill(os.getpid(), signal.SIGTERM)


class Watchdog:
    """`with watchdog:` around scoring (one request at a time); `watchdog.track(app)` counts requests."""

    def __init__(
        self,
        timeout_s: float,
        *,
        drain_s: float = 25.0,
        exit_process: Callable[[int], object] = os._exit,
        stop_accepting: Callable[[], object] = _stop_accepting,
        period_s: float = 1.0,
        settle_s: float = 0.2,
    ) -> None:
        self.timeout_s = timeout_s
        self.drain_s = drain_s
        self.exit_process = exit_process
        self.stop_accepting = stop_accepting
        self.period_s = period_s
        self.settle_s = settle_s
        self.started: float | None = None
        self.in_flight = 0  # requests inside the tracked app, scoring or not
        self._gate = threading.Condition(threading.Lock())
        self._scoring: int | None = None  # the thread scoring; None when free
        self._count = threading.Lock()
        threading.Thread(target=self._watch, name="request-watchdog", daemon=True).start()

    def __enter__(self) -> None:
        with self._gate:
            while self._scoring is not None:
                self._gate.wait()
            self._scoring = threading.get_ident()
            self.started = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        with self._gate:
            if self._scoring == threading.get_ident():  # not a request the watchdog gave up on
                self._release()

    def _release(self) -> None:
        self._scoring = None
        self.started = None
        self._gate.notify()

    def track(self, app: WSGIApp) -> WSGIApp:
        """The app, counting requests in flight so a recycle can wait for the ones queued."""

        def tracked(environ: dict, start_response: Callable[..., object]) -> Iterable[bytes]:
            with self._count:
                self.in_flight += 1
            try:
                return app(environ, start_response)
            finally:
                with self._count:
                    self.in_flight -= 1

        return tracked

    def _watch(self) -> None:
        while True:
            time.sleep(self.period_s)
            started = self.started
            if started is not None and time.monotonic() - started > self.timeout_s:
                self._recycle()
                return

    def _recycle(self) -> None:
        log.error(
            "a request ran longer than SAGEMAKER_MODEL_SERVER_TIMEOUT=%ss; replacing worker %d "
            "after the requests queued on it are answered",
            self.timeout_s,
            os.getpid(),
        )
        with self._gate:
            self._release()  # the queue moves on without the stuck request
        self.stop_accepting()
        deadline = time.monotonic() + self.drain_s
        idle_since: float | None = None
        while time.monotonic() < deadline:
            now = time.monotonic()
            if self.in_flight > 1:  # more than the stuck request
                idle_since = None
            elif idle_since is None:
                idle_since = now
            elif now - idle_since >= self.settle_s:
                break
            time.sleep(0.02)
        self.exit_process(1)
