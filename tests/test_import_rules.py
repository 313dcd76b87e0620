"""The layout rules, read from the source with `ast`: only `lib/render/` (with `app_pages/` and
`app.py`) imports Streamlit, and no two `lib` packages import each other, even through others
or from inside a function."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

from lib.config import PROJECT_ROOT

LIB = PROJECT_ROOT / "lib"
DRAWS_WITH_STREAMLIT = LIB / "render"


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> Iterator[tuple[str, int]]:
    """Every module `path` imports (top level or inside functions), with its line number."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                yield ".".join([*base, *([node.module] if node.module else [])]), node.lineno
            else:
                yield node.module or "", node.lineno


def lib_package(module: str) -> str | None:
    """`lib.widgets.view` -> `lib.widgets`; a module directly in lib is a package of its own."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "lib" and len(parts) > 1 else None


def lib_sources() -> list[Path]:
    return sorted(LIB.rglob("*.py"))


def test_only_lib_render_imports_streamlit() -> None:
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}:{line} imports {module}"
        for path in lib_sources()
        if not path.is_relative_to(DRAWS_WITH_STREAMLIT)
        for module, line in imported_modules(path)
        if module == "streamlit" or module.startswith("streamlit.")
    ]
    assert offenders == []


def package_imports() -> dict[str, dict[str, str]]:
    """package -> {imported package: where (file:line of the first such import)}."""
    graph: dict[str, dict[str, str]] = {}
    for path in lib_sources():
        source = lib_package(module_name(path))
        if source is None:
            continue  # lib/__init__.py belongs to no package of its own
        for module, line in imported_modules(path):
            target = lib_package(module)
            if target is not None and target != source:
                where = f"{path.relative_to(PROJECT_ROOT)}:{line}"
                graph.setdefault(source, {}).setdefault(target, where)
    return graph


def find_cycle(graph: dict[str, dict[str, str]]) -> list[str]:
    """One cycle of the graph as its packages in order (first == last), or [] when none."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        for target in graph.get(node, {}):
            cycle = visit(target, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return []

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return []


def test_no_lib_package_imports_itself_through_others() -> None:
    graph = package_imports()
    cycle = find_cycle(graph)
    steps = [f"{a} -> {b} ({graph[a][b]})" for a, b in itertools.pairwise(cycle)]
    assert steps == []


def test_the_cycle_finder_finds_cycles_through_several_packages() -> None:
    graph = {"a": {"b": "a.py:1"}, "b": {"c": "b.py:1"}, "c": {"a": "c.py:1"}, "d": {"a": ""}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": ""}, "b": {}, "c": {"a": ""}}) == []
