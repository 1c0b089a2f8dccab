"""``python -m service_catalog.publish --answers answers.json``: render the template with the
organization's answers, synthesize the catalog stack (portfolio, product, buckets) into ``--out``
and write the product template for the S3 route, all without AWS credentials. With ``--upload``,
also put the S3-route template into its bucket (tagged for Studio) and tag the Studio domain."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import yaml

from service_catalog import answers as answers_file
from service_catalog.answers import PublishError
from service_catalog.permissions import PermissionsError
from service_catalog.render import render, version_name, write_network
from service_catalog.studio import TEMPLATE_PREFIX, StudioTemplate

HERE = Path(__file__).resolve()
CHECK_REGION = "us-east-1"  # ARN shapes do not depend on the region
TEMPLATE_ROOT = HERE.parents[3]  # service-catalog/src/service_catalog/publish.py -> template repo
# Template sections in the order people read them (CDK writes Resources before Parameters).
SECTION_ORDER = (
    "AWSTemplateFormatVersion",
    "Description",
    "Parameters",
    "Conditions",
    "Resources",
)


def product_template_file(outdir: Path) -> Path:
    """The product stack's template in the cloud assembly (CDK names it ``*.product.template.json``)."""
    found = sorted(outdir.glob("*.product.template.json"))
    if len(found) != 1:
        raise PublishError(f"{outdir}: expected one product template, found {len(found)}")
    return found[0]


def write_studio_template(outdir: Path, slug: str, version: str) -> StudioTemplate:
    """The product template as YAML (the S3 route reads YAML) under ``<outdir>/studio-template``."""
    template = json.loads(product_template_file(outdir).read_text(encoding="utf-8"))
    ordered = {k: template[k] for k in SECTION_ORDER if k in template} | template
    target = outdir / "studio-template" / f"{slug}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(ordered, sort_keys=False), encoding="utf-8")
    return StudioTemplate(file=target, key=f"{TEMPLATE_PREFIX}{slug}.yaml", version=version)


def synth(answers_path: Path, outdir: Path, template_root: Path = TEMPLATE_ROOT) -> StudioTemplate:
    """Render, synthesize (cdk-nag gate) and write the S3-route template; returns the latter."""
    answers = answers_file.load(answers_path, template_root)
    if outdir.exists():
        # Replace only an earlier output: never a folder that holds anything else.
        if any(outdir.iterdir()) and not (outdir / "manifest.json").is_file():
            raise PublishError(
                f"--out {outdir}: exists and is not a cloud assembly; pick a new folder"
            )
        shutil.rmtree(outdir)
    project = render(template_root, answers.questions, outdir / "rendered")
    if answers.network:  # before the version: the ids are part of the seed code
        write_network(project / "project.toml", answers.network, answers_path)
    from service_catalog.app import build_app  # noqa: PLC0415 - jsii starts once the answers are good

    build_app(project, outdir, template_root).synth()
    check_launch_role(outdir)
    return write_studio_template(outdir, project.name, version_name(project))


def check_launch_role(outdir: Path) -> None:
    """Refuse an assembly whose launch role cannot create everything the product template holds
    (a resource the project's infra gained that no scope covers fails earlier, in the synth)."""
    from service_catalog.app import STACK_ID  # noqa: PLC0415 - after the synth
    from service_catalog.studio_requirements import launch_role_problems  # noqa: PLC0415

    product = json.loads(product_template_file(outdir).read_text(encoding="utf-8"))
    catalog = json.loads((outdir / f"{STACK_ID}.template.json").read_text(encoding="utf-8"))
    problems = launch_role_problems(product, catalog, CHECK_REGION)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PublishError(f"launch role: {problems[0]}{more}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service_catalog.publish", description=__doc__)
    parser.add_argument("--answers", type=Path, required=True, help="cookiecutter answers (JSON)")
    parser.add_argument("--out", type=Path, default=Path("cdk.out"), help="default: ./cdk.out")
    parser.add_argument(
        "--template",
        type=Path,
        default=TEMPLATE_ROOT,
        help=f"template repository ({TEMPLATE_ROOT})",
    )
    parser.add_argument(
        "--upload", action="store_true", help="S3 route: upload and tag (needs AWS)"
    )
    parser.add_argument("--bucket", help="--upload: the StudioTemplatesBucketName output")
    parser.add_argument("--domain-id", help="--upload: the Studio domain to tag (d-xxxxxxxxxxxx)")
    parser.add_argument("--region", help="--upload: AWS region (default: the answers' aws_region)")
    args = parser.parse_args(argv)
    try:
        if args.upload and not (args.bucket and args.domain_id):
            raise PublishError(
                "--upload needs --bucket <StudioTemplatesBucketName> and --domain-id"
            )
        if not (args.template / "cookiecutter.json").is_file():
            raise PublishError(f"--template {args.template}: no cookiecutter.json there")
        studio_template = synth(args.answers, args.out, args.template)
        print(f"synthesized: {args.out}")
        print(f"studio template: {studio_template.file}")
        if args.upload:
            from service_catalog.upload import upload  # noqa: PLC0415 - boto3 only when uploading

            region = args.region or json.loads(args.answers.read_text()).get("aws_region")
            location = upload(studio_template, args.bucket, args.domain_id, region)
            print(f"uploaded: {location}")
    except PublishError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # jsii surfaces failed validations (cdk-nag) as RuntimeError
        print(f"error: synth failed: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    except PermissionsError as error:  # a product resource no launch-role scope decides
        print(f"error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
