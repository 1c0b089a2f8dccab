"""Synthesize once per answers set (rendering and synthesizing cost seconds) and share the result."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from service_catalog.publish import TEMPLATE_ROOT, product_template_file, synth
from service_catalog.studio import StudioTemplate

CONNECTION_ARN = (
    "arn:aws:codeconnections:eu-west-1:123456789012:connection/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7"
)
ANSWERS: dict[str, dict[str, Any]] = {
    "small-codecommit": {"mlops_size": "small", "git_provider": "codecommit"},
    "large-github-3acct": {
        "mlops_size": "large",
        "git_provider": "github",
        "aws_region": "eu-west-1",
        "codeconnection_arn": CONNECTION_ARN,
        "staging_account_id": "111111111111",
        "prod_account_id": "222222222222",
        "owner": "Data Science @ Example",
    },
}


@dataclass(frozen=True)
class Published:
    outdir: Path
    region: str
    catalog_file: Path
    product_file: Path
    studio: StudioTemplate

    @property
    def catalog(self) -> dict[str, Any]:
        return json.loads(self.catalog_file.read_text(encoding="utf-8"))

    @property
    def product(self) -> dict[str, Any]:
        return json.loads(self.product_file.read_text(encoding="utf-8"))


def publish(answers: dict[str, Any], workdir: Path) -> Published:
    """What ``python -m service_catalog.publish`` writes, for ``answers``."""
    workdir.mkdir(parents=True, exist_ok=True)
    answers_file = workdir / "answers.json"
    answers_file.write_text(json.dumps(answers), encoding="utf-8")
    outdir = workdir / "cdk.out"
    studio = synth(answers_file, outdir, TEMPLATE_ROOT)
    return Published(
        outdir=outdir,
        region=answers.get("aws_region", "us-east-1"),
        catalog_file=outdir / "StudioCatalog.template.json",
        product_file=product_template_file(outdir),
        studio=studio,
    )


@pytest.fixture(scope="session", params=sorted(ANSWERS))
def published(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Published:
    return publish(ANSWERS[request.param], tmp_path_factory.mktemp(request.param))
