"""The environment the twin gives what it runs: pointed at the emulator, nothing of the caller's
AWS setup, and nothing of the make that started it."""

from __future__ import annotations

from project_infra.twin.emulator import Emulator, command_line_variables


def test_the_twins_make_arguments_do_not_reach_the_commands_it_runs() -> None:
    """`make twin ARGS=--keep` runs the README's `make deploy-infra`: without clearing MAKEFLAGS
    that make got ARGS=--keep and passed it to the CDK CLI."""
    caller = {  # what `make twin ARGS="--work-dir /tmp/w" X=1` gives the twin's process
        "PATH": "/usr/bin",
        "ARGS": "--work-dir /tmp/w",
        "X": "1",
        "MAKEFLAGS": r" -- ARGS=--work-dir\ /tmp/w X=1",
        "MFLAGS": "",
        "MAKELEVEL": "1",
        "MAKEOVERRIDES": "${-*-command-variables-*-}",
        "AWS_PROFILE": "prod-admin",
        "AWS_ENDPOINT_URL_S3": "https://s3.example.com",
    }
    env = Emulator("eu-west-1", url="http://127.0.0.1:5000").environment(caller)
    assert env["PATH"] == "/usr/bin"
    make = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "ARGS", "X"}
    assert not {*make, "AWS_PROFILE"} & set(env)
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert "AWS_ENDPOINT_URL_S3" not in env
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"


def test_the_names_set_on_makes_command_line() -> None:
    assert command_line_variables("") == set()
    assert command_line_variables("k") == set()  # flags only
    assert command_line_variables(r"k -- ARGS=--keep\ --rerun-tests CDK=npx\ cdk") == {
        "ARGS",
        "CDK",
    }
