"""Training on several hosts (a training InstanceCount above 1): how the hosts train one model.

REPLACE with your framework's way of joining hosts, or set ``distributed = None`` in __init__.py if
your model trains on one host only (the train step then refuses InstanceCount > 1 in one line). The
machinery shards the rows by host and hands over the cluster: ``size``, ``index``, ``hosts``,
``coordinator`` (the first host's address), ``port`` and ``timeout_s``; raise StepError for a
failure, in one line.

The sample joins xgboost's collective: the first host runs the tracker, every host a worker, and each
boosting round all-reduces the hosts' gradient statistics, so every host ends with the same model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from xgboost import collective
from xgboost.core import XGBoostError
from xgboost.tracker import RabitTracker

from model_container.entrypoint import StepError

if TYPE_CHECKING:
    from model_container.cluster import Cluster


@contextmanager
def distributed(cluster: Cluster) -> Iterator[None]:
    """Join xgboost's collective for the duration of the block (no-op on one host)."""
    if cluster.size == 1:
        yield
        return
    port, timeout, tracker_address = cluster.port, cluster.timeout_s, cluster.coordinator
    tracker = None
    if cluster.index == 0:
        try:
            tracker = RabitTracker(
                n_workers=cluster.size,
                host_ip=tracker_address,
                port=port,
                sortby="task",
                timeout=timeout,
            )
            tracker.start()
        except XGBoostError as error:
            raise StepError(
                f"cannot start the xgboost tracker on {tracker_address}:{port}: {_reason(error)}"
            ) from None
    args = {
        "dmlc_tracker_uri": tracker_address,
        "dmlc_tracker_port": port,
        # Zero-padded so the ranks follow the host order (sorting "algo-10" before "algo-2" would not).
        "dmlc_task_id": f"{cluster.index:05d}",
        "dmlc_retry": 30,  # the first host's tracker may start after this worker
        "dmlc_timeout": timeout,
    }
    try:
        with collective.CommunicatorContext(**args):
            yield
        if tracker is not None:
            tracker.wait_for(timeout)
    except XGBoostError as error:
        raise StepError(
            f"distributed training over {cluster.size} hosts (tracker {tracker_address}:{port}) failed: {_reason(error)}"
        ) from None


def _reason(error: XGBoostError) -> str:
    """The most telling line of xgboost's multi-line error (it appends a native stack trace)."""
    lines = [
        line.strip(" -") for line in str(error).splitlines() if line.strip() and "[bt]" not in line
    ]
    lines = [line for line in lines if not line.startswith("Stack trace")]
    for line in reversed(lines):
        if "error" in line.lower():
            return line
    return lines[-1] if lines else type(error).__name__
