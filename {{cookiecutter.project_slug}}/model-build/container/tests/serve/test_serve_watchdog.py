"""The watchdog: one request scores at a time, and scoring past the timeout recycles the worker after
the requests queued behind the stuck one are answered."""

from __future__ import annotations

import threading
import time

from model_container.serve.watchdog import Watchdog


class Recorder:
    """Stands in for os._exit and the SIGTERM to the worker."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.exited = threading.Event()
        self.exit_time = 0.0

    def stop(self) -> None:
        self.stopped.set()

    def exit(self, code: int) -> None:
        self.exit_time = time.monotonic()
        self.exited.set()


def dog(recorder: Recorder, timeout_s: float = 0.1, drain_s: float = 3.0) -> Watchdog:
    return Watchdog(
        timeout_s,
        drain_s=drain_s,
        exit_process=recorder.exit,
        stop_accepting=recorder.stop,
        period_s=0.02,
        settle_s=0.1,
    )


def test_one_request_scores_at_a_time() -> None:
    watchdog = dog(Recorder(), timeout_s=10)
    inside, most = 0, 0

    def score() -> None:
        nonlocal inside, most
        for _ in range(50):
            with watchdog:
                inside += 1
                most = max(most, inside)
                time.sleep(0.0005)
                inside -= 1

    threads = [threading.Thread(target=score) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1
    assert watchdog.started is None


def test_quick_requests_do_not_trip_it() -> None:
    recorder = Recorder()
    watchdog = dog(recorder)
    app = watchdog.track(lambda environ, start_response: [environ["body"]])
    for _ in range(20):
        with watchdog:
            time.sleep(0.005)
        assert app({"body": b"ok"}, None) == [b"ok"]
    assert watchdog.in_flight == 0
    assert not recorder.exited.wait(0.3)
    assert not recorder.stopped.is_set()


def test_a_stuck_request_recycles_the_worker_after_the_queued_ones_are_scored() -> None:
    recorder = Recorder()
    # A timeout far above thread start-up, so the three queued requests are in flight before the
    # watchdog gives up even on a loaded machine (at 0.1 s one could start after the stop: flaky).
    watchdog = dog(recorder, timeout_s=1.0)
    release = threading.Event()
    scored: list[int] = []

    def stuck(environ: dict, start_response: object) -> list[bytes]:
        with watchdog:
            release.wait(10)  # a model call that never returns
        return [b""]

    def queued(environ: dict, start_response: object) -> list[bytes]:
        with watchdog:  # waits behind the stuck request until the watchdog gives up on it
            scored.append(environ["n"])
            time.sleep(0.05)
        return [b""]

    threads = [threading.Thread(target=watchdog.track(stuck), args=({}, None))]
    threads[0].start()
    time.sleep(0.03)
    for n in range(3):
        threads.append(threading.Thread(target=watchdog.track(queued), args=({"n": n}, None)))
        threads[-1].start()
    deadline = time.monotonic() + 0.9
    while watchdog.in_flight < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert watchdog.in_flight == 4 and not recorder.stopped.is_set(), "the setup was too slow"
    assert recorder.stopped.wait(10), "the worker was not told to stop accepting"
    assert recorder.exited.wait(10), "the worker did not exit"
    assert sorted(scored) == [0, 1, 2], "a queued request was dropped"
    assert watchdog.in_flight == 1  # only the stuck one is left when the process ends
    release.set()
    for thread in threads:
        thread.join()


def test_the_drain_is_bounded() -> None:
    recorder = Recorder()
    watchdog = dog(recorder, drain_s=0.3)
    release = threading.Event()

    def stuck(environ: dict, start_response: object) -> list[bytes]:
        with watchdog:
            release.wait(10)
        return [b""]

    def slow_upload(environ: dict, start_response: object) -> list[bytes]:
        release.wait(10)  # still receiving its body: counted in flight, never scoring
        return [b""]

    threads = [
        threading.Thread(target=watchdog.track(app), args=({}, None))
        for app in (stuck, slow_upload)
    ]
    for thread in threads:
        thread.start()
    assert recorder.stopped.wait(10)
    stopped = time.monotonic()
    assert recorder.exited.wait(10)
    # the 0.3 s drain, not the 10 s the uploads would take
    assert recorder.exit_time - stopped < 2.0
    release.set()
    for thread in threads:
        thread.join()
