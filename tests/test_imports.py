"""No import cycles between the modules of the shipped packages (module-level and type-only imports).

A cycle works only while an import stays inside a function; the next refactor that lifts it breaks
the package at import time.
"""

from __future__ import annotations

import ast

from tests.baking import PROJECT_TEMPLATE, REPO

SOURCES = [
    REPO / "service-catalog" / "src",
    *sorted((REPO / PROJECT_TEMPLATE).glob("*/src")),
    *sorted((REPO / PROJECT_TEMPLATE).glob("*/*/src")),
]


def _module_imports(tree: ast.Module) -> set[str]:
    """Modules imported at module level, including ``if TYPE_CHECKING:`` blocks."""
    names: set[str] = set()
    statements = list(tree.body)
    while statements:
        node = statements.pop()
        if isinstance(node, ast.If):
            statements += node.body
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def import_graph() -> dict[str, set[str]]:
    files = {}
    for root in SOURCES:
        for path in root.rglob("*.py"):
            if ".egg-info" not in path.as_posix():
                name = ".".join(path.relative_to(root).with_suffix("").parts)
                files[name.removesuffix(".__init__")] = path
    return {
        name: {
            other
            for other in _module_imports(ast.parse(path.read_text(encoding="utf-8")))
            if other in files and other != name
        }
        for name, path in files.items()
    }


def test_no_import_cycles() -> None:
    graph = import_graph()
    assert "model_build.pipeline" in graph and "service_catalog.publish" in graph
    visiting: list[str] = []
    done: set[str] = set()
    cycles = []

    def visit(name: str) -> None:
        visiting.append(name)
        for other in sorted(graph[name]):
            if other in visiting:
                cycles.append(" -> ".join([*visiting[visiting.index(other) :], other]))
            elif other not in done:
                visit(other)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        if name not in done:
            visit(name)
    assert not cycles, cycles
