"""The pre_gen_project checks, called directly: good answers pass, every bad one is named in one line."""

from __future__ import annotations

import json
import re
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.baking import REPO, load_hook

pre_gen = load_hook("pre_gen_project")
DEFAULTS = json.loads((REPO / "cookiecutter.json").read_text(encoding="utf-8"))
LINE = re.compile(
    r"ERROR: (?P<prompt>[a-z_]+)=(?P<value>.*): (?P<why>[^;]+); allowed: (?P<allowed>.+)"
)


def valid_answers(**changes: Any) -> dict[str, Any]:
    answers = {
        key: value[0] if isinstance(value, list) else value
        for key, value in DEFAULTS.items()
        if not key.startswith("_")
    }
    answers["project_slug"] = "mammography-severity"
    return {**answers, **changes}


def errors_of(**changes: Any) -> list[str]:
    return [str(error) for error in pre_gen.validate(valid_answers(**changes))]


def test_defaults_are_valid() -> None:
    assert errors_of() == []


def test_every_prompt_has_a_check() -> None:
    prompts = {key for key in DEFAULTS if not key.startswith("_")}
    assert prompts == set(pre_gen.FIELD_CHECKS)


@pytest.mark.parametrize(
    ("prompt", "value"),
    [
        ("project_slug", "a"),
        ("project_slug", "a" * 32),
        ("project_slug", "ml--ops-2"),
        ("project_name", 'Ünïcødé ✓ "quoted" \\ {{ 7*7 }} $(rm -rf /)'),
        ("description", ""),
        ("owner", "Team A: ML/Ops @ Example+Co"),
        ("aws_region", "eu-central-2"),
        ("codeconnection_arn", ""),
        ("notification_email", "first.last+ml@sub.example.co.uk"),
        ("endpoint_instance_type", "ml.g5.xlarge"),
    ],
)
def test_accepted(prompt: str, value: str) -> None:
    assert errors_of(**{prompt: value}) == []


@pytest.mark.parametrize(
    ("prompt", "value", "why"),
    [
        ("project_slug", "a" * 33, "has 33 characters"),
        ("project_slug", "", "has 0 characters"),
        ("project_slug", "1model", "does not start with a letter"),
        ("project_slug", "my_model", "is not a valid SageMaker project name"),
        ("project_slug", "model-", "is not a valid SageMaker project name"),
        ("project_slug", "modèle", "is not a valid SageMaker project name"),
        ("project_slug", "a;rm -rf ~", "is not a valid SageMaker project name"),
        ("project_name", "   ", "is blank"),
        ("project_name", "tab\there", "contains control characters"),
        ("project_name", "x" * 101, "has 101 characters"),
        ("description", "line\nbreak", "contains control characters"),
        ("owner", "team <ml>", "is not a valid AWS tag value"),
        ("owner", "", "is blank"),
        ("aws_region", "us-east-9", "is not a SageMaker region"),
        ("aws_region", "cn-north-1", "is not a SageMaker region"),
        ("mlops_size", "huge", "is not a known size"),
        ("git_provider", "svn", "is not a supported git provider"),
        ("codeconnection_arn", "arn:aws:s3:::bucket", "is not a connection ARN"),
        ("ci_system", "jenkins", "is not a supported CI system"),
        ("ci_system", "GitHub-Actions", "is not a supported CI system"),
        ("single_account", "yes", "is not a yes/no answer"),
        ("staging_account_id", "12345678901", "is not a 12-digit account id"),
        ("prod_account_id", "12345678901a", "is not a 12-digit account id"),
        ("processing_instance_type", "ml.m5.huge", "is not a processing instance type"),
        ("training_instance_type", "m5.xlarge", "is not a training instance type"),
        ("endpoint_instance_type", "ml.t3.medium'", "is not a hosting instance type"),
        ("notification_email", "not-an-address", "is not an e-mail address"),
        ("notification_email", "a@b", "is not an e-mail address"),
    ],
)
def test_rejected_with_one_line(prompt: str, value: object, why: str) -> None:
    errors = errors_of(**{prompt: value})
    assert len(errors) == 1, errors
    line = LINE.fullmatch(errors[0])
    assert line, errors[0]
    assert line["prompt"] == prompt
    assert json.loads(line["value"]) == value or line["value"].endswith('..."')
    assert line["why"] == why
    assert "\n" not in errors[0]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"mlops_size": "small", "staging_account_id": "111111111111"},
            [
                'ERROR: staging_account_id="111111111111": mlops_size=small deploys into the tooling '
                "account only; allowed: blank, or choose mlops_size=medium or large"
            ],
        ),
        (
            {"mlops_size": "medium"},
            [
                f'ERROR: {p}="": mlops_size=medium deploys into separate accounts; allowed: a 12-digit '
                "account id, or answer single_account=yes"
                for p in ("staging_account_id", "prod_account_id")
            ],
        ),
        (
            {
                "mlops_size": "large",
                "staging_account_id": "111111111111",
                "prod_account_id": "111111111111",
            },
            [
                'ERROR: prod_account_id="111111111111": is the staging account too; allowed: a different '
                "account id, or answer single_account=yes"
            ],
        ),
        (
            {"mlops_size": "medium", "single_account": True, "prod_account_id": "222222222222"},
            [
                'ERROR: prod_account_id="222222222222": single_account=yes deploys into the tooling '
                "account; allowed: blank, or answer single_account=no"
            ],
        ),
        (
            {
                "git_provider": "codecommit",
                "codeconnection_arn": "arn:aws:codeconnections:us-east-1:123456789012:connection/"
                "0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7",
            },
            [
                'ERROR: codeconnection_arn="arn:aws:codeconnections:us-east-1:123456789012:connection/'
                '0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7": git_provider=codecommit does not use a '
                "connection; allowed: blank, or choose git_provider=github | gitlab | bitbucket"
            ],
        ),
    ],
)
def test_unsupported_combinations(changes: dict[str, Any], expected: list[str]) -> None:
    assert errors_of(**changes) == expected


@pytest.mark.parametrize(
    ("ci_system", "provider"),
    [
        *[("codepipeline", provider) for provider in pre_gen.GIT_PROVIDERS],
        ("github-actions", "github"),
        ("gitlab-ci", "gitlab"),
    ],
)
def test_ci_system_with_its_provider_is_fine(ci_system: str, provider: str) -> None:
    assert errors_of(ci_system=ci_system, git_provider=provider) == []


@pytest.mark.parametrize(
    ("ci_system", "provider", "expected"),
    [
        (
            "github-actions",
            "gitlab",
            'ERROR: ci_system="github-actions": git_provider=gitlab does not run GitHub Actions; '
            "allowed: codepipeline | gitlab-ci, or choose git_provider=github",
        ),
        (
            "github-actions",
            "bitbucket",
            'ERROR: ci_system="github-actions": git_provider=bitbucket does not run GitHub '
            "Actions; allowed: codepipeline, or choose git_provider=github",
        ),
        (
            "gitlab-ci",
            "github",
            'ERROR: ci_system="gitlab-ci": git_provider=github does not run GitLab CI/CD; '
            "allowed: codepipeline | github-actions, or choose git_provider=gitlab",
        ),
        (
            "gitlab-ci",
            "codecommit",
            'ERROR: ci_system="gitlab-ci": git_provider=codecommit does not run GitLab CI/CD; '
            "allowed: codepipeline, or choose git_provider=gitlab",
        ),
    ],
)
def test_ci_system_on_another_provider_is_one_line(
    ci_system: str, provider: str, expected: str
) -> None:
    errors = errors_of(ci_system=ci_system, git_provider=provider)
    assert errors == [expected]
    assert LINE.fullmatch(errors[0])


def test_medium_with_accounts_or_single_account_is_fine() -> None:
    assert (
        errors_of(
            mlops_size="medium", staging_account_id="111111111111", prod_account_id="222222222222"
        )
        == []
    )
    assert errors_of(mlops_size="large", single_account=True) == []


def test_missing_answer_is_reported() -> None:
    answers = valid_answers()
    del answers["aws_region"]
    assert [str(e) for e in pre_gen.validate(answers)] == [
        "ERROR: aws_region=null: is missing; allowed: see docs/options.md"
    ]


def test_main_prints_every_error_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    answers = valid_answers(project_slug="9lives", owner="<script>")
    assert pre_gen.main(json.dumps(answers)) == 1
    lines = capsys.readouterr().err.splitlines()
    assert [line.split("=")[0] for line in lines] == ["ERROR: project_slug", "ERROR: owner"]


# --- generated invalid inputs: none accepted, nothing raised but the validation error -------------

TEXT_PROMPTS = [p for p in pre_gen.FIELD_CHECKS if p != "single_account"]
NOT_TEXT = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=True),
    st.lists(st.text(max_size=3)),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def invalid_slugs() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(min_size=33, max_size=80, alphabet=string.ascii_letters),
        st.text(max_size=32).filter(lambda s: not re.fullmatch(r"[a-zA-Z](-*[a-zA-Z0-9])*", s)),
        st.from_regex(r"[0-9-][a-zA-Z0-9-]{0,20}", fullmatch=True),
        st.from_regex(r"[a-zA-Z][a-zA-Z0-9]{0,10}[-_. ]", fullmatch=True),
    )


def invalid_accounts() -> st.SearchStrategy[str]:
    return st.text(min_size=1, max_size=20).filter(lambda s: not re.fullmatch(r"[0-9]{12}", s))


def invalid_instance_types(known: frozenset[str]) -> st.SearchStrategy[str]:
    near = st.sampled_from(sorted(known)).flatmap(
        lambda t: st.sampled_from([t.upper(), t + " ", t.replace("ml.", ""), t + "x", " " + t])
    )
    return st.one_of(near, st.text(max_size=30)).filter(lambda s: s not in known)


INVALID = {
    "project_slug": invalid_slugs(),
    "project_name": st.one_of(
        st.just(""),
        st.text(min_size=101, max_size=150),
        st.text(max_size=20).map(lambda s: s + "\x00"),
    ),
    "description": st.one_of(
        st.text(min_size=1025, max_size=1100), st.text(max_size=20).map(lambda s: s + "\u200b\n")
    ),
    "owner": st.one_of(st.just(""), st.text(min_size=1, max_size=20).map(lambda s: s + "<>")),
    "aws_region": st.text(max_size=20).filter(lambda s: s not in pre_gen.AWS_REGIONS),
    "mlops_size": st.text(max_size=10).filter(lambda s: s not in pre_gen.SIZES),
    "git_provider": st.text(max_size=10).filter(lambda s: s not in pre_gen.GIT_PROVIDERS),
    "ci_system": st.one_of(
        st.text(max_size=15), st.sampled_from(pre_gen.CI_SYSTEMS).map(str.upper)
    ).filter(lambda s: s not in pre_gen.CI_SYSTEMS),
    "codeconnection_arn": st.text(min_size=1, max_size=120).filter(
        lambda s: not pre_gen.CONNECTION_ARN_RE.fullmatch(s)
    ),
    "staging_account_id": invalid_accounts(),
    "prod_account_id": invalid_accounts(),
    "processing_instance_type": invalid_instance_types(pre_gen.PROCESSING_INSTANCE_TYPES),
    "training_instance_type": invalid_instance_types(pre_gen.TRAINING_INSTANCE_TYPES),
    "endpoint_instance_type": invalid_instance_types(pre_gen.ENDPOINT_INSTANCE_TYPES),
    "notification_email": st.text(min_size=1, max_size=40).filter(
        lambda s: not pre_gen.EMAIL_RE.fullmatch(s)
    ),
    "single_account": st.one_of(st.text(max_size=5), st.integers(), st.none()),
}


def test_every_prompt_has_an_invalid_strategy() -> None:
    assert set(INVALID) == set(pre_gen.FIELD_CHECKS)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data(), prompt=st.sampled_from(sorted(INVALID)))
def test_generated_invalid_inputs_are_rejected(data: st.DataObject, prompt: str) -> None:
    value = data.draw(
        st.one_of(INVALID[prompt], NOT_TEXT) if prompt in TEXT_PROMPTS else INVALID[prompt]
    )
    errors = pre_gen.validate(valid_answers(**{prompt: value}))
    assert errors, f"accepted {prompt}={value!r}"
    assert all(isinstance(e, pre_gen.ValidationError) for e in errors)
    assert any(e.prompt == prompt for e in errors)
    assert all(LINE.fullmatch(str(e)) and "\n" not in str(e) for e in errors)
