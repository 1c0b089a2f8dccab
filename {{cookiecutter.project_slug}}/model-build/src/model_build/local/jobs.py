"""Processing and training jobs as SageMaker runs them, with /opt/ml mapped to a local folder.

Each job gets ``<work>/jobs/<step>/opt_ml`` (``<step>/<host>/opt_ml`` for each of several hosts),
its inputs copied in from the local S3 folder, the container's command run as a subprocess with ``OPT_ML`` set,
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

from model_build.errors import StepFailedError, UsageError
from model_build.local.storage import container_path, download, s3_path, upload

# What a network-isolated job's container gets instead of AWS: no local stand-in for it
# (model_container.local_aws), and every AWS endpoint a closed local port, so an AWS call fails at
# once, as it would in SageMaker.
CLOSED_ENDPOINT = "http://127.0.0.1:9"


def isolated(env: dict[str, str], isolation: object) -> dict[str, str]:
    """``env`` for a job whose request has ``EnableNetworkIsolation`` = ``isolation``."""
    if isolation is not True:
        return dict(env)
    endpoints = {
        name: CLOSED_ENDPOINT
        for name in (*os.environ, *env)
        if name.startswith("AWS_ENDPOINT_URL")  # the service-specific ones win over the general
    }
    closed = {"LOCAL_AWS_ROOT": "", "AWS_ENDPOINT_URL": CLOSED_ENDPOINT, "AWS_MAX_ATTEMPTS": "1"}
    return {**env, **endpoints, **closed}


def run_processing(
    work: Path, step: str, args: dict[str, Any], env: dict[str, str]
) -> dict[str, Any]:
    """Run a resolved CreateProcessingJob request on ``InstanceCount`` local hosts; return
    DescribeProcessingJob-like properties.

    As SageMaker does (https://docs.aws.amazon.com/sagemaker/latest/dg/build-your-own-processing-container.html):
    every host gets ``config/resourceconfig.json`` (``current_host``, ``hosts``), a ShardedByS3Key
    input gives each host a share of the objects under its prefix, a FullyReplicated one all of them
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingS3Input.html), and every
    host's output folder is uploaded to the output's one S3 prefix. Two hosts writing the same file
    name would overwrite each other there: that fails the step here.
    """
    job = _fresh(work / "jobs" / step)
    resources = args.get("ProcessingResources", {}).get("ClusterConfig", {})
    hosts = _hosts(step, resources.get("InstanceCount", 1))
    # One host keeps the plain /opt/ml layout; several get one folder each.
    folders = {host: job / "opt_ml" if len(hosts) == 1 else job / host / "opt_ml" for host in hosts}
    for host, opt_ml in folders.items():
        (opt_ml / "config").mkdir(parents=True)
        _dump(opt_ml / "config" / "resourceconfig.json", {"current_host": host, "hosts": hosts})
    for item in args.get("ProcessingInputs", []):
        s3_input = item.get("S3Input")
        if s3_input is None:
            raise StepFailedError(
                f"{step}: input {item.get('InputName')!r} is not an S3 input; only S3 inputs run locally"
            )
        if s3_input.get("S3DataDistributionType") == "ShardedByS3Key":
            shares = shard_objects(work, s3_input["S3Uri"], len(hosts))
            for opt_ml, share in zip(folders.values(), shares, strict=True):
                destination = container_path(opt_ml, s3_input["LocalPath"])
                destination.mkdir(parents=True, exist_ok=True)
                for key, source in share:
                    (destination / key).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, destination / key)
        else:
            for opt_ml in folders.values():
                download(work, s3_input["S3Uri"], container_path(opt_ml, s3_input["LocalPath"]))
    outputs = args.get("ProcessingOutputConfig", {}).get("Outputs", [])
    for opt_ml in folders.values():
        for item in outputs:
            container_path(opt_ml, item["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
    app = args["AppSpecification"]
    command = [*app.get("ContainerEntrypoint", []), *app.get("ContainerArguments", [])]
    if not command:
        raise StepFailedError(f"{step}: AppSpecification has no ContainerEntrypoint to run")
    isolation = args.get("NetworkConfig", {}).get("EnableNetworkIsolation")
    _run_hosts(
        step,
        command,
        folders,
        {**isolated(env, isolation), **_environment(args)},
        job,
        failure_file=("output", "message"),
    )
    for item in outputs:
        local, uri = item["S3Output"]["LocalPath"], item["S3Output"]["S3Uri"]
        upload(
            work, _merged(step, job, {h: container_path(o, local) for h, o in folders.items()}), uri
        )
    return {**args, "ProcessingJobName": step, "ProcessingJobStatus": "Completed"}


def shard_objects(work: Path, uri: str, count: int) -> list[list[tuple[str, Path]]]:
    """The objects under ``uri`` (key below the prefix, local file) dealt to ``count`` hosts in key
    order: object i goes to host i mod count. SageMaker documents only that each instance gets a
    share by key; a host may get none when there are fewer objects than hosts."""
    source = s3_path(work, uri)
    if source.is_file():
        files = [(source.name, source)]
    elif source.is_dir():
        files = sorted(
            (path.relative_to(source).as_posix(), path)
            for path in source.rglob("*")
            if path.is_file()
        )
    else:
        files = []
    if not files:
        raise UsageError(f"no objects under {uri} (local folder {source})")
    return [files[index::count] for index in range(count)]


def _merged(step: str, job: Path, folders: dict[str, Path]) -> Path:
    """One output folder holding every host's files (the one host's own folder when alone)."""
    if len(folders) == 1:
        return next(iter(folders.values()))
    merged = _fresh(job / "upload")
    owners: dict[str, str] = {}
    for host, folder in folders.items():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = path.relative_to(folder).as_posix()
            if name in owners:
                raise StepFailedError(
                    f"{step}: {owners[name]} and {host} both wrote {name}; in S3 one would overwrite "
                    "the other (write per-host file names)"
                )
            owners[name] = host
            (merged / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, merged / name)
    return merged


def _hosts(step: str, count: object) -> list[str]:
    """``algo-1`` .. ``algo-<count>``, SageMaker's host names."""
    number = int(str(count))
    if number < 1:
        raise StepFailedError(f"{step}: InstanceCount {count} is not allowed; expected 1 or more")
    return [f"algo-{index}" for index in range(1, number + 1)]


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
    hosts = _hosts(step, resources.get("InstanceCount", 1))
    count = len(hosts)
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
    # Isolated hosts still reach each other (127.0.0.1 here), as SageMaker lets them.
    host_env = isolated(env, args.get("EnableNetworkIsolation"))
    if count > 1:  # the step code's override for DNS (model_container.cluster)
        host_env["TRAIN_HOST_ADDRESSES"] = ",".join(f"{host}=127.0.0.1" for host in hosts)
        host_env["TRAIN_TRACKER_PORT"] = str(_free_port())
    _run_hosts(
        step,
        list(command),
        folders,
        {**host_env, **_environment(args)},
        job,
        failure_file=("output", "failure"),
    )

    job_name = step
    model_uri = (
        f"{args['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{job_name}/output/model.tar.gz"
    )
    archive = s3_path(work, model_uri)
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:  # SageMaker uploads the first host's model/ folder
        for path in sorted((folders[hosts[0]] / "model").iterdir()):
            tar.add(path, arcname=path.name)
    # ... and its output/data/ folder as output.tar.gz beside it.
    with tarfile.open(archive.with_name("output.tar.gz"), "w:gz") as tar:
        for path in sorted((folders[hosts[0]] / "output" / "data").iterdir()):
            tar.add(path, arcname=path.name)
    return {
        **args,
        "TrainingJobName": job_name,
        "TrainingJobStatus": "Completed",
        "ModelArtifacts": {"S3ModelArtifacts": model_uri},
    }


def _run_hosts(
    step: str,
    command: list[str],
    folders: dict[str, Path],
    env: dict[str, str],
    job: Path,
    *,
    failure_file: tuple[str, ...],
) -> None:
    """Run ``command`` on every host at once; ``failure_file``: where (under opt_ml) the container
    writes its failure reason."""
    if len(folders) == 1:
        ((host, opt_ml),) = folders.items()
        _run(
            step, command, opt_ml, env, job / "log.txt", failure_file=opt_ml.joinpath(*failure_file)
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
                f"{host}: {_reason(opt_ml.joinpath(*failure_file), job / host / 'log.txt')}"
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
