from __future__ import annotations

from pathlib import Path

import pytest

from tests.baking import pristine_copy


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as a fresh clone has it; bakes use this, never the working tree."""
    return pristine_copy(tmp_path_factory.mktemp("template"))


# Under pytest-xdist (`./dev test`: --dist loadscope) each module runs on one worker, so module-scoped
# fixtures are built once. The longest module (the twin: about half the slow tier) starts first.
LONGEST_MODULE = "test_twin.py"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first, the longest module before the others (a stable sort): the minutes-long
    ones start at once and the quick ones fill the gaps, so the two workers finish together."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("slow") is None,
            item.path.name != LONGEST_MODULE,
        )
    )
