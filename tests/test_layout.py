"""The package reads one way down: no import cycle between its top-level parts, the service never
imports the Envoy config generator, and no module is over 500 lines.

`python -m tests.test_layout` prints the import graph between the parts.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "plano_extproc"
MAX_LINES = 500
# Only the command line runs the generator (envoy-config, up); the service runs without it.
MAY_IMPORT_THE_GENERATOR = {"cli", "envoy"}


def _modules() -> list[Path]:
    return [path for path in PACKAGE.rglob("*.py") if "generated" not in path.parts]


def _part(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imported_parts(path: Path) -> set[str]:
    parts = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        parts |= {name.split(".")[1] for name in names if name.startswith("plano_extproc.")}
    return parts


def import_graph() -> dict[str, set[str]]:
    """Each top-level part → the other parts its modules import."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in _modules():
        source = _part(path)
        graph[source] |= _imported_parts(path) - {source}
    return dict(graph)


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        for target in graph.get(stack.pop(), ()):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def test_no_import_cycle_between_the_packages_parts() -> None:
    graph = import_graph()
    cycles = {part for part in graph if part in _reachable(graph, part)}
    assert not cycles, f"parts in an import cycle: {sorted(cycles)}"


def test_the_service_never_imports_the_envoy_generator() -> None:
    importers = {part for part, targets in import_graph().items() if "envoy" in targets}
    assert importers <= MAY_IMPORT_THE_GENERATOR


def test_no_module_is_over_500_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in _modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long


if __name__ == "__main__":
    for part, targets in sorted(import_graph().items()):
        print(f"{part} -> {', '.join(sorted(targets))}")
