"""Every seam break of the twin's slow tier still applies to a fresh bake: each old text is found
exactly once where the mutation says (the slow tier fails the same way, but an hour later)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.baking import bake
from tests.seams import MUTATIONS


@pytest.fixture(scope="module")
def project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # the same answers as the slow tier's small bake
    return bake(template, tmp_path_factory.mktemp("seams"), {"git_provider": "github"})


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_each_mutation_applies_exactly_once(project: Path, name: str) -> None:
    mutation = MUTATIONS[name]
    text = (project / mutation.file).read_text(encoding="utf-8")
    for old, new in mutation.edits:
        assert text.count(old) == 1, f"{mutation.file}: {old!r} is not found exactly once"
        text = text.replace(old, new)
