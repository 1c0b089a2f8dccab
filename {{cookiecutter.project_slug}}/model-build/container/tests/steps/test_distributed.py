"""Training on two hosts: two `train` processes joined by xgboost's collective, as on SageMaker."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.metrics import roc_auc_score

import project_model
from model_container import artifact, train
from model_container.cluster import Cluster, host_address, read_cluster
from model_container.data import Dataset, write_channel
from model_container.entrypoint import StepError
from project_model import SCHEMA

HOSTS = ["algo-1", "algo-2"]
# The console script SageMaker's `<image> train` runs.
TRAIN = Path(sys.executable).with_name("train")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def host_dir(root: Path, host: str, splits: dict[str, Dataset]) -> Path:
    opt_ml = root / host
    for name in ("train", "validation"):
        write_channel(
            opt_ml / "input" / "data" / name / f"{name}.csv", splits[name], label=SCHEMA.label
        )
    config = opt_ml / "input" / "config"
    config.mkdir(parents=True)
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": host, "hosts": HOSTS}))
    (config / "hyperparameters.json").write_text(json.dumps({}))  # the model's defaults
    (config / "inputdataconfig.json").write_text(
        json.dumps(
            {name: {"S3DistributionType": "FullyReplicated"} for name in ("train", "validation")}
        )
    )
    return opt_ml


def cluster_env(opt_ml: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "OPT_ML": str(opt_ml),
        "TRAIN_HOST_ADDRESSES": ",".join(f"{host}=127.0.0.1" for host in HOSTS),
        "TRAIN_TRACKER_PORT": str(port),
        "TRAIN_COLLECTIVE_TIMEOUT": "60",
        "OMP_NUM_THREADS": "1",  # two workers share this machine's cores
        "MODEL_CONTAINER_NO_SKLEARN": "1",  # start as fast as in the image
    }


@pytest.mark.timeout(120)
def test_two_hosts_train_one_model(tmp_path: Path, splits: dict[str, Dataset]) -> None:
    port = free_port()
    # Start the second host first: its worker must wait for the first host's tracker.
    procs = {
        host: subprocess.Popen(
            [str(TRAIN)],
            env=cluster_env(host_dir(tmp_path, host, splits), port),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for host in reversed(HOSTS)
    }
    logs = {host: proc.communicate(timeout=100)[0] for host, proc in procs.items()}
    for host, proc in procs.items():
        assert proc.returncode == 0, logs[host]
    # Each host trained on its half of the (fully replicated) rows: every other row.
    rows = len(splits["train"])
    assert f"algo-1 (1/2): {(rows + 1) // 2} training rows" in logs["algo-1"]
    assert f"algo-2 (2/2): {rows // 2} training rows" in logs["algo-2"]

    metadata = {
        host: json.loads((tmp_path / host / "model" / "model-metadata.json").read_text())
        for host in HOSTS
    }
    assert metadata["algo-1"] == metadata["algo-2"]
    model_file = metadata["algo-1"]["model_file"]
    models = {host: (tmp_path / host / "model" / model_file).read_bytes() for host in HOSTS}
    assert models["algo-1"] == models["algo-2"]

    model = artifact.load(tmp_path / "algo-1" / "model")
    test = splits["test"]
    auc = roc_auc_score(test.labels, model.predict(test.features))
    assert auc > 0.5, auc  # it learned something (the model's own tests hold its quality bar)
    assert logs["algo-1"].splitlines()[-1] == logs["algo-2"].splitlines()[-1]  # same validation AUC


def test_tracker_port_taken_is_a_clear_failure(tmp_path: Path, splits: dict[str, Dataset]) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        opt_ml = host_dir(tmp_path, "algo-1", splits)
        done = subprocess.run(
            [str(TRAIN)],
            env=cluster_env(opt_ml, port),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    failure = (opt_ml / "output" / "failure").read_text().strip()
    assert failure.startswith(f"cannot start the xgboost tracker on 127.0.0.1:{port}: ")
    assert "Traceback" not in done.stderr


def test_resource_config_and_host_addresses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert read_cluster(tmp_path / "absent.json") == Cluster(("algo-1",), "algo-1")
    path = tmp_path / "resourceconfig.json"
    path.write_text(
        json.dumps(
            {
                "current_host": "algo-2",
                "hosts": ["algo-2", "algo-1"],
                "network_interface_name": "eth0",
            }
        )
    )
    cluster = read_cluster(path)
    assert cluster.hosts == ("algo-1", "algo-2") and cluster.index == 1 and cluster.size == 2
    path.write_text("[]")
    with pytest.raises(StepError, match="expected JSON with 'current_host' and a 'hosts' list"):
        read_cluster(path)

    monkeypatch.setenv("TRAIN_HOST_ADDRESSES", "algo-1=10.0.0.1, algo-2=10.0.0.2")
    assert host_address("algo-2") == "10.0.0.2"
    with pytest.raises(StepError, match="has no address for host 'algo-3'"):
        host_address("algo-3")
    monkeypatch.setenv("TRAIN_HOST_ADDRESSES", "algo-1:10.0.0.1")
    with pytest.raises(StepError, match="expected host=address pairs"):
        host_address("algo-1")
    monkeypatch.setenv("TRAIN_TRACKER_PORT", "http")
    with (
        pytest.raises(StepError, match="TRAIN_TRACKER_PORT='http' is not a positive integer"),
        project_model.distributed(Cluster(("algo-1", "algo-2"), "algo-1")),
    ):
        pass


def test_a_model_without_distributed_refuses_several_hosts(
    tmp_path: Path, splits: dict[str, Dataset], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model folder that sets ``distributed = None`` trains on one host; two hosts: one line."""
    opt_ml = host_dir(tmp_path, "algo-1", splits)
    monkeypatch.setenv("OPT_ML", str(opt_ml))
    monkeypatch.setattr(project_model, "distributed", None)
    with pytest.raises(StepError, match="2 training hosts, but the model trains on one host only"):
        train.train([])
    assert not (opt_ml / "model").exists() or not any((opt_ml / "model").iterdir())
