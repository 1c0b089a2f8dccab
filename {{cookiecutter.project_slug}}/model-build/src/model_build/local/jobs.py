"""Processing and training jobs as SageMaker runs them, with /opt/ml mapped to a local folder.

Each job gets ``<work>/jobs/<step>/opt_ml`` (one folder per host for multi-host training), its inputs
copied in from the local S3 folder, the container's command run as a subprocess with ``OPT_ML`` set,
and its outputs copied back. The step code is the image's; nothing here knows what a step does.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from model_build.errors import StepFailedError
from model_build.local.storage import container_path, download, s3_path, upload


def run_processing(
    work: Path, step: str, args: dict[str, Any], env: dict[str, str]
) -> dict[str, Any]:
    """Run a resolved CreateProcessingJob request; return DescribeProcessingJob-like properties."""
    job = _fresh(work / "jobs" / step)
    opt_ml = job / "opt_ml"
    for item in args.get("ProcessingInputs", []):
        s3_input = item.get("S3Input")
        if s3_input is None:
            raise StepFailedError(
                f"{step}: input {item.get('InputName')!r} is not an S3 input; only S3 inputs run locally"
            )
        download(work, s3_input["S3Uri"], container_path(opt_ml, s3_input["LocalPath"]))
    outputs = args.get("ProcessingOutputConfig", {}).get("Outputs", [])
    for item in outputs:
        container_path(opt_ml, item["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
    app = args["AppSpecification"]
    command = [*app.get("ContainerEntrypoint", []), *app.get("ContainerArguments", [])]
    if not command:
        raise StepFailedError(f"{step}: AppSpecification has no ContainerEntrypoint to run")
    _run(
        step,
        command,
        opt_ml,
        {**env, **_environment(args)},
        job / "log.txt",
        failure_file=opt_ml / "output" / "message",
    )
    for item in outputs:
        upload(
            work, container_path(opt_ml, item["S3Output"]["LocalPath"]), item["S3Output"]["S3Uri"]
        )
    return {**args, "ProcessingJobName": step, "ProcessingJobStatus": "Completed"}


def run_training(
    work: Path,
    step: str,
    args: dict[str, Any],
    env: dict[str, str],
    command: tuple[str, ...] = ("train",),
) -> dict[str, Any]:
    """Run a resolved CreateTrainingJob request on ``InstanceCount`` local hosts.

    ``command`` is what SageMaker runs in the image (``<image> train``); tests pass a stand-in.
    """
    job = _fresh(work / "jobs" / step)
    resources = args["ResourceConfig"]
    count = int(resources.get("InstanceCount", 1))
    if count < 1:
        raise StepFailedError(f"{step}: InstanceCount {count} is not allowed; expected 1 or more")
    hosts = [f"algo-{index}" for index in range(1, count + 1)]
    # One host keeps the plain /opt/ml layout; several get one folder each.
    folders = {host: job / "opt_ml" if count == 1 else job / host / "opt_ml" for host in hosts}
    channels = {item["ChannelName"]: item for item in args.get("InputDataConfig", [])}
    for host, opt_ml in folders.items():
        config = opt_ml / "input" / "config"
        config.mkdir(parents=True)
        # SageMaker hands every hyperparameter to the container as a string.
        _dump(
            config / "hyperparameters.json",
            {k: str(v) for k, v in args.get("HyperParameters", {}).items()},
        )
        _dump(
            config / "resourceconfig.json",
            {
                "current_host": host,
                "current_instance_type": str(resources.get("InstanceType")),
                "current_group_name": "homogeneousCluster",
                "hosts": hosts,
                "network_interface_name": "lo",
                "instance_groups": [
                    {
                        "instance_group_name": "homogeneousCluster",
                        "hosts": hosts,
                        "instance_type": str(resources.get("InstanceType")),
                    }
                ],
            },
        )
        _dump(
            config / "inputdataconfig.json",
            {
                name: {
                    "TrainingInputMode": item.get("InputMode", "File"),
                    "RecordWrapperType": "None",
                    "S3DistributionType": item["DataSource"]["S3DataSource"].get(
                        "S3DataDistributionType"
                    ),
                    **({"ContentType": item["ContentType"]} if "ContentType" in item else {}),
                }
                for name, item in channels.items()
            },
        )
        for name, item in channels.items():
            download(
                work, item["DataSource"]["S3DataSource"]["S3Uri"], opt_ml / "input" / "data" / name
            )
        (opt_ml / "model").mkdir()
        (opt_ml / "output" / "data").mkdir(parents=True)
    host_env = dict(env)
    if count > 1:  # the step code's override for DNS (model_container.cluster)
        host_env["TRAIN_HOST_ADDRESSES"] = ",".join(f"{host}=127.0.0.1" for host in hosts)
        host_env["TRAIN_TRACKER_PORT"] = str(_free_port())
    _run_hosts(step, list(command), folders, {**host_env, **_environment(args)}, job)

    job_name = step
    model_uri = (
        f"{args['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{job_name}/output/model.tar.gz"
    )
    archive = s3_path(work, model_uri)
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:  # SageMaker uploads the first host's model/ folder
        for path in sorted((folders[hosts[0]] / "model").iterdir()):
            tar.add(path, arcname=path.name)
    return {
        **args,
        "TrainingJobName": job_name,
        "TrainingJobStatus": "Completed",
        "ModelArtifacts": {"S3ModelArtifacts": model_uri},
    }


def _run_hosts(
    step: str, command: list[str], folders: dict[str, Path], env: dict[str, str], job: Path
) -> None:
    if len(folders) == 1:
        ((host, opt_ml),) = folders.items()
        _run(
            step, command, opt_ml, env, job / "log.txt", failure_file=opt_ml / "output" / "failure"
        )
        return
    procs = []
    for host, opt_ml in folders.items():
        log = (job / host / "log.txt").open("w", encoding="utf-8")
        procs.append((host, opt_ml, log, _start(command, opt_ml, env, log)))
    failures = []
    for host, opt_ml, log, proc in procs:
        proc.wait()
        log.close()
        if proc.returncode:
            failures.append(
                f"{host}: {_reason(opt_ml / 'output' / 'failure', job / host / 'log.txt')}"
            )
    if failures:
        raise StepFailedError(
            f"{step} failed on {len(failures)} of {len(procs)} hosts: " + "; ".join(failures)
        )


def _run(
    step: str,
    command: list[str],
    opt_ml: Path,
    env: dict[str, str],
    log_path: Path,
    *,
    failure_file: Path,
) -> None:
    with log_path.open("w", encoding="utf-8") as log:
        returncode = _start(command, opt_ml, env, log).wait()
    if returncode:
        raise StepFailedError(
            f"{step}: {_reason(failure_file, log_path)} (exit {returncode}; log: {log_path})"
        )


def _start(
    command: list[str], opt_ml: Path, env: dict[str, str], log: Any
) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            _local_command(command),
            cwd=opt_ml.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
            # The image has no scikit-learn: start like it (xgboost would import it, 1-3 s a step).
            env={**os.environ, "MODEL_CONTAINER_NO_SKLEARN": "1", **env, "OPT_ML": str(opt_ml)},
        )
    except OSError as error:
        raise StepFailedError(f"cannot start {' '.join(command)}: {error.strerror}") from None


def _local_command(command: list[str]) -> list[str]:
    """The image's commands, run with this environment's interpreter and console scripts."""
    first, *rest = command
    if first in ("python", "python3"):
        return [sys.executable, *rest]
    script = Path(sys.executable).parent / first
    return [str(script) if script.exists() else first, *rest]


def _reason(failure_file: Path, log_path: Path) -> str:
    """The failure reason the container wrote (SageMaker's FailureReason), else the log's last line."""
    if failure_file.is_file() and failure_file.read_text(encoding="utf-8").strip():
        return failure_file.read_text(encoding="utf-8").strip().splitlines()[-1]
    lines = [
        line
        for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        if line.strip()
    ]
    return lines[-1] if lines else "no output"


def _environment(args: dict[str, Any]) -> dict[str, str]:
    """The job's Environment map; resolved parameters may be numbers, a process environment is text."""
    return {str(key): str(value) for key, value in args.get("Environment", {}).items()}


def _fresh(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def _dump(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
