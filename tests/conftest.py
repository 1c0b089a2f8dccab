from __future__ import annotations

from pathlib import Path

import pytest

from tests.baking import pristine_copy


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as a fresh clone has it; bakes use this, never the working tree."""
    return pristine_copy(tmp_path_factory.mktemp("template"))
