"""No import cycles: between modules, and between the packages that show the architecture.

Only module-level imports count (an import inside a function is loaded on use
and cannot deadlock a partial import); ``if TYPE_CHECKING:`` blocks are for
mypy only. ``datacheck.backends`` is two packages for this purpose: the numpy
views the run engine reads, and the TF backend that feeds the engine.
"""

from __future__ import annotations

import ast
from pathlib import Path

import datacheck

PACKAGE = Path(datacheck.__file__).parent
#: Subpackages that are layers of their own.
SPLIT = ("datacheck.backends.numpy", "datacheck.backends.tf")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, (ast.If, ast.Try)):
            out += _top_level(node.body) + _top_level(node.orelse)
            for handler in getattr(node, "handlers", []):
                out += _top_level(handler.body)
        else:
            out.append(node)
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in _top_level(ast.parse(path.read_text(encoding="utf-8")).body):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        found |= {t for t in targets if t in modules and t != name}
    return found


def _layer(module: str) -> str:
    for split in SPLIT:
        if module == split or module.startswith(split + "."):
            return split
    return ".".join(module.split(".")[:2])


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_modules() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_no_import_cycle_between_packages() -> None:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if name == "datacheck":
            continue
        for target in _imports(name, path, modules):
            if target != "datacheck" and _layer(target) != _layer(name):
                graph.setdefault(_layer(name), set()).add(_layer(target))
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])
