"""A rejected answer costs one edit, not fifteen prompts: the hook's last line says how to re-run with
the answers already given (cookiecutter's replay file, ``key=value`` arguments, or cruft's
``--extra-context``), and that command, once the named value is corrected, generates the project.
Through the real cookiecutter and cruft CLIs."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.baking import REPO, load_hook, pristine_copy, rendered_context
from tests.test_cruft import GIT_ENV, git

pre_gen = load_hook("pre_gen_project")
REPLAY_HINT = "Your answers are saved in "
ARGS_HINT = "To re-run without the prompts, correct the values named above in: "
ARGS_HINT_CRUFT = "To re-run without the prompts, correct the values named above (on cruft update: "


def _config(path: Path, replay_dir: Path) -> Path:
    path.write_text(
        f"replay_dir: {json.dumps(str(replay_dir))}\n"
        f"cookiecutters_dir: {json.dumps(str(path.parent / 'cookiecutters'))}\n",
        encoding="utf-8",
    )
    return path


def _cookiecutter(argv: list[str], config: Path) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it (``argv[0]`` is "cookiecutter"), with ``config`` as the user config."""
    assert argv[0] == "cookiecutter"
    return subprocess.run(
        [sys.executable, "-m", "cookiecutter", *argv[1:]],
        env={
            "COOKIECUTTER_CONFIG": str(config),
            "PATH": "/usr/bin:/bin",
            "HOME": str(config.parent),
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _errors_and_command(
    stderr: str, hint: str, program: str = "cookiecutter"
) -> tuple[list[str], list[str]]:
    """The ERROR lines, and the command the hint line ends with, split as a shell would."""
    errors = [
        line for line in stderr.splitlines() if line.startswith("ERROR: ") and "; allowed: " in line
    ]
    (line,) = [line for line in stderr.splitlines() if line.startswith(hint)]
    return errors, shlex.split(f"{program} " + line.split(f": {program} ", 1)[1])


def _edit(replay_file: Path, **changes: Any) -> None:
    saved = json.loads(replay_file.read_text(encoding="utf-8"))
    saved["cookiecutter"].update(changes)
    replay_file.write_text(json.dumps(saved, indent=2), encoding="utf-8")


def test_replay_file_rerun_after_fixing_the_named_values(template: Path, tmp_path: Path) -> None:
    """The README's path: a bad answer, the replay file named, the value fixed there (as the error
    suggests: mlops_size=medium), the derived layout fixed as the hint says, and the same command
    then generates the project."""
    config = _config(tmp_path / "config.yaml", tmp_path / "replay")
    out = tmp_path / "out"
    first = _cookiecutter(
        ["cookiecutter", "--no-input", "--output-dir", str(out), str(template),
         "mlops_size=small", "staging_account_id=111111111111", "prod_account_id=222222222222"],
        config,
    )  # fmt: skip
    assert first.returncode != 0
    errors, command = _errors_and_command(first.stderr, REPLAY_HINT)
    assert [e.split("=")[0] for e in errors] == [
        "ERROR: staging_account_id",
        "ERROR: prod_account_id",
    ]
    replay_file = Path(command[2])
    assert command == [
        "cookiecutter",
        "--replay-file",
        str(replay_file),
        "--output-dir",
        str(out),
        str(template),
    ]
    assert replay_file.parent == tmp_path / "replay"
    assert (
        json.loads(replay_file.read_text(encoding="utf-8"))["cookiecutter"]["staging_account_id"]
        == "111111111111"
    )
    assert not out.exists() or not list(out.iterdir())

    # Only the named value edited: the saved layout ("single") no longer follows and is named.
    _edit(replay_file, mlops_size="medium")
    second = _cookiecutter(command, config)
    assert second.returncode != 0
    errors, again = _errors_and_command(second.stderr, REPLAY_HINT)
    assert errors == [
        'ERROR: __account_layout="single": does not follow from the other answers (a replay file '
        'keeps the value it was saved with); allowed: "multi" (edit it in the replay file too)'
    ]
    assert again == command

    _edit(replay_file, __account_layout="multi")
    third = _cookiecutter(command, config)
    assert third.returncode == 0, third.stderr
    (project,) = out.iterdir()
    settings = tomllib.loads((project / "project.toml").read_text(encoding="utf-8"))
    assert settings["project"]["size"] == "medium"
    assert settings["accounts"] == {
        "layout": "multi",
        "staging": "111111111111",
        "prod": "222222222222",
    }


def test_without_a_replay_file_the_hint_gives_every_answer(template: Path, tmp_path: Path) -> None:
    """A replay file the hook cannot see (``--config-file`` on the command line): the hint spells
    out every answer as key=value; correcting the named one there generates."""
    seen = _config(tmp_path / "seen.yaml", tmp_path / "seen-replay")
    hidden = _config(tmp_path / "hidden.yaml", tmp_path / "hidden-replay")
    out = tmp_path / "out"
    name = 'Churn "Q4" $(id)'
    first = _cookiecutter(
        ["cookiecutter", "--config-file", str(hidden), "--no-input", "--output-dir", str(out),
         str(template), f"project_name={name}", "project_slug=churn-q4", "single_account=yes",
         "mlops_size=medium", "aws_region=mars-north-1"],
        seen,
    )  # fmt: skip
    assert first.returncode != 0
    errors, command = _errors_and_command(first.stderr, ARGS_HINT)
    assert [e.split("=")[0] for e in errors] == ["ERROR: aws_region"]
    assert command[:5] == ["cookiecutter", "--no-input", "--output-dir", str(out), str(template)]
    pairs = dict(arg.split("=", 1) for arg in command[5:])
    assert list(pairs) == list(pre_gen.FIELD_CHECKS)
    assert pairs["project_name"] == name
    assert pairs["single_account"] == "yes"
    assert pairs["aws_region"] == "mars-north-1"

    fixed = [arg.replace("mars-north-1", "eu-west-1") for arg in command]
    second = _cookiecutter(fixed, seen)
    assert second.returncode == 0, second.stderr
    settings = tomllib.loads((out / "churn-q4" / "project.toml").read_text(encoding="utf-8"))
    assert settings["project"]["name"] == name
    assert settings["project"]["region"] == "eu-west-1"
    assert settings["accounts"]["layout"] == "single"


def test_under_cruft_the_hint_is_a_cruft_command(tmp_path: Path) -> None:
    """cruft writes no replay file and takes answers as --extra-context JSON; the hint pins the
    template commit cruft used, and the corrected command creates a cruft-linked project."""
    repo = pristine_copy(tmp_path / "template")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "A"]):
        git(repo, *args)
    commit = git(repo, "rev-parse", "HEAD")
    out = tmp_path / "out"
    out.mkdir()
    extra = {"project_slug": "cruft-q4", "notification_email": "ops@example"}

    def cruft(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cruft", *args],
            cwd=out,
            env={
                **os.environ,
                **GIT_ENV,
                "COOKIECUTTER_CONFIG": str(_config(tmp_path / "c.yaml", tmp_path / "r")),
            },
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    first = cruft("create", "--no-input", "--extra-context", json.dumps(extra), str(repo))
    assert first.returncode != 0
    errors, command = _errors_and_command(first.stderr, ARGS_HINT_CRUFT, "cruft")
    assert [e.split("=")[0] for e in errors] == ["ERROR: notification_email"]
    assert command[:5] == ["cruft", "create", "--no-input", "--checkout", commit]
    assert command[5] == "--extra-context" and command[7] == str(repo)
    answers = json.loads(command[6])
    assert list(answers) == list(pre_gen.FIELD_CHECKS)
    assert (answers["project_slug"], answers["single_account"]) == ("cruft-q4", False)

    answers["notification_email"] = "ops@example.com"
    second = cruft(*command[1:6], json.dumps(answers), *command[7:])
    assert second.returncode == 0, second.stderr
    state = json.loads((out / "cruft-q4" / ".cruft.json").read_text(encoding="utf-8"))
    assert (state["commit"], state["context"]["cookiecutter"]["notification_email"]) == (
        commit,
        "ops@example.com",
    )


# --- the parts, called directly ---------------------------------------------------------------------


def test_hint_needs_cookiecutter_context() -> None:
    assert pre_gen.rerun_hint({"project_slug": "x"}, None) is None


def test_hint_keeps_checkout() -> None:
    answers = {"_template": "gh:org/repo", "_checkout": "v2", "_output_dir": "/tmp/o x"}
    hint = pre_gen.rerun_hint(answers, Path("/r/repo.json"))
    assert hint is not None
    assert hint.endswith(
        "cookiecutter --replay-file /r/repo.json --checkout v2 --output-dir '/tmp/o x' gh:org/repo"
    )


def test_replay_file_is_found_only_for_this_run(tmp_path: Path) -> None:
    answers = {"_repo_dir": "/tmp/cookiecutterab12/tpl", "owner": "ml"}
    older, other, this = (tmp_path / f"{n}.json" for n in ("older", "other", "this"))
    older.write_text(
        json.dumps({"cookiecutter": {**answers, "owner": "someone"}}), encoding="utf-8"
    )
    other.write_text(
        json.dumps({"cookiecutter": {**answers, "_repo_dir": "/tmp/x/tpl"}}), encoding="utf-8"
    )
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    assert pre_gen.find_replay_file(answers, tmp_path) is None
    this.write_text(json.dumps({"cookiecutter": answers}), encoding="utf-8")
    assert pre_gen.find_replay_file(answers, tmp_path) == this
    assert pre_gen.find_replay_file(answers, tmp_path / "absent") is None


@pytest.mark.parametrize(
    "extra",
    [
        {"mlops_size": "small"},
        {"mlops_size": "medium", "staging_account_id": "111111111111", "prod_account_id": "2" * 12},
        {"mlops_size": "large", "single_account": True},
        {"git_provider": "codecommit"},
        {"git_provider": "gitlab"},
    ],
)
def test_derived_values_follow_cookiecutter_json(extra: dict[str, Any]) -> None:
    """The hook's rules agree with what cookiecutter renders from cookiecutter.json."""
    context = rendered_context(REPO, extra)
    expected = {key: context[key] for key in ("__account_layout", "__git_source")}
    assert pre_gen.derived(context) == expected
    assert pre_gen.check_derived(context) == []
    stale = {
        **context,
        "__git_source": "codeconnections"
        if extra.get("git_provider") == "codecommit"
        else "codecommit",
    }
    assert [e.prompt for e in pre_gen.check_derived(stale)] == ["__git_source"]
