"""Slow tier (`pytest -m slow`): fuzzing /invocations and a bounded soak against a live server."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Server, start_server, worker_pids
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_fixtures import CATEGORIES, FEATURES, csv_body, csv_line, json_body, make_rows

pytestmark = pytest.mark.slow

FUZZ_EXAMPLES = int(os.environ.get("SERVE_FUZZ_EXAMPLES", "10000"))
SOAK_SECONDS = float(os.environ.get("SERVE_SOAK_SECONDS", "60"))


@pytest.fixture(scope="module")
def live(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(model_dir, tmp_path_factory.mktemp("log") / "serve.log")
    yield running
    assert running.stop() == 0


def workers(server: Server) -> list[int]:
    return worker_pids(server.process.pid)


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


class Client:
    """A keep-alive connection that reconnects when the server closes it."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.conn: http.client.HTTPConnection | None = None

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            self.conn.request("POST", "/invocations", body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (ConnectionError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        if response.will_close:
            self.conn.close()
            self.conn = None
        return response.status, data


# --- fuzz ----------------------------------------------------------------------------------------------

numbers = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
)
# The schema's category texts (valid values of its categorical features), if it has any.
category_texts = st.sampled_from(
    sorted({c for values in CATEGORIES.values() for c in values}) or [""]
)
values = st.one_of(numbers, category_texts)
WIDTH = len(FEATURES) + 2  # rows of every width up to one more than the model's
cells = st.one_of(
    numbers.map(lambda v: "" if v is None else repr(v)), category_texts, st.text(max_size=8)
)
csv_bodies = st.lists(st.lists(cells, min_size=0, max_size=WIDTH), max_size=20).map(
    lambda rows: "\n".join(",".join(row) for row in rows)
)
json_values = st.recursive(
    st.one_of(numbers, st.booleans(), st.text(max_size=8)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)
json_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"instances": json_values}),
    st.fixed_dictionaries({"instances": st.lists(st.lists(values, max_size=WIDTH), max_size=10)}),
    st.fixed_dictionaries(
        {"instances": st.lists(st.dictionaries(st.sampled_from([*FEATURES, "x"]), values))}
    ),
).map(lambda doc: json.dumps(doc, allow_nan=True))
# Valid requests of the model's schema (with any number of columns, fuzzed rows seldom are).
valid_bodies = st.tuples(st.integers(1, 5), st.integers(0, 2**32 - 1)).flatmap(
    lambda n_seed: st.sampled_from([csv_body(make_rows(*n_seed)), json_body(make_rows(*n_seed))])
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300),
    csv_bodies,
    json_bodies,
    st.lists(json_bodies, max_size=5).map("\n".join),
    valid_bodies,
).map(lambda body: body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass"))
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
content_types = st.one_of(
    st.sampled_from(
        ["text/csv", "application/json", "application/jsonlines", "text/csv; charset=utf-8"]
    ),
    header_text,
)
accepts = st.one_of(
    st.none(),
    st.sampled_from(["text/csv", "application/json", "application/jsonlines", "*/*"]),
    header_text,
)


def test_fuzzed_invocations_never_5xx_nor_kill_a_worker(live: Server) -> None:
    before = workers(live)
    client = Client(live.url)
    seen: dict[int, int] = {}

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(body=bodies, content_type=content_types, accept=accepts, extra=header_text)
    def invoke(body: bytes, content_type: str, accept: str | None, extra: str) -> None:
        headers = {"Content-Type": content_type, "X-Fuzz": extra}
        if accept is not None:
            headers["Accept"] = accept
        status, data = client.post(body, headers)
        seen[status] = seen.get(status, 0) + 1
        assert status < 500, (status, data[:200])
        if status >= 400:
            assert isinstance(json.loads(data)["error"], str)

    invoke()
    assert sum(seen.values()) >= FUZZ_EXAMPLES
    assert (
        seen.get(200, 0) > 0 and sum(n for s, n in seen.items() if s >= 400) > 0
    )  # both paths exercised
    assert workers(live) == before, "a worker died and was replaced during the fuzz run"
    status, _ = Client(live.url).post(csv_line(), {"Content-Type": "text/csv"})
    assert status == 200


# --- soak ----------------------------------------------------------------------------------------------


def test_soak_eight_connections_no_errors_bounded_memory(live: Server) -> None:
    requests = [
        (csv_line(), {"Content-Type": "text/csv"}),
        (
            csv_body(make_rows(100, seed=21)),
            {"Content-Type": "text/csv", "Accept": "application/json"},
        ),
        (json_body(make_rows(2, seed=22, missing=0.5)), {"Content-Type": "application/json"}),
    ]
    errors: list[str] = []
    counts = [0] * 8
    stop = threading.Event()

    def run(slot: int) -> None:
        client = Client(live.url)
        while not stop.is_set():
            body, headers = requests[counts[slot] % len(requests)]
            try:
                status, data = client.post(body, headers)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(repr(exc))
                continue
            if status != 200:
                errors.append(f"{status} {data[:100]!r}")
            counts[slot] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(min(5.0, SOAK_SECONDS / 4))  # warm-up: allocator and caches settle
    pids = workers(live)
    start_rss = rss_kib(pids)
    time.sleep(SOAK_SECONDS)
    end_rss = rss_kib(pids)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors[:5]
    assert workers(live) == pids
    assert sum(counts) > 100 * SOAK_SECONDS
    assert end_rss < start_rss * 1.10, f"RSS grew from {start_rss} KiB to {end_rss} KiB"
