"""The second, independent IaC scan: checkov over every CloudFormation template the project deploys.

cdk-nag checks the stack while it is synthesized; checkov (written by others, with its own rules) reads
the templates as CloudFormation gets them: the synthesized CI/CD stack, ``model-deploy/endpoint.yml``
and the target-account bootstrap. Every failed check must be acknowledged, with its reason, in
``infra/scan-acknowledged.toml``; anything else fails the scan. checkov runs from its own virtualenv
(``make scan`` creates it from ``infra/requirements-scan.lock``: it pins an older boto3 than the
project's) and is never asked to download anything (``--skip-download``: no network).

``python -m project_infra.scan [--checkov PATH] TEMPLATE...`` prints one line per unacknowledged
finding and exits 1, or one summary line and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

INFRA = Path(__file__).resolve().parents[2]
ACKNOWLEDGED = INFRA / "scan-acknowledged.toml"
CHECK_ID = re.compile(r"CKV2?_AWS_[0-9]+")
MIN_REASON = 20  # characters: a reason someone can check, not "ok"


class ScanError(RuntimeError):
    """The scan could not run or its acknowledgements are malformed; one line."""


@dataclass(frozen=True)
class Finding:
    check: str  # CKV_AWS_116
    file: str  # as checkov names it
    resource: str  # <Type>.<LogicalId>, e.g. AWS::Lambda::Function.CiCdCleanupFunctionA85000B9
    name: str

    def line(self) -> str:
        return f"{self.check} {self.resource} ({self.file}): {self.name}"


@dataclass(frozen=True)
class Acknowledgement:
    check: str
    resources: tuple[str, ...]  # shell-style patterns over Finding.resource
    reason: str

    def covers(self, finding: Finding) -> bool:
        return finding.check == self.check and any(
            fnmatchcase(finding.resource, pattern) for pattern in self.resources
        )


def load_acknowledgements(path: Path = ACKNOWLEDGED) -> list[Acknowledgement]:
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("acknowledged", [])
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ScanError(f"{path}: {error}") from error
    found = []
    for index, entry in enumerate(entries, 1):
        check, resources, reason = (
            entry.get("check"),
            entry.get("resources"),
            entry.get("reason", ""),
        )
        where = f"{path.name}: acknowledgement {index}"
        if not isinstance(check, str) or not CHECK_ID.fullmatch(check):
            raise ScanError(f"{where}: check={check!r}; allowed: a checkov id such as CKV_AWS_18")
        if (
            not isinstance(resources, list)
            or not resources
            or not all(isinstance(r, str) and "." in r for r in resources)
        ):
            raise ScanError(
                f"{where} ({check}): resources={resources!r}; allowed: a non-empty list of "
                "'<Type>.<LogicalId>' patterns"
            )
        if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON:
            raise ScanError(
                f"{where} ({check}): reason={reason!r}; allowed: why the finding is accepted "
                f"(at least {MIN_REASON} characters)"
            )
        found.append(Acknowledgement(check, tuple(resources), reason.strip()))
    return found


def parse_report(text: str) -> tuple[int, list[Finding]]:
    """(passed checks, failed checks) of checkov's ``--output json``."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ScanError(f"checkov printed no JSON report ({error}): {text[:200]!r}") from error
    reports = document if isinstance(document, list) else [document]
    passed, findings = 0, []
    for report in reports:
        summary = report.get("summary", {})
        if summary.get("parsing_errors"):
            files = report.get("results", {}).get("parsing_errors", [])
            raise ScanError(f"checkov could not parse {files or 'a template'}")
        passed += int(summary.get("passed", 0))
        for failed in report.get("results", {}).get("failed_checks", []):
            findings.append(
                Finding(
                    failed["check_id"],
                    failed["file_path"],
                    failed["resource"],
                    failed["check_name"],
                )
            )
    return passed, findings


def run_checkov(checkov: str, templates: Sequence[Path]) -> tuple[int, list[Finding]]:
    missing = [str(t) for t in templates if not t.is_file()]
    if missing:
        raise ScanError(f"no such template: {missing[0]}")
    command = [
        checkov,
        "--framework",
        "cloudformation",
        "--output",
        "json",
        "--quiet",
        "--compact",
        "--skip-download",
        *(f"--file={template}" for template in templates),
    ]
    env = {k: v for k, v in os.environ.items() if k not in {"BC_API_KEY", "PRISMA_API_URL"}}
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    except OSError as error:
        raise ScanError(
            f"cannot run checkov {checkov!r} ({error}): run `make scan` once"
        ) from error
    if done.returncode not in (0, 1):  # 1: failed checks (the report says which)
        raise ScanError(f"checkov exited {done.returncode}: {done.stderr.strip()[-300:]}")
    passed, findings = parse_report(done.stdout)
    if not passed and not findings:
        raise ScanError(f"checkov checked nothing in {', '.join(map(str, templates))}")
    return passed, findings


def unacknowledged(
    findings: Sequence[Finding], acknowledgements: Sequence[Acknowledgement]
) -> list[Finding]:
    return [f for f in findings if not any(a.covers(f) for a in acknowledgements)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scan", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkov",
        default=os.environ.get("CHECKOV", ""),
        help="the checkov executable (env CHECKOV; `make scan` sets it)",
    )
    parser.add_argument("templates", nargs="+", type=Path)
    args = parser.parse_args(argv)
    try:
        if not args.checkov:
            raise ScanError("no checkov: pass --checkov or set CHECKOV (`make scan` does both)")
        acknowledgements = load_acknowledgements()
        passed, findings = run_checkov(args.checkov, args.templates)
    except ScanError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2
    left = unacknowledged(findings, acknowledgements)
    for finding in left:
        print(f"not acknowledged: {finding.line()}", file=sys.stderr)
    if left:
        print(
            f"scan: {len(left)} failed check(s) not acknowledged: fix the template or add each, "
            f"with its reason, to {ACKNOWLEDGED}",
            file=sys.stderr,
        )
        return 1
    print(
        f"scan: {passed} checks passed, {len(findings)} failed, each acknowledged "
        f"({len(args.templates)} templates)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
