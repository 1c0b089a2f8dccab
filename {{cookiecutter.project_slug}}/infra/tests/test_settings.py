"""project.toml as rendered by the template loads, and every derived name fits AWS limits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from project_infra.settings import SettingsError, find_project_file, load
from project_names import Names

PROJECT_FILE = find_project_file(Path(__file__).resolve().parent)
LONGEST_SLUG = "a" + "-b" * 15 + "c"  # 32 characters, the longest valid project slug


def test_rendered_project_file_loads() -> None:
    settings = load(PROJECT_FILE)
    assert settings.size in {"small", "medium", "large"}
    assert settings.tags["Project"] == settings.slug
    if settings.account_layout == "multi":
        assert re.fullmatch(r"[0-9]{12}", settings.staging_account)
        assert settings.staging_account != settings.prod_account


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_names_fit_sagemaker_limits_for_the_longest_slug(stage: str) -> None:
    assert len(LONGEST_SLUG) == 32
    names = Names(LONGEST_SLUG, "p-abcdefghijkl")
    assert len(names.model_package_group) <= 63
    assert len(names.endpoint(stage)) <= 63
    assert len(names.ecr_repository) <= 256
    assert len(names.deploy_stack(stage)) <= 128
    name_pattern = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
    assert name_pattern.fullmatch(names.model_package_group)
    assert name_pattern.fullmatch(names.endpoint(stage))


def test_bad_file_gives_one_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "project.toml"
    broken.write_text(PROJECT_FILE.read_text(encoding="utf-8").replace('size = "', 'size = "huge'))
    with pytest.raises(SettingsError, match=r"size='huge\w+': allowed: small \| medium \| large"):
        load(broken)


def test_missing_key_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "project.toml"
    broken.write_text('[project]\nname = "x"\n')
    with pytest.raises(SettingsError, match=r"\[project\]: slug=None: must be a string"):
        load(broken)


def test_missing_section_is_named(tmp_path: Path) -> None:
    text = PROJECT_FILE.read_text(encoding="utf-8")
    broken = tmp_path / "project.toml"
    broken.write_text(text.replace("[notifications]", "[other]"))
    with pytest.raises(SettingsError, match=r"missing section \[notifications\]"):
        load(broken)


def test_unparsable_file_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "project.toml"
    broken.write_text("[project\n")
    with pytest.raises(SettingsError, match="cannot read project settings"):
        load(broken)


def test_layout_is_fixed_when_generated(tmp_path: Path) -> None:
    """Editing the bake-time layout fails in one line naming the value and what is allowed."""
    generated = load(PROJECT_FILE).account_layout
    other = "single" if generated == "multi" else "multi"
    (tmp_path / "infra").mkdir()
    if generated == "multi":
        (tmp_path / "infra" / "bootstrap").mkdir()
    edited = tmp_path / "project.toml"
    text = PROJECT_FILE.read_text(encoding="utf-8")
    edited.write_text(text.replace(f'layout = "{generated}"', f'layout = "{other}"'))
    if other == "multi":
        edited.write_text(
            edited.read_text()
            .replace('staging = ""', 'staging = "111111111111"')
            .replace('prod = ""', 'prod = "222222222222"')
        )
    with pytest.raises(
        SettingsError,
        match=rf"layout='{other}': this project was generated with layout '{generated}'",
    ):
        load(edited)
    (tmp_path / "project.toml").write_text(text)
    assert load(tmp_path / "project.toml").account_layout == generated


def _with_ci(tmp_path: Path, provider: str, table: str) -> Path:
    """This project's file with [source] provider and the [ci] table replaced."""
    text = re.sub(r"\n\[ci\]\n(?:(?!\n\[)[\s\S])*", "\n", PROJECT_FILE.read_text(encoding="utf-8"))
    text = re.sub(r'(?m)^provider = "[a-z]+"', f'provider = "{provider}"', text)
    edited = tmp_path / "project.toml"
    edited.write_text(f"{text}\n[ci]\n{table}\n", encoding="utf-8")
    return edited


def test_ci_defaults_to_codepipeline_and_reads_the_other_systems(tmp_path: Path) -> None:
    text = re.sub(r"\n\[ci\]\n(?:(?!\n\[)[\s\S])*", "\n", PROJECT_FILE.read_text(encoding="utf-8"))
    (tmp_path / "project.toml").write_text(text, encoding="utf-8")
    assert load(tmp_path / "project.toml").ci.system == "codepipeline"
    gitlab = load(
        _with_ci(
            tmp_path,
            "gitlab",
            'system = "gitlab-ci"\ndispatch_token_secret = "x/ci-dispatch"\n'
            'gitlab_url = "https://gitlab.example.com/ml"\n'
            'oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/gitlab.example.com/ml"',
        )
    ).ci
    assert (gitlab.system, gitlab.gitlab_url, gitlab.external) == (
        "gitlab-ci",
        "https://gitlab.example.com/ml",
        True,
    )


@pytest.mark.parametrize(
    ("provider", "table", "message"),
    [
        ("github", 'system = "jenkins"', r"system='jenkins': allowed: codepipeline \| github-"),
        (
            "gitlab",
            'system = "github-actions"\ndispatch_token_secret = "s"',
            r"system='github-actions' needs \[source\] provider='github' \(got 'gitlab'\)",
        ),
        (
            "github",
            'system = "github-actions"\ndispatch_token_secret = "s"\ngitlab_url = "https://x"',
            r"unknown key 'gitlab_url' for system='github-actions'; allowed: system, oidc_",
        ),
        (
            "github",
            'system = "github-actions"\ndispatch_token_secret = "has space"',
            r"dispatch_token_secret='has space': allowed: a Secrets Manager secret name",
        ),
        (
            "github",
            'system = "github-actions"\ndispatch_token_secret = "s"\noidc_provider_arn = "x"',
            r"oidc_provider_arn='x': allowed: blank \(the stack creates it\) or arn:aws:iam::",
        ),
        (
            "gitlab",
            'system = "gitlab-ci"\ndispatch_token_secret = "s"\ngitlab_url = "https://g.example/"',
            r"gitlab_url='https://g.example/': allowed: https://<host>\[/<path>\] without",
        ),
        ("github", 'system = "codepipeline"\ndispatch_token_secret = "s"', r"unknown key"),
    ],
)
def test_bad_ci_values_give_one_line(
    tmp_path: Path, provider: str, table: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        load(_with_ci(tmp_path, provider, table))
    assert "\n" not in str(raised.value)


def test_ci_system_is_fixed_when_generated(tmp_path: Path) -> None:
    """Only the generated system's files exist: another system in [ci] is refused in one line."""
    (tmp_path / "infra").mkdir()
    if (PROJECT_FILE.parent / "infra" / "bootstrap").is_dir():
        (tmp_path / "infra" / "bootstrap").mkdir()
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    edited = _with_ci(tmp_path, "github", 'system = "codepipeline"')
    with pytest.raises(
        SettingsError,
        match=r"system='codepipeline': this project was generated with 'github-actions' "
        r"\(\.github/workflows exists\); allowed: 'github-actions'",
    ):
        load(edited)
    _with_ci(tmp_path, "github", 'system = "github-actions"\ndispatch_token_secret = "s"')
    assert load(tmp_path / "project.toml").ci.system == "github-actions"
