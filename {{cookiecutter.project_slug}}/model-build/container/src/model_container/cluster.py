"""Multi-host training: which host am I, and where are the others.

SageMaker writes ``input/config/resourceconfig.json`` (``current_host``, ``hosts``) on every host and
names resolve by DNS. The model folder's ``distributed(cluster)`` joins the hosts (the sample:
xgboost's collective, coordinated by the first host). Local runs point the names at addresses with
``TRAIN_HOST_ADDRESSES`` (``algo-1=127.0.0.1,algo-2=127.0.0.1``) and pick a free port with
``TRAIN_TRACKER_PORT``.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from model_container.entrypoint import StepError

HOST_ADDRESSES_ENV = "TRAIN_HOST_ADDRESSES"
TRACKER_PORT_ENV = "TRAIN_TRACKER_PORT"
TIMEOUT_ENV = "TRAIN_COLLECTIVE_TIMEOUT"
DEFAULT_TRACKER_PORT = 9099
DEFAULT_TIMEOUT_S = 300  # hosts of one job start within seconds of each other; data loading is fast


@dataclass(frozen=True)
class Cluster:
    hosts: tuple[str, ...]
    current_host: str

    @property
    def size(self) -> int:
        return len(self.hosts)

    @property
    def index(self) -> int:
        return self.hosts.index(self.current_host)

    @property
    def coordinator(self) -> str:
        """The first host's address: where a coordinator (e.g. xgboost's tracker) listens."""
        return host_address(self.hosts[0])

    @property
    def port(self) -> int:
        """The coordinator's port (TRAIN_TRACKER_PORT, default 9099)."""
        return _int_env(TRACKER_PORT_ENV, DEFAULT_TRACKER_PORT)

    @property
    def timeout_s(self) -> int:
        """How long the hosts wait for each other (TRAIN_COLLECTIVE_TIMEOUT, default 300 s)."""
        return _int_env(TIMEOUT_ENV, DEFAULT_TIMEOUT_S)


def read_cluster(path: Path) -> Cluster:
    """The hosts of this job; a missing file (a plain local run) means one host."""
    if not path.exists():
        return Cluster(hosts=("algo-1",), current_host="algo-1")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        hosts = tuple(str(host) for host in config["hosts"])
        current = str(config["current_host"])
    except (ValueError, KeyError, TypeError) as error:
        raise StepError(
            f"{path}: expected JSON with 'current_host' and a 'hosts' list ({error})"
        ) from None
    if current not in hosts:
        raise StepError(f"{path}: current_host {current!r} is not in hosts {list(hosts)}")
    # SageMaker lists hosts sorted; sort anyway so every host agrees on the first one.
    return Cluster(hosts=tuple(sorted(hosts)), current_host=current)


def host_address(host: str) -> str:
    """The IP address of ``host``: from TRAIN_HOST_ADDRESSES if set, else DNS (retried briefly)."""
    overrides = os.environ.get(HOST_ADDRESSES_ENV, "").strip()
    if overrides:
        mapping = {}
        for item in overrides.split(","):
            name, sep, address = item.partition("=")
            if not sep or not name.strip() or not address.strip():
                raise StepError(
                    f"{HOST_ADDRESSES_ENV}={overrides!r}: expected host=address pairs separated by commas"
                )
            mapping[name.strip()] = address.strip()
        if host not in mapping:
            raise StepError(
                f"{HOST_ADDRESSES_ENV} has no address for host {host!r} (has {', '.join(mapping)})"
            )
        return mapping[host]
    # DNS for the job's hosts can lag the container start by a few seconds.
    for attempt in range(30):
        try:
            return socket.gethostbyname(host)
        except OSError:
            time.sleep(min(2.0, 0.1 * 2**attempt))
    raise StepError(
        f"cannot resolve training host {host!r}; set {HOST_ADDRESSES_ENV} for local runs"
    )


def _int_env(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) == 0:
        raise StepError(f"{name}={text!r} is not a positive integer")
    return int(text)
