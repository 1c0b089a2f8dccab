"""The last leg of `./dev demo`: serve the locally approved model of a baked project and query it.

Starts `make local-serve` in the project on a free loopback port, waits for /ping, sends one CSV and
one JSON request built from the bundled data, prints the answers, and stops the server with SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

READY_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request(url: str, body: bytes, content_type: str, accept: str) -> str:
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": content_type, "Accept": accept}
    )
    with urllib.request.urlopen(req, timeout=10) as response:
        return response.read().decode()


def wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(
                f"ERROR: local-serve exited with {server.returncode} before it was ready"
            )
        try:
            with urllib.request.urlopen(f"{base}/ping", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"ERROR: {base}/ping did not answer 200 within {READY_SECONDS} s")


def main(project: Path) -> int:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        ["make", "--no-print-directory", "local-serve", f"PORT={port}"],
        cwd=project,
        start_new_session=True,
    )
    try:
        wait_ready(base, server)
        rows = "67,3,5,3\n43,1,1,\n"  # Age, Shape, Margin, Density; an empty field is missing
        print(
            f"POST {base}/invocations text/csv\n{rows}-> {request(f'{base}/invocations', rows.encode(), 'text/csv', 'text/csv')}"
        )
        body = json.dumps({"instances": [[67, 3, 5, 3], [43, 1, 1, None]]}).encode()
        answer = request(f"{base}/invocations", body, "application/json", "application/json")
        print(f"POST {base}/invocations application/json -> {answer}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # make and the server it started: one process group
        server.wait(timeout=40)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
