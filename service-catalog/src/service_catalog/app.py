"""Build the CDK app of a rendered project: the catalog stack (with its product stack), checked by
cdk-nag's AwsSolutions rules; ``synth`` writes the templates without AWS credentials."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from project_infra.settings import load
from project_infra.synth import CONTEXT

from service_catalog.catalog import CatalogStack, Release
from service_catalog.render import template_commit, version_name

STACK_ID = "StudioCatalog"  # the catalog stack; publish reads its synthesized template by this id


def build_app(project: Path, outdir: Path, template_root: Path | None = None) -> cdk.App:
    """The app for the rendered ``project`` (a folder holding ``project.toml``)."""
    release = Release(
        settings=load(project / "project.toml"),
        project=project,
        version=version_name(project),
        commit=template_commit(template_root) if template_root else "unknown",
    )
    app = cdk.App(context=CONTEXT, outdir=str(outdir), analytics_reporting=False)
    CatalogStack(app, STACK_ID, release=release)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app
