"""Every dependency is pinned exactly, and one package has one version everywhere."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from tests.baking import PROJECT_TEMPLATE, REPO, tracked_files

PIN = re.compile(r"(?<![\w.-])([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([0-9][^\s\"';,\\)`]*)")
PIN_FILES = re.compile(
    r"(^|/)(requirements[^/]*\.txt|constraints\.txt|[^/]*\.lock|pyproject\.toml|Dockerfile|buildspec[^/]*\.ya?ml|Makefile|dev)$"
)
LOCKS = (
    "requirements-dev.lock",
    f"{PROJECT_TEMPLATE}/constraints.txt",
    f"{PROJECT_TEMPLATE}/requirements-sdk.lock",
    f"{PROJECT_TEMPLATE}/infra/requirements-scan.lock",
)
# Locks of a virtualenv of their own, exempt from "one version everywhere": checkov pins an older
# boto3 (and more) than the project, so it is installed apart from everything else.
ISOLATED = frozenset({f"{PROJECT_TEMPLATE}/infra/requirements-scan.lock"})


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, dict[str, list[str]]]:
    """package -> version -> files pinning it so."""
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for rel in tracked_files():
        if PIN_FILES.search(rel) and rel not in ISOLATED:
            for name, version in PIN.findall((REPO / rel).read_text(encoding="utf-8")):
                found[_normal(name)][version].append(rel)
    return found


def test_one_version_per_package_everywhere() -> None:
    conflicts = {name: dict(versions) for name, versions in pins().items() if len(versions) > 1}
    assert not conflicts, conflicts


@pytest.mark.parametrize("lock", LOCKS)
def test_lock_files_pin_every_line_exactly(lock: str) -> None:
    path = REPO / lock
    lines = [line.split("#")[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    entries = [line for line in lines if line]
    assert len(entries) > 20, f"{lock} looks empty"
    loose = [line for line in entries if not PIN.fullmatch(line.split(";")[0].strip())]
    assert not loose, loose


def test_requirement_files_pin_every_package() -> None:
    """The image's requirements file pins every package with ==."""
    container = REPO / PROJECT_TEMPLATE / "model-build" / "container" / "requirements.txt"
    for raw in container.read_text(encoding="utf-8").splitlines():
        line = raw.split("#")[0].strip()
        if line:
            assert PIN.fullmatch(line), f"{container}: {line!r} is not pinned with =="


def test_image_and_project_share_the_runtime_pins() -> None:
    """The image's requirements are a subset of the project's lock (same versions by the test above)."""
    lock = Path(REPO / LOCKS[1]).read_text(encoding="utf-8")
    container = REPO / PROJECT_TEMPLATE / "model-build" / "container" / "requirements.txt"
    locked = {_normal(name) for name, _ in PIN.findall(lock)}
    for name, _ in PIN.findall(container.read_text(encoding="utf-8")):
        assert _normal(name) in locked, f"{name} is in the image but not in constraints.txt"
