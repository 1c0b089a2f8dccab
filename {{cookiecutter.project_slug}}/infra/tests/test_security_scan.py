"""The independent IaC scan (checkov) over every template the project deploys, and its bookkeeping.

The scan itself needs checkov from its own virtualenv: ``make test`` and ``make scan`` create it and
set CHECKOV. Without CHECKOV the scan test fails and says so: it is never skipped."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import Synthesized

from project_infra.scan import (
    ACKNOWLEDGED,
    Acknowledgement,
    Finding,
    ScanError,
    load_acknowledgements,
    main,
    parse_report,
    run_checkov,
    unacknowledged,
)

PROJECT = Path(__file__).resolve().parents[2]


def deployed_templates(synthesized: Synthesized) -> list[Path]:
    """What CloudFormation gets: the CI/CD stack, the endpoint stack, the target-account bootstrap."""
    bootstrap = sorted((PROJECT / "infra" / "bootstrap").glob("*.yml"))
    return [synthesized.template_file, PROJECT / "model-deploy" / "endpoint.yml", *bootstrap]


def test_every_template_passes_the_independent_scan(synthesized: Synthesized) -> None:
    checkov = os.environ.get("CHECKOV", "")
    assert checkov, "CHECKOV is not set: run the tests with `make test` (it installs checkov)"
    passed, findings = run_checkov(checkov, deployed_templates(synthesized))
    assert passed > 100, passed  # the stack was really checked
    left = unacknowledged(findings, load_acknowledgements())
    assert not left, "\n".join(f.line() for f in left)


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def test_no_iam_statement_grants_a_whole_service_or_every_action(synthesized: Synthesized) -> None:
    documents = [
        body["Properties"]["PolicyDocument"]
        for body in synthesized.resources("AWS::IAM::Policy").values()
    ]
    for path in (PROJECT / "infra" / "bootstrap").glob("*.yml"):
        template = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)
        for body in template["Resources"].values():
            for policy in body.get("Properties", {}).get("Policies", []):
                documents.append(policy["PolicyDocument"])
            if body["Type"] == "AWS::IAM::RolePolicy":  # a role's conditional policy
                documents.append(body["Properties"]["PolicyDocument"])
    assert documents
    wildcards = [
        action
        for document in documents
        for statement in _statements(document)
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if str(action) == "*" or str(action).endswith(":*")
    ]
    # A service's whole action set, or every action: none. (CDK's grants use prefixes such as
    # s3:GetObject*, which cdk-nag's IAM5 names and nag.py acknowledges one by one.)
    assert wildcards == []


class _CfnLoader(yaml.SafeLoader):
    """CloudFormation's short-form tags (!Sub, !Ref, ...) as plain values."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


# -- the acknowledgements and the report, without checkov -------------------------------------------


def test_each_shipped_acknowledgement_names_a_check_and_says_why() -> None:
    acknowledgements = load_acknowledgements(ACKNOWLEDGED)
    assert acknowledgements
    assert len({a.check for a in acknowledgements}) == len(acknowledgements)


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        (
            'check = "AWS_18"\nresources = ["AWS::S3::Bucket.X"]\nreason = "' + "r" * 30 + '"',
            "check=",
        ),
        ('check = "CKV_AWS_18"\nresources = []\nreason = "' + "r" * 30 + '"', "resources="),
        ('check = "CKV_AWS_18"\nresources = ["AWS::S3::Bucket.X"]\nreason = "ok"', "reason="),
    ],
)
def test_a_malformed_acknowledgement_is_named_in_one_line(
    tmp_path: Path, entry: str, error: str
) -> None:
    path = tmp_path / "acks.toml"
    path.write_text("[[acknowledged]]\n" + entry + "\n", encoding="utf-8")
    with pytest.raises(ScanError, match=rf"acknowledgement 1\b.*{error}") as raised:
        load_acknowledgements(path)
    assert "\n" not in str(raised.value)


def test_an_acknowledgement_covers_only_its_check_and_resources() -> None:
    ack = Acknowledgement("CKV_AWS_116", ("AWS::Lambda::Function.*CleanupFunction*",), "r" * 30)
    cleanup = Finding(
        "CKV_AWS_116", "/t.json", "AWS::Lambda::Function.CiCdCleanupFunctionA1", "DLQ"
    )
    other = Finding("CKV_AWS_116", "/t.json", "AWS::Lambda::Function.CiCdOtherB2", "DLQ")
    other_check = Finding("CKV_AWS_117", "/t.json", cleanup.resource, "VPC")
    assert unacknowledged([cleanup, other, other_check], [ack]) == [other, other_check]


def _report(failed: list[Finding], passed: int = 5, parsing_errors: int = 0) -> dict[str, Any]:
    return {
        "check_type": "cloudformation",
        "results": {
            "failed_checks": [
                {
                    "check_id": f.check,
                    "file_path": f.file,
                    "resource": f.resource,
                    "check_name": f.name,
                }
                for f in failed
            ],
            "parsing_errors": ["/broken.yml"] if parsing_errors else [],
        },
        "summary": {"passed": passed, "failed": len(failed), "parsing_errors": parsing_errors},
    }


def test_the_report_is_read_as_checkov_writes_it() -> None:
    finding = Finding("CKV_AWS_18", "/t.json", "AWS::S3::Bucket.Logs", "access logging")
    assert parse_report(json.dumps(_report([finding]))) == (5, [finding])
    assert parse_report(json.dumps([_report([finding]), _report([], 3)])) == (8, [finding])
    with pytest.raises(ScanError, match=r"could not parse \['/broken.yml'\]"):
        parse_report(json.dumps(_report([], parsing_errors=1)))
    with pytest.raises(ScanError, match="no JSON report"):
        parse_report("Traceback ...")


def _fake_checkov(tmp_path: Path, report: Any, status: int) -> str:
    """An executable that prints ``report`` as checkov would and records its arguments."""
    script = tmp_path / "checkov"
    script.write_text(
        f"#!{sys.executable}\nimport sys, json\n"
        f"open({str(tmp_path / 'argv.json')!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        f"print({json.dumps(json.dumps(report))})\nsys.exit({status})\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_the_cli_fails_on_an_unacknowledged_finding_and_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "t.json"
    template.write_text("{}", encoding="utf-8")
    finding = Finding("CKV_AWS_21", str(template), "AWS::S3::Bucket.Data", "versioning")
    checkov = _fake_checkov(tmp_path, _report([finding]), 1)
    assert main(["--checkov", checkov, str(template)]) == 1
    err = capsys.readouterr().err
    assert "not acknowledged: CKV_AWS_21 AWS::S3::Bucket.Data" in err
    argv = json.loads((tmp_path / "argv.json").read_text(encoding="utf-8"))
    assert "--skip-download" in argv  # never asks the vendor's servers for anything
    assert f"--file={template}" in argv


def test_the_cli_passes_when_every_finding_is_acknowledged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "t.json"
    template.write_text("{}", encoding="utf-8")
    finding = Finding("CKV_AWS_18", str(template), "AWS::S3::Bucket.CiCdAccessLogs12", "logging")
    assert main(["--checkov", _fake_checkov(tmp_path, _report([finding]), 1), str(template)]) == 0
    assert "1 failed, each acknowledged" in capsys.readouterr().out


def test_a_scanner_that_cannot_run_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "t.json"
    template.write_text("{}", encoding="utf-8")
    assert main(["--checkov", str(tmp_path / "missing"), str(template)]) == 2
    assert main(["--checkov", _fake_checkov(tmp_path, {}, 3), str(template)]) == 2
    assert main(["--checkov", "x", str(tmp_path / "none.json")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("ERROR: ") for line in lines)
