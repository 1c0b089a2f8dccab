"""``python -m project_infra.synth``: synthesize the stack into ``infra/cdk.out`` with no AWS
credentials and no CDK CLI, with cdk-nag's AwsSolutions checks as a gate."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from project_infra.settings import Settings, SettingsError, find_project_file, load
from project_infra.stack import ProjectStack

STACK_ID = "Project"
# CDK feature flags: S3 log delivery through the bucket policy, not the legacy log-delivery ACL.
CONTEXT = {"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True}


def build_app(project_file: Path, outdir: Path | None = None) -> cdk.App:
    """The app for ``project_file``; the repository is the folder that holds it. Without
    ``outdir`` the CDK CLI's output folder is used (``cdk synth``/``cdk deploy``)."""
    return app_for(load(project_file), project_file.parent, outdir)


def app_for(settings: Settings, repo_root: Path, outdir: Path | None = None) -> cdk.App:
    """The app of ``settings`` for the repository at ``repo_root``, with cdk-nag's checks."""
    app = cdk.App(context=CONTEXT, **({"outdir": str(outdir)} if outdir else {}))
    ProjectStack(app, STACK_ID, settings=settings, repo_root=repo_root)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m project_infra.synth", description=__doc__)
    parser.add_argument("--project-file", type=Path, help="default: the nearest project.toml")
    parser.add_argument("--out", type=Path, help="default: infra/cdk.out next to project.toml")
    args = parser.parse_args(argv)
    try:
        project_file = args.project_file or find_project_file(Path.cwd())
        outdir = args.out or project_file.parent / "infra" / "cdk.out"
        assembly = build_app(project_file, outdir).synth()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # jsii surfaces failed validations (cdk-nag) as RuntimeError
        print(f"error: synth failed: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    for stack in assembly.stacks:
        print(f"{outdir / stack.template_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
