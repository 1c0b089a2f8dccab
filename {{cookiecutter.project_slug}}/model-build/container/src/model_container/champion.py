"""Processing step of model-build: fetch the champion, the newest Approved model package of a group.

``python3 -m model_container.champion --model-package-group G [--output-dir DIR]`` writes
``<output-dir>/champion.json`` (``model_package_arn``, ``model_package_version``, ``model_data_url``;
all null when the group has no Approved package: the first model has no champion) and, when there is
one, its ``model.tar.gz``. The Evaluate step gets the folder as its ``champion`` input: a
ProcessingInput's S3 URI must be known when the job starts, so the lookup is a step of its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from model_container import registry
from model_container.entrypoint import StepArgumentParser, run_step
from model_container.paths import PROCESSING_FAILURE_FILE, processing

CHAMPION_FILE = "champion.json"
MODEL_FILE = "model.tar.gz"


def _parser() -> StepArgumentParser:
    parser = StepArgumentParser(prog="champion", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model-package-group", required=True, type=registry.entity_name("model package group")
    )
    parser.add_argument(
        "--output-dir", type=Path, default=None, help="default: processing/champion"
    )
    parser.add_argument("--region", help="default: AWS_REGION / AWS_DEFAULT_REGION")
    return parser


def champion(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    output_dir = args.output_dir or processing("champion")
    output_dir.mkdir(parents=True, exist_ok=True)
    sagemaker = registry.client("sagemaker", args.region)
    package = registry.newest_approved_or_none(sagemaker, args.model_package_group)
    document: dict[str, object] = {
        "model_package_arn": None,
        "model_package_version": None,
        "model_data_url": None,
    }
    if package is None:
        print(f"no Approved model package in {args.model_package_group}: no champion")
    else:
        url = registry.model_data_url(package)
        registry.download(registry.client("s3", args.region), url, output_dir / MODEL_FILE)
        document = {
            "model_package_arn": package["ModelPackageArn"],
            "model_package_version": package.get("ModelPackageVersion"),
            "model_data_url": url,
        }
        print(f"champion: {package['ModelPackageArn']} ({url})")
    # Written in both cases: the folder is never empty (SageMaker refuses an empty S3 input prefix).
    (output_dir / CHAMPION_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(champion, argv, PROCESSING_FAILURE_FILE)


if __name__ == "__main__":
    raise SystemExit(main())
