"""No two modules of a bake share a name with different meanings.

A name a bake uses twice is allowed only for the meaning stated here: the same role in parallel
packages (each job's own command line), or the twin standing in for the infra module of that name.
A new pair fails until it is renamed or its shared meaning is written down below.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import PurePosixPath

from tests.test_bake_matrix import EXPECTED_FILES, MULTI_ACCOUNT_ONLY

CONVENTIONAL = {"__init__.py", "__main__.py", "conftest.py"}  # Python's and pytest's own names

SHARED_MEANINGS = {
    "cli.py": "a job's command line (model_build's console scripts, the drift and quality jobs)",
    "options.py": "where a command line's values come from and their one-line errors",
    "inputs.py": "what a monitoring job reads (drift; model quality)",
    "report.py": "the HTML page a step writes (evaluation, drift, model quality)",
    "samples.py": "sample data shaped as AWS writes it (labelled captures; the twin's events)",
    "registry.py": "the model registry: the local stand-in that stores packages, the image's reader",
    "monitoring.py": "drift monitoring: `make local-monitor`'s run, the infra's schedule and alarm",
    "quality.py": "the model-quality job: `make local-monitor-quality`'s run, the twin's stage 5c",
    "project_name.py": "the Custom::ProjectName resource: the infra's, the twin's stand-in for it",
    "cleanup.py": "the Custom::ProjectCleanup resource: the infra's, the twin's stand-in for it",
    "network_check.py": "`make check-network`: the infra's, the twin's stand-in for it",
    "train.py": "the image's `train` entry point and the test stand-in for it",
    "test_names.py": "tests of derived resource names (the names package; the stack's use of them)",
}


def modules_by_name() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(EXPECTED_FILES | MULTI_ACCOUNT_ONLY):
        name = PurePosixPath(path).name
        if name.endswith(".py") and name not in CONVENTIONAL:
            found[name].append(path)
    return found


def test_every_shared_module_name_has_one_stated_meaning() -> None:
    shared = {name: paths for name, paths in modules_by_name().items() if len(paths) > 1}
    unexplained = {name: paths for name, paths in shared.items() if name not in SHARED_MEANINGS}
    assert not unexplained, (
        "modules sharing a name: rename one, or state their shared meaning in SHARED_MEANINGS: "
        f"{unexplained}"
    )
    # A stated meaning whose pair is gone is stale: drop it.
    assert set(SHARED_MEANINGS) <= set(shared), set(SHARED_MEANINGS) - set(shared)


def test_the_names_the_design_review_found_are_gone() -> None:
    """settings/checks/steps/training/app each meant two things; the test folder was named twice."""
    names = modules_by_name()
    for name in ("settings.py", "checks.py", "steps.py", "app.py"):
        assert len(names.get(name, [])) <= 1, names[name]
    assert not ({"train.py", "training.py"} <= set(names)), "train.py beside training.py"
    assert not any(path.startswith("model-deploy/test/") for path in EXPECTED_FILES)
