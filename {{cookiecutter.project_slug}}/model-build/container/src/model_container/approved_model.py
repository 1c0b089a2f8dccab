"""Processing step of batch inference: the newest Approved model package of a group.

``python3 -m model_container.approved_model --model-package-group G [--model-name NAME
--execution-role-arn ARN [--subnet-ids S1,S2 --security-group-ids G1]] [--output-dir DIR]`` finds the group's most recently created Approved
package, downloads its drift baselines to ``<output-dir>/baselines/{statistics,constraints}.json``
(and ``extension_constraints.json`` when the package has one: the monitor's ``--baseline-dir``),
optionally creates a SageMaker Model from the package (tagged with the package's tags; in those
subnets and security groups when given: the batch transform then runs in that VPC), and writes ``<output-dir>/model-package.json`` (``model_package_arn``,
``model_name``, ``image_uri``, ``statistics_uri``, ``constraints_uri``) for the pipeline's JsonGet.
No Approved package: exit 1 with one line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from model_container import registry
from model_container.entrypoint import StepArgumentParser, StepError, run_step
from model_container.paths import PROCESSING_FAILURE_FILE, processing

# SageMaker's pattern of RoleArn (botocore checks lengths only).
_ROLE_ARN = re.compile(r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")


def _role_arn(text: str) -> str:
    if not _ROLE_ARN.fullmatch(text):
        raise StepError(
            f"execution role ARN {text!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
        )
    return text


def _ids(prefix: str, most: int) -> Callable[[str], list[str]]:
    """A comma-separated list of 1..``most`` ``<prefix>-<hex>`` ids (VpcConfig's limits)."""
    pattern = re.compile(rf"{prefix}-[0-9a-f]{{8,17}}")

    def parse(text: str) -> list[str]:
        ids = text.split(",")
        if not 1 <= len(ids) <= most or not all(pattern.fullmatch(i) for i in ids):
            raise StepError(f"{text!r} is not 1-{most} comma-separated ids like {prefix}-0123abcd")
        return ids

    return parse


def _parser() -> StepArgumentParser:
    parser = StepArgumentParser(
        prog="approved_model",
        description="The newest Approved model package of a group: baselines and, optionally, a Model.",
    )
    parser.add_argument(
        "--model-package-group", required=True, type=registry.entity_name("model package group")
    )
    parser.add_argument(
        "--model-name",
        type=registry.entity_name("model name"),
        help="create a SageMaker Model of this name",
    )
    parser.add_argument(
        "--execution-role-arn", type=_role_arn, help="the created Model's role (with --model-name)"
    )
    parser.add_argument(
        "--subnet-ids",
        type=_ids("subnet", 16),
        help="the created Model's VPC subnets (comma-separated)",
    )
    parser.add_argument(
        "--security-group-ids",
        type=_ids("sg", 5),
        help="the created Model's VPC security groups (comma-separated; with --subnet-ids)",
    )
    parser.add_argument(
        "--output-dir", type=Path, default=None, help="default: processing/approved"
    )
    parser.add_argument("--region", help="default: AWS_REGION / AWS_DEFAULT_REGION")
    return parser


def approved_model(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if (args.model_name is None) != (args.execution_role_arn is None):
        raise StepError("--model-name and --execution-role-arn go together: pass both or neither")
    if (args.subnet_ids is None) != (args.security_group_ids is None):
        raise StepError("--subnet-ids and --security-group-ids go together: pass both or neither")
    if args.subnet_ids and not args.model_name:
        raise StepError("--subnet-ids and --security-group-ids need --model-name (the Model's VPC)")
    vpc = (
        {"SecurityGroupIds": args.security_group_ids, "Subnets": args.subnet_ids}
        if args.subnet_ids
        else None
    )
    output_dir = args.output_dir or processing("approved")

    sagemaker = registry.client("sagemaker", args.region)
    package = registry.newest_approved(sagemaker, args.model_package_group)
    arn = package["ModelPackageArn"]
    uris = registry.download_baselines(
        registry.client("s3", args.region), package, output_dir / "baselines"
    )
    if args.model_name:
        tags = registry.package_tags(sagemaker, arn)
        registry.create_model(
            sagemaker, args.model_name, arn, args.execution_role_arn, tags, vpc_config=vpc
        )
        print(f"model {args.model_name} serves {arn}")

    document = {
        "model_package_arn": arn,
        "model_name": args.model_name,
        "image_uri": registry.image_uri(package),
        "statistics_uri": uris["Statistics"],
        "constraints_uri": uris["Constraints"],
    }
    (output_dir / "model-package.json").write_text(
        json.dumps(document, indent=2) + "\n", encoding="utf-8"
    )
    print(f"approved model package {arn} (version {package.get('ModelPackageVersion', '?')})")


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(approved_model, argv, PROCESSING_FAILURE_FILE)


if __name__ == "__main__":
    raise SystemExit(main())
