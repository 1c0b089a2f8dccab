"""`make local-serve`: the newest locally APPROVED model, served by the image's own `serve` entry point.

The model artifact is unpacked exactly where SageMaker hosting puts it (``/opt/ml/model``, here under
``<work>/serving/<group>-<version>/opt_ml``) and the server gets the environment SageMaker would set,
bound to loopback.
"""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
from pathlib import Path
from typing import Any

from model_build.errors import UsageError, run_cli
from model_build.local.registry import packages
from model_build.local.storage import s3_path

DEFAULT_WORK = Path(".local")


def latest_approved(work: Path, group: str | None = None) -> dict[str, Any]:
    """The newest Approved record of the local registry (optionally of one group)."""
    approved = [
        record for _, record in packages(work, group) if record["ModelApprovalStatus"] == "Approved"
    ]
    if not approved:
        raise UsageError(
            f"no approved model in {work / 'registry'}: run `make local`, then `make approve`"
        )
    return approved[-1]


def unpack_model(work: Path, record: dict[str, Any]) -> Path:
    """Extract the package's model.tar.gz into a fresh ``opt_ml/model``; return that ``opt_ml``."""
    url = record["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    archive = s3_path(work, url)
    if not archive.is_file():
        raise UsageError(f"model artifact {url} is missing (local file {archive})")
    name = f"{record['ModelPackageGroupName']}-{record['ModelPackageVersion']}"
    opt_ml = work / "serving" / name / "opt_ml"
    model_dir = opt_ml / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    for old in model_dir.iterdir():
        old.unlink()
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(model_dir, filter="data")  # refuses absolute paths and links out
    except (tarfile.TarError, OSError) as error:
        raise UsageError(f"cannot unpack {archive}: {error}") from None
    return opt_ml


def copy_examples(work: Path, record: dict[str, Any]) -> Path:
    """The served package's example requests (its ``endpoint_examples``, with the scores Evaluate
    computed) to ``<work>/serving/examples.csv``, where `make test-endpoint` finds them, as the
    deploy build writes the deployed package's to build/examples.csv."""
    uri = record.get("CustomerMetadataProperties", {}).get("endpoint_examples")
    source = s3_path(work, uri) if uri else None
    if source is None or not source.is_file():
        raise UsageError(
            f"model package {record['ModelPackageArn']} links no example requests "
            "(endpoint_examples): run `make local` again, then `make approve`"
        )
    target = work / "serving" / "examples.csv"
    target.write_bytes(source.read_bytes())
    return target


def serve_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="serve-local", description=__doc__.split("\n")[0])
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--model-package-group", help="default: the newest approved of any group")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8080))
    parser.add_argument(
        "--capture-dir",
        help="write data-capture files here, like an endpoint (default: <work>/capture; '' = off)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: allowed 1-65535")
    work = args.work_dir.resolve()
    record = latest_approved(work, args.model_package_group)
    opt_ml = unpack_model(work, record)
    copy_examples(work, record)
    server = Path(sys.executable).parent / "serve"
    print(
        f"serving {record['ModelPackageArn']} (v{record['ModelPackageVersion']}) "
        f"on http://{args.host}:{args.port}",
        flush=True,
    )
    capture = str(work / "capture") if args.capture_dir is None else args.capture_dir
    env = {
        **os.environ,
        "OPT_ML": str(opt_ml),
        "MODEL_SERVER_HOST": args.host,
        "SAGEMAKER_BIND_TO_PORT": str(args.port),
        "MODEL_SERVER_CAPTURE_DIR": str(Path(capture).resolve()) if capture else "",
    }
    os.execve(server, [str(server)], env)
    return 0  # pragma: no cover - execve does not return


def main() -> int:
    return run_cli(serve_main)
