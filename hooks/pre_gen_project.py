"""Validate every answer before cookiecutter writes a file.

The checks are plain functions so that the template's tests import this module and call them directly;
only ``main`` reads the context, which cookiecutter renders into the string at the bottom as JSON
(``tojson``), so quotes, backslashes and braces in answers stay data. A failed check prints one line
``ERROR: <prompt>=<value>: <why>; allowed: <what>`` per problem, then one line saying how to re-run
with the answers already given, and exits 1; cookiecutter then removes the half-made project folder.
No network, no AWS calls: this also runs on ``cruft update``.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path

SIZES = ("small", "medium", "large")
GIT_PROVIDERS = ("github", "gitlab", "bitbucket", "codecommit")
CONNECTION_PROVIDERS = ("github", "gitlab", "bitbucket")
CI_SYSTEMS = ("codepipeline", "github-actions", "gitlab-ci")
# The CI systems that run on one git provider's own servers: that provider only.
CI_PROVIDER = {"github-actions": "github", "gitlab-ci": "gitlab"}
CI_NAMES = {"github-actions": "GitHub Actions", "gitlab-ci": "GitLab CI/CD"}
SLUG_MAX = 32
NAME_MAX = 100
DESCRIPTION_MAX = 1024  # SageMaker CreateProject ProjectDescription
TAG_VALUE_MAX = 256
EMAIL_MAX = 254

SLUG_RE = re.compile(r"[a-zA-Z](-*[a-zA-Z0-9])*")
ACCOUNT_RE = re.compile(r"[0-9]{12}")
CONNECTION_ARN_RE = re.compile(
    r"arn:aws:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:"
    r"connection/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
EMAIL_RE = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
# Unicode classes AWS allows in free text: ProjectDescription is [\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]*.
TEXT_CATEGORIES = ("L", "M", "Z", "S", "N", "P")
# Tag values: [\p{L}\p{Z}\p{N}_.:/=+\-@]*
TAG_CATEGORIES = ("L", "Z", "N")
TAG_PUNCTUATION = "_.:/=+-@"
SHOWN_MAX = 120

# What each prompt accepts: used in the error lines and in docs/options.md (scripts/options_doc.py).
ALLOWED: dict[str, str] = {
    "project_name": f"1-{NAME_MAX} characters of letters, digits, punctuation, symbols and spaces",
    "project_slug": (
        f"1-{SLUG_MAX} letters, digits and hyphens, starting with a letter and not ending with a "
        "hyphen (the SageMaker project name)"
    ),
    "description": f"0-{DESCRIPTION_MAX} characters of letters, digits, punctuation, symbols and spaces",
    "owner": f"1-{TAG_VALUE_MAX} letters, digits, spaces and {TAG_PUNCTUATION} (an AWS tag value)",
    "aws_region": "a region of the aws partition where SageMaker runs, e.g. us-east-1, eu-west-1",
    "mlops_size": " | ".join(SIZES),
    "git_provider": " | ".join(GIT_PROVIDERS),
    "codeconnection_arn": "blank, or arn:aws:codeconnections:<region>:<account>:connection/<uuid>",
    "ci_system": (
        "codepipeline | github-actions (git_provider github) | gitlab-ci (git_provider gitlab)"
    ),
    "single_account": "yes | no",
    "staging_account_id": "blank or a 12-digit AWS account id",
    "prod_account_id": "blank or a 12-digit AWS account id",
    "processing_instance_type": "a SageMaker processing instance type, e.g. ml.m5.xlarge",
    "training_instance_type": "a SageMaker training instance type, e.g. ml.m5.xlarge",
    "endpoint_instance_type": "a SageMaker hosting instance type, e.g. ml.m5.large",
    "notification_email": "blank or one e-mail address (name@example.com)",
}


class ValidationError(ValueError):
    """One rejected answer, rendered as the one-line message users see."""

    def __init__(self, prompt: str, value: object, why: str, allowed: str) -> None:
        self.prompt, self.value, self.why, self.allowed = prompt, value, why, allowed
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"ERROR: {self.prompt}={_show(self.value)}: {self.why}; allowed: {self.allowed}"


def _show(value: object) -> str:
    """The value as JSON (quotes make blanks visible, escapes keep it on one line), shortened."""
    shown = json.dumps(value, ensure_ascii=False, default=repr)
    return shown if len(shown) <= SHOWN_MAX else shown[: SHOWN_MAX - 4] + '..."'


def _text(prompt: str, value: object, allowed: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(prompt, value, f"is a {type(value).__name__}, not text", allowed)
    return value


def _categories_ok(value: str, categories: tuple[str, ...], extra: str = "") -> bool:
    return all(unicodedata.category(ch)[0] in categories or ch in extra for ch in value)


def check_project_name(value: object) -> None:
    allowed = ALLOWED["project_name"]
    text = _text("project_name", value, allowed)
    if not text.strip():
        raise ValidationError("project_name", value, "is blank", allowed)
    if len(text) > NAME_MAX:
        raise ValidationError("project_name", value, f"has {len(text)} characters", allowed)
    if text != text.strip():
        raise ValidationError("project_name", value, "starts or ends with white space", allowed)
    if not _categories_ok(text, TEXT_CATEGORIES):
        raise ValidationError("project_name", value, "contains control characters", allowed)


def check_project_slug(value: object) -> None:
    allowed = ALLOWED["project_slug"]
    text = _text("project_slug", value, allowed)
    if not 1 <= len(text) <= SLUG_MAX:
        raise ValidationError("project_slug", value, f"has {len(text)} characters", allowed)
    if not text[0].isascii() or not text[0].isalpha():
        raise ValidationError("project_slug", value, "does not start with a letter", allowed)
    if not SLUG_RE.fullmatch(text):
        raise ValidationError(
            "project_slug", value, "is not a valid SageMaker project name", allowed
        )


def check_description(value: object) -> None:
    allowed = ALLOWED["description"]
    text = _text("description", value, allowed)
    if len(text) > DESCRIPTION_MAX:
        raise ValidationError("description", value, f"has {len(text)} characters", allowed)
    if not _categories_ok(text, TEXT_CATEGORIES):
        raise ValidationError("description", value, "contains control characters", allowed)


def check_owner(value: object) -> None:
    allowed = ALLOWED["owner"]
    text = _text("owner", value, allowed)
    if not text.strip():
        raise ValidationError("owner", value, "is blank", allowed)
    if len(text) > TAG_VALUE_MAX:
        raise ValidationError("owner", value, f"has {len(text)} characters", allowed)
    if not _categories_ok(text, TAG_CATEGORIES, TAG_PUNCTUATION):
        raise ValidationError("owner", value, "is not a valid AWS tag value", allowed)


def _choice(prompt: str, value: object, choices: tuple[str, ...], what: str) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValidationError(prompt, value, f"is not {what}", ALLOWED[prompt])


def check_aws_region(value: object) -> None:
    if not isinstance(value, str) or value not in AWS_REGIONS:
        raise ValidationError(
            "aws_region", value, "is not a SageMaker region", ALLOWED["aws_region"]
        )


def check_mlops_size(value: object) -> None:
    _choice("mlops_size", value, SIZES, "a known size")


def check_git_provider(value: object) -> None:
    _choice("git_provider", value, GIT_PROVIDERS, "a supported git provider")


def check_codeconnection_arn(value: object) -> None:
    allowed = ALLOWED["codeconnection_arn"]
    text = _text("codeconnection_arn", value, allowed)
    if text and not CONNECTION_ARN_RE.fullmatch(text):
        raise ValidationError("codeconnection_arn", value, "is not a connection ARN", allowed)


def check_ci_system(value: object) -> None:
    _choice("ci_system", value, CI_SYSTEMS, "a supported CI system")


def check_single_account(value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError(
            "single_account", value, "is not a yes/no answer", ALLOWED["single_account"]
        )


def _check_account_id(prompt: str, value: object) -> None:
    allowed = ALLOWED[prompt]
    text = _text(prompt, value, allowed)
    if text and not ACCOUNT_RE.fullmatch(text):
        raise ValidationError(prompt, value, "is not a 12-digit account id", allowed)


def check_staging_account_id(value: object) -> None:
    _check_account_id("staging_account_id", value)


def check_prod_account_id(value: object) -> None:
    _check_account_id("prod_account_id", value)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _instance_types(families: dict[str, str]) -> frozenset[str]:
    """``{"ml.m5": "large xlarge"}`` -> ``{"ml.m5.large", "ml.m5.xlarge"}`` (the data block's form)."""
    return frozenset(
        f"{family}.{size}" for family, sizes in families.items() for size in sizes.split()
    )


def _instance_type(prompt: str, value: object, known: frozenset[str], kind: str) -> None:
    if not isinstance(value, str) or value not in known:
        raise ValidationError(prompt, value, f"is not a {kind} instance type", ALLOWED[prompt])


def check_processing_instance_type(value: object) -> None:
    _instance_type("processing_instance_type", value, PROCESSING_INSTANCE_TYPES, "processing")


def check_training_instance_type(value: object) -> None:
    _instance_type("training_instance_type", value, TRAINING_INSTANCE_TYPES, "training")


def check_endpoint_instance_type(value: object) -> None:
    _instance_type("endpoint_instance_type", value, ENDPOINT_INSTANCE_TYPES, "hosting")


def check_notification_email(value: object) -> None:
    allowed = ALLOWED["notification_email"]
    text = _text("notification_email", value, allowed)
    if text and (len(text) > EMAIL_MAX or not EMAIL_RE.fullmatch(text)):
        raise ValidationError("notification_email", value, "is not an e-mail address", allowed)


# One check per prompt; the options reference in docs/ lists the same prompts.
FIELD_CHECKS: dict[str, Callable[[object], None]] = {
    "project_name": check_project_name,
    "project_slug": check_project_slug,
    "description": check_description,
    "owner": check_owner,
    "aws_region": check_aws_region,
    "mlops_size": check_mlops_size,
    "git_provider": check_git_provider,
    "codeconnection_arn": check_codeconnection_arn,
    "ci_system": check_ci_system,
    "single_account": check_single_account,
    "staging_account_id": check_staging_account_id,
    "prod_account_id": check_prod_account_id,
    "processing_instance_type": check_processing_instance_type,
    "training_instance_type": check_training_instance_type,
    "endpoint_instance_type": check_endpoint_instance_type,
    "notification_email": check_notification_email,
}


def check_combinations(answers: Mapping[str, object]) -> list[ValidationError]:
    """Rules between answers; call only once every single answer passed its own check."""
    errors: list[ValidationError] = []
    size = answers["mlops_size"]
    accounts = {p: answers[p] for p in ("staging_account_id", "prod_account_id")}
    if size == "small":
        for prompt, value in accounts.items():
            if value:
                errors.append(
                    ValidationError(
                        prompt,
                        value,
                        "mlops_size=small deploys into the tooling account only",
                        "blank, or choose mlops_size=medium or large",
                    )
                )
    elif answers["single_account"]:
        for prompt, value in accounts.items():
            if value:
                errors.append(
                    ValidationError(
                        prompt,
                        value,
                        "single_account=yes deploys into the tooling account",
                        "blank, or answer single_account=no",
                    )
                )
    else:
        for prompt, value in accounts.items():
            if not value:
                errors.append(
                    ValidationError(
                        prompt,
                        value,
                        f"mlops_size={size} deploys into separate accounts",
                        "a 12-digit account id, or answer single_account=yes",
                    )
                )
        staging, prod = accounts.values()
        if staging and staging == prod:
            errors.append(
                ValidationError(
                    "prod_account_id",
                    prod,
                    "is the staging account too",
                    "a different account id, or answer single_account=yes",
                )
            )
    ci_error = check_ci_provider(answers["ci_system"], answers["git_provider"])
    errors += [ci_error] if ci_error else check_connection(answers)
    return errors


def check_connection(answers: Mapping[str, object]) -> list[ValidationError]:
    """A CodeConnections ARN only where CodePipeline reads the code through one."""
    arn = answers["codeconnection_arn"]
    if not arn:
        return []
    if answers["git_provider"] == "codecommit":
        return [
            ValidationError(
                "codeconnection_arn",
                arn,
                "git_provider=codecommit does not use a connection",
                "blank, or choose git_provider=" + " | ".join(CONNECTION_PROVIDERS),
            )
        ]
    if answers["ci_system"] != "codepipeline":
        return [
            ValidationError(
                "codeconnection_arn",
                arn,
                f"ci_system={answers['ci_system']} fetches the code itself, without a connection",
                "blank, or choose ci_system=codepipeline",
            )
        ]
    return []


def check_ci_provider(ci_system: object, provider: object) -> ValidationError | None:
    """A CI system of a git provider's own (GitHub Actions, GitLab CI/CD) runs only where the code
    lives there; CodePipeline runs with any provider."""
    needed = CI_PROVIDER.get(str(ci_system))
    if needed is None or provider == needed:
        return None
    fits = ["codepipeline", *(ci for ci, p in CI_PROVIDER.items() if p == provider)]
    return ValidationError(
        "ci_system",
        ci_system,
        f"git_provider={provider} does not run {CI_NAMES[str(ci_system)]}",
        f"{' | '.join(fits)}, or choose git_provider={needed}",
    )


# --- derived answers --------------------------------------------------------------------------------


def derived(answers: Mapping[str, object]) -> dict[str, str]:
    """The ``__`` variables cookiecutter.json derives from the answers, by the same rules."""
    single = answers["mlops_size"] == "small" or answers["single_account"] is True
    return {
        "__account_layout": "single" if single else "multi",
        "__git_source": "codecommit"
        if answers["git_provider"] == "codecommit"
        else "codeconnections",
    }


def check_derived(answers: Mapping[str, object]) -> list[ValidationError]:
    """Cookiecutter renders the ``__`` variables when it prompts; a replay (``--replay-file``) takes
    them from the file as saved, so a file whose answers were edited can hold stale ones."""
    return [
        ValidationError(
            key,
            answers[key],
            "does not follow from the other answers (a replay file keeps the value it was saved with)",
            f"{json.dumps(expected)} (edit it in the replay file too)",
        )
        for key, expected in derived(answers).items()
        if key in answers and answers[key] != expected
    ]


def validate(answers: Mapping[str, object]) -> list[ValidationError]:
    """Every problem with ``answers`` (empty when they are all valid). Never raises on odd input."""
    errors: list[ValidationError] = []
    for prompt, check in FIELD_CHECKS.items():
        if prompt not in answers:
            errors.append(ValidationError(prompt, None, "is missing", "see docs/options.md"))
            continue
        try:
            check(answers[prompt])
        except ValidationError as error:
            errors.append(error)
    return errors or check_combinations(answers) or check_derived(answers)


# --- re-running without the prompts ------------------------------------------------------------------
# Cookiecutter writes the answers to its replay file (<replay_dir>/<template folder name>.json;
# replay_dir defaults to ~/.cookiecutter_replay/) before it generates anything, so the file exists when
# this hook runs (cookiecutter/main.py: replay.dump, then generate_files). `--replay-file` replays
# it: https://cookiecutter.readthedocs.io/en/stable/advanced/replay.html; replay_dir is a user config
# setting: https://cookiecutter.readthedocs.io/en/stable/advanced/user_config.html


def replay_dir() -> Path:
    """cookiecutter's replay_dir from the user config (``COOKIECUTTER_CONFIG`` or ~/.cookiecutterrc),
    or its default when cookiecutter cannot be imported or the config not read."""
    try:
        from cookiecutter.config import get_user_config  # noqa: PLC0415 (optional)

        return Path(get_user_config()["replay_dir"])
    except Exception:  # cruft's cookiecutter, a broken config: the default is the best guess
        return Path("~/.cookiecutter_replay").expanduser()


def find_replay_file(answers: Mapping[str, object], directory: Path) -> Path | None:
    """The replay file of this very run: the newest in ``directory`` holding these answers and this
    run's ``_repo_dir`` (the temporary copy of the template that the pre_prompt hook makes cookiecutter
    create for each run). None when there is none (cruft writes no replay file)."""
    repo_dir = answers.get("_repo_dir")
    if not repo_dir or not directory.is_dir():
        return None
    for path in sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))["cookiecutter"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if (
            isinstance(saved, dict)
            and saved.get("_repo_dir") == repo_dir
            and all(saved.get(p) == answers.get(p) for p in FIELD_CHECKS)
        ):
            return path
    return None


def _cli_value(value: object) -> str:
    """An answer as cookiecutter's ``key=value`` arguments take it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value if isinstance(value, str) else json.dumps(value)


def rerun_hint(answers: Mapping[str, object], replay_file: Path | None) -> str | None:
    """One line: how to run again with the answers given, once the named values are corrected. With
    the replay file when there is one, else every answer as ``key=value`` (as cruft's
    ``--extra-context`` JSON under cruft). None without ``_template`` (not run by either)."""
    template = answers.get("_template")
    if not isinstance(template, str) or not template:
        return None
    given = {p: answers[p] for p in FIELD_CHECKS if p in answers}
    if answers.get("_commit") and not answers.get("_repo_dir"):
        # cruft (it sets _commit, the template commit, and writes no replay file)
        command = shlex.join(
            ["cruft", "create", "--no-input", "--checkout", str(answers["_commit"]),
             "--extra-context", json.dumps(given, ensure_ascii=False), template]
        )  # fmt: skip
        return (
            "To re-run without the prompts, correct the values named above (on cruft update: in "
            f".cruft.json) in: {command}"
        )
    options: list[str] = []
    if answers.get("_checkout"):
        options += ["--checkout", str(answers["_checkout"])]
    if answers.get("_output_dir"):
        options += ["--output-dir", str(answers["_output_dir"])]
    if replay_file is not None:
        command = shlex.join(
            ["cookiecutter", "--replay-file", str(replay_file), *options, template]
        )
        return (
            f"Your answers are saved in {replay_file}: correct the values named above in that "
            "file (__account_layout and __git_source follow mlops_size, single_account and "
            f"git_provider: edit them too if you change those), then re-run without the prompts: "
            f"{command}"
        )
    pairs = [f"{p}={_cli_value(v)}" for p, v in given.items()]
    command = shlex.join(["cookiecutter", "--no-input", *options, template, *pairs])
    return f"To re-run without the prompts, correct the values named above in: {command}"


def main(context_json: str) -> int:
    answers = json.loads(context_json)
    errors = validate(answers)
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        hint = rerun_hint(answers, find_replay_file(answers, replay_dir()))
        if hint:
            print(hint, file=sys.stderr)
    return 1 if errors else 0


# BEGIN GENERATED AWS DATA (scripts/sync_aws_enums.py; a test checks it against the pinned botocore)
AWS_REGIONS = _words(
    "af-south-1 ap-east-1 ap-east-2 ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-south-1 "
    "ap-south-2 ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-4 ap-southeast-5 "
    "ap-southeast-6 ap-southeast-7 ca-central-1 ca-west-1 eu-central-1 eu-central-2 eu-north-1 "
    "eu-south-1 eu-south-2 eu-west-1 eu-west-2 eu-west-3 il-central-1 me-central-1 me-south-1 "
    "mx-central-1 sa-east-1 us-east-1 us-east-2 us-west-1 us-west-2 "
)
PROCESSING_INSTANCE_TYPES = _instance_types(
    {
        "ml.c4": "2xlarge 4xlarge 8xlarge xlarge",
        "ml.c5": "18xlarge 2xlarge 4xlarge 9xlarge xlarge",
        "ml.c6i": "12xlarge 16xlarge 24xlarge 2xlarge 32xlarge 4xlarge 8xlarge xlarge",
        "ml.c7i-flex": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge xlarge",
        "ml.c7i": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge large xlarge",
        "ml.c8i-flex": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge xlarge",
        "ml.c8i": "12xlarge 16xlarge 24xlarge 2xlarge 32xlarge 48xlarge 4xlarge 8xlarge 96xlarge xlarge",
        "ml.g4dn": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge xlarge",
        "ml.g5": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge xlarge",
        "ml.g6": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge xlarge",
        "ml.g6e": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge xlarge",
        "ml.g7": "12xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge",
        "ml.g7e": "12xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge",
        "ml.m4": "10xlarge 16xlarge 2xlarge 4xlarge xlarge",
        "ml.m5": "12xlarge 24xlarge 2xlarge 4xlarge large xlarge",
        "ml.m6i": "12xlarge 16xlarge 24xlarge 2xlarge 32xlarge 4xlarge 8xlarge large xlarge",
        "ml.m7i-flex": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.m7i": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge large xlarge",
        "ml.m8i-flex": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.m8i": "12xlarge 16xlarge 24xlarge 2xlarge 32xlarge 48xlarge 4xlarge 8xlarge 96xlarge large xlarge",
        "ml.p2": "16xlarge 8xlarge xlarge",
        "ml.p3": "16xlarge 2xlarge 8xlarge",
        "ml.p5": "4xlarge",
        "ml.r5": "12xlarge 16xlarge 24xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.r5d": "12xlarge 16xlarge 24xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.r6i": "12xlarge 16xlarge 24xlarge 2xlarge 32xlarge 4xlarge 8xlarge large xlarge",
        "ml.r7i": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge large xlarge",
        "ml.r8i-flex": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.r8i": "12xlarge 16xlarge 24xlarge 2xlarge 32xlarge 48xlarge 4xlarge 8xlarge 96xlarge large xlarge",
        "ml.t3": "2xlarge large medium xlarge",
    }
)
TRAINING_INSTANCE_TYPES = _instance_types(
    {
        "ml.c4": "2xlarge 4xlarge 8xlarge xlarge",
        "ml.c5": "18xlarge 2xlarge 4xlarge 9xlarge xlarge",
        "ml.c5n": "18xlarge 2xlarge 4xlarge 9xlarge xlarge",
        "ml.c6i": "12xlarge 16xlarge 24xlarge 2xlarge 32xlarge 4xlarge 8xlarge xlarge",
        "ml.c7i-flex": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge xlarge",
        "ml.c7i": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge large xlarge",
        "ml.c8i-flex": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge xlarge",
        "ml.c8i": "12xlarge 16xlarge 24xlarge 2xlarge 32xlarge 48xlarge 4xlarge 8xlarge 96xlarge xlarge",
        "ml.g4dn": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge xlarge",
        "ml.g5": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge xlarge",
        "ml.g6": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge xlarge",
        "ml.g6e": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge xlarge",
        "ml.g7": "12xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge",
        "ml.g7e": "12xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge",
        "ml.m4": "10xlarge 16xlarge 2xlarge 4xlarge xlarge",
        "ml.m5": "12xlarge 24xlarge 2xlarge 4xlarge large xlarge",
        "ml.m6i": "12xlarge 16xlarge 24xlarge 2xlarge 32xlarge 4xlarge 8xlarge large xlarge",
        "ml.m7i-flex": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.m7i": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge large xlarge",
        "ml.m8i-flex": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.m8i": "12xlarge 16xlarge 24xlarge 2xlarge 32xlarge 48xlarge 4xlarge 8xlarge 96xlarge large xlarge",
        "ml.p2": "16xlarge 8xlarge xlarge",
        "ml.p3": "16xlarge 2xlarge 8xlarge",
        "ml.p3dn": "24xlarge",
        "ml.p4d": "24xlarge",
        "ml.p4de": "24xlarge",
        "ml.p5": "48xlarge 4xlarge",
        "ml.p5e": "48xlarge",
        "ml.p5en": "48xlarge",
        "ml.p6-b200": "48xlarge",
        "ml.p6-b300": "48xlarge",
        "ml.p6e-gb200": "36xlarge",
        "ml.r5": "12xlarge 16xlarge 24xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.r5d": "12xlarge 16xlarge 24xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.r6i": "12xlarge 16xlarge 24xlarge 2xlarge 32xlarge 4xlarge 8xlarge large xlarge",
        "ml.r7i": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge large xlarge",
        "ml.r8i-flex": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.r8i": "12xlarge 16xlarge 24xlarge 2xlarge 32xlarge 48xlarge 4xlarge 8xlarge 96xlarge large xlarge",
        "ml.t3": "2xlarge large medium xlarge",
        "ml.trn1": "2xlarge 32xlarge",
        "ml.trn1n": "32xlarge",
        "ml.trn2": "48xlarge",
    }
)
ENDPOINT_INSTANCE_TYPES = _instance_types(
    {
        "ml.c4": "2xlarge 4xlarge 8xlarge large xlarge",
        "ml.c5": "18xlarge 2xlarge 4xlarge 9xlarge large xlarge",
        "ml.c5d": "18xlarge 2xlarge 4xlarge 9xlarge large xlarge",
        "ml.c6g": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.c6gd": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.c6gn": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.c6i": "12xlarge 16xlarge 24xlarge 2xlarge 32xlarge 4xlarge 8xlarge large xlarge",
        "ml.c6in": "12xlarge 16xlarge 24xlarge 2xlarge 32xlarge 4xlarge 8xlarge large xlarge",
        "ml.c7g": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.c7i": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge large xlarge",
        "ml.c8g": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge large medium xlarge",
        "ml.dl1": "24xlarge",
        "ml.g4dn": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge xlarge",
        "ml.g5": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge xlarge",
        "ml.g6": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge xlarge",
        "ml.g6e": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge xlarge",
        "ml.g7": "12xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge",
        "ml.g7e": "12xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge",
        "ml.inf1": "24xlarge 2xlarge 6xlarge xlarge",
        "ml.inf2": "24xlarge 48xlarge 8xlarge xlarge",
        "ml.m4": "10xlarge 16xlarge 2xlarge 4xlarge xlarge",
        "ml.m5": "12xlarge 24xlarge 2xlarge 4xlarge large xlarge",
        "ml.m5d": "12xlarge 24xlarge 2xlarge 4xlarge large xlarge",
        "ml.m6g": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.m6gd": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.m6i": "12xlarge 16xlarge 24xlarge 2xlarge 32xlarge 4xlarge 8xlarge large xlarge",
        "ml.m7i": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge large xlarge",
        "ml.m8g": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge large medium xlarge",
        "ml.p2": "16xlarge 8xlarge xlarge",
        "ml.p3": "16xlarge 2xlarge 8xlarge",
        "ml.p4d": "24xlarge",
        "ml.p4de": "24xlarge",
        "ml.p5": "48xlarge 4xlarge",
        "ml.p5e": "48xlarge",
        "ml.p5en": "48xlarge",
        "ml.p6-b200": "48xlarge",
        "ml.p6-b300": "48xlarge",
        "ml.p6e-gb200": "36xlarge",
        "ml.r5": "12xlarge 24xlarge 2xlarge 4xlarge large xlarge",
        "ml.r5d": "12xlarge 24xlarge 2xlarge 4xlarge large xlarge",
        "ml.r6g": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.r6gd": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge large xlarge",
        "ml.r6i": "12xlarge 16xlarge 24xlarge 2xlarge 32xlarge 4xlarge 8xlarge large xlarge",
        "ml.r7gd": "12xlarge 16xlarge 2xlarge 4xlarge 8xlarge large medium xlarge",
        "ml.r7i": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge large xlarge",
        "ml.r8g": "12xlarge 16xlarge 24xlarge 2xlarge 48xlarge 4xlarge 8xlarge large medium xlarge",
        "ml.t2": "2xlarge large medium xlarge",
        "ml.trn1": "2xlarge 32xlarge",
        "ml.trn1n": "32xlarge",
        "ml.trn2": "48xlarge",
    }
)
# END GENERATED AWS DATA


if __name__ == "__main__":
    sys.exit(main(r"""{{ cookiecutter | tojson }}"""))
