"""Hostile answers through real cookiecutter: rejected with the one-line error and no project folder
left behind, or rendered as inert data."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.exceptions import FailedHookException
from jinja2 import TemplateSyntaxError

from tests.baking import bake

INERT = {
    "project_name": 'Mammo "Q" \\ $(id) `id` ; | & > /dev/null \u00fcn\u00efc\u00f8d\u00e9 \u2603',
    "project_slug": "mammo-hostile",
    "description": "It's \"quoted\", \\back\\slashed\\, $HOME; 'single' <b>&amp;</b> }} %} #}",
    "owner": "Data Science @ Example: ML/Ops + Co",
}


def test_hostile_free_text_is_inert_data(template: Path, tmp_path: Path) -> None:
    project = bake(template, tmp_path, INERT)
    settings = tomllib.loads((project / "project.toml").read_text(encoding="utf-8"))
    assert settings["project"]["name"] == INERT["project_name"]
    assert settings["project"]["description"] == INERT["description"]
    assert settings["project"]["owner"] == INERT["owner"]
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert readme.startswith(f"# {INERT['project_name']}\n")


def test_jinja_in_answers_is_rendered_once_by_cookiecutter_then_inert(
    template: Path, tmp_path: Path
) -> None:
    """Cookiecutter renders every answer as a template before the hooks run (upstream behaviour,
    documented in docs/options.md); whatever it yields is then plain data in every file."""
    project = bake(template, tmp_path, {"project_name": "Model {{ 6*7 }} {{ '{{' }} x }}"})
    settings = tomllib.loads((project / "project.toml").read_text(encoding="utf-8"))
    assert settings["project"]["name"] == "Model 42 {{ x }}"
    assert settings["project"]["slug"] == "model-42-x"


def test_broken_jinja_in_an_answer_fails_before_any_file(template: Path, tmp_path: Path) -> None:
    with pytest.raises(TemplateSyntaxError):
        bake(template, tmp_path, {"description": "unclosed {% if %}"})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("extra", "line"),
    [
        ({"project_slug": "a" * 33}, 'ERROR: project_slug="' + "a" * 33 + '": has 33 characters'),
        ({"project_slug": "bad slug; rm -rf ~"}, "is not a valid SageMaker project name"),
        (
            {"project_name": "1st try"},
            'ERROR: project_slug="1st-try": does not start with a letter',
        ),
        (
            {"aws_region": "mars-north-1"},
            'ERROR: aws_region="mars-north-1": is not a SageMaker region',
        ),
        ({"training_instance_type": "ml.m5.xxl"}, "is not a training instance type"),
        ({"staging_account_id": "12345"}, 'ERROR: staging_account_id="12345": is not a 12-digit'),
        ({"owner": 'a"b'}, 'ERROR: owner="a\\"b": is not a valid AWS tag value'),
        ({"notification_email": "x@y"}, 'ERROR: notification_email="x@y": is not an e-mail'),
        ({"mlops_size": "medium"}, "mlops_size=medium deploys into separate accounts"),
        (
            {"mlops_size": "small", "prod_account_id": "222222222222"},
            "mlops_size=small deploys into the tooling account only",
        ),
        (
            {
                "git_provider": "codecommit",
                "codeconnection_arn": "arn:aws:codeconnections:us-east-1:123456789012:connection/"
                "0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7",
            },
            "git_provider=codecommit does not use a connection",
        ),
        (
            {"git_provider": "gitlab", "ci_system": "github-actions"},
            'ERROR: ci_system="github-actions": git_provider=gitlab does not run GitHub Actions',
        ),
        (
            {"ci_system": "gitlab-ci"},
            'ERROR: ci_system="gitlab-ci": git_provider=github does not run GitLab CI/CD',
        ),
        (
            {
                "ci_system": "github-actions",
                "codeconnection_arn": "arn:aws:codeconnections:us-east-1:123456789012:connection/"
                "0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7",
            },
            "ci_system=github-actions fetches the code itself, without a connection",
        ),
    ],
    ids=[
        "slug-33",
        "slug-shell",
        "slug-digit",
        "region",
        "instance",
        "account",
        "owner-quote",
        "email",
        "medium-no-accounts",
        "small-with-account",
        "codecommit-with-arn",
        "github-actions-on-gitlab",
        "gitlab-ci-on-github",
        "github-actions-with-arn",
    ],
)
def test_rejected_leaves_nothing_behind(
    template: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    extra: dict[str, Any],
    line: str,
) -> None:
    with pytest.raises(FailedHookException):
        bake(template, tmp_path, extra)
    errors = [row for row in capfd.readouterr().err.splitlines() if row.startswith("ERROR: ")]
    assert any(line in row for row in errors), errors
    assert all("; allowed: " in row for row in errors)
    assert list(tmp_path.iterdir()) == []
