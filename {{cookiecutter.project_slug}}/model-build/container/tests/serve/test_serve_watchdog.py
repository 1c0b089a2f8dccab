"""The request watchdog: a request running past the timeout ends the worker (the server replaces it)."""

from __future__ import annotations

import threading
import time

from model_container.serve.watchdog import Watchdog


def test_a_stuck_request_ends_the_worker() -> None:
    exited = threading.Event()
    release = threading.Event()

    def stuck(environ: dict, start_response: object) -> list[bytes]:
        release.wait(5)
        return [b""]

    dog = Watchdog(stuck, timeout_s=0.1, exit_process=lambda code: exited.set(), period_s=0.02)
    worker = threading.Thread(target=dog, args=({}, None))
    worker.start()
    assert exited.wait(3)
    release.set()
    worker.join()


def test_quick_requests_pass_through_and_do_not_trip_it() -> None:
    exited = threading.Event()

    def quick(environ: dict, start_response: object) -> list[bytes]:
        return [environ["body"]]

    dog = Watchdog(quick, timeout_s=0.1, exit_process=lambda code: exited.set(), period_s=0.02)
    for _ in range(20):
        assert dog({"body": b"ok"}, None) == [b"ok"]
        time.sleep(0.01)
    assert dog.started is None
    assert not exited.wait(0.3)
