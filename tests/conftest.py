from __future__ import annotations

from pathlib import Path

import pytest

from tests.baking import pristine_copy


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as a fresh clone has it; bakes use this, never the working tree."""
    return pristine_copy(tmp_path_factory.mktemp("template"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first (a stable sort): under pytest-xdist the minutes-long ones start at once and
    the quick ones fill the gaps, so the workers finish together."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
