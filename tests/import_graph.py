"""The package's import graph, read with the standard library's ``ast``: who imports whom.

Used by tests/test_architecture.py (the import rules) and tests/test_docker.py (what the
serving image must ship).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from paths import ROOT

PACKAGE = ROOT / "src" / "mlops_course"
SERVING_MAY_IMPORT = ("mlops_course.serving", "mlops_course.model_card", "mlops_course.runtime")


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module
    names: tuple[str, ...]  # names taken with `from target import ...`
    line: int


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(p, package): p for p in sorted(package.rglob("*.py"))}


def _absolute(node: ast.ImportFrom, source: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = source.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(path: Path, modules: dict[str, Path], package: Path = PACKAGE) -> list[Import]:
    """Every import of a package module in ``path``, wherever it stands in the file."""
    source = module_name(path, package)
    root = package.name
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(source, a.name, (), node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(node, source, path.name == "__init__.py")
            # `from pkg import sub` imports the submodule `pkg.sub`
            subs = [a.name for a in node.names if f"{target}.{a.name}" in modules]
            names = tuple(a.name for a in node.names if a.name not in subs)
            found += [Import(source, f"{target}.{s}", (), node.lineno) for s in subs]
            if names or not subs:
                found.append(Import(source, target, names, node.lineno))
    return [i for i in found if i.target == root or i.target.startswith(root + ".")]


def import_graph(package: Path = PACKAGE) -> list[Import]:
    modules = module_files(package)
    return [i for path in modules.values() for i in imports_of(path, modules, package)]


def cycles(edges: list[Import]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:  # Tarjan
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while (member := stack.pop()) != node:
                component.append(member)
            component.append(node)
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def private_imports(edges: list[Import]) -> list[str]:
    return [
        f"{e.source}:{e.line} takes {name} from {e.target}"
        for e in edges
        for name in e.names
        if name.startswith("_") and not name.startswith("__") and e.target != e.source
    ]


def in_serving(module: str) -> bool:
    return module == "mlops_course.serving" or module.startswith("mlops_course.serving.")


def serving_violations(edges: list[Import]) -> list[str]:
    return [
        f"{e.source}:{e.line} imports {e.target}"
        for e in edges
        if in_serving(e.source)
        and e.target != "mlops_course"
        and not any(e.target == m or e.target.startswith(m + ".") for m in SERVING_MAY_IMPORT)
    ]


@cache
def _distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def serving_requirements() -> set[str]:
    names = set()
    for line in (ROOT / "requirements" / "serving.lock").read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)==", line)
        if match:
            names.add(re.sub(r"[-_.]+", "-", match.group(1)).lower())
    return names


def third_party_outside(files: list[Path], allowed: set[str]) -> list[str]:
    """Module-level third-party imports in ``files`` whose distribution is not in ``allowed``.

    Imports inside functions are optional dependencies (TensorFlow for a Keras model) and are
    only paid for when used.
    """
    problems = []
    for path in files:
        for node in _module_level(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                tops = [(node.module or "").split(".")[0]]
            else:
                continue
            for top in tops:
                if top in sys.stdlib_module_names or top == "mlops_course":
                    continue
                dists = {re.sub(r"[-_.]+", "-", d).lower() for d in _distributions().get(top, [])}
                if not dists & allowed:
                    problems.append(f"{path.name}:{node.lineno} imports {top} ({sorted(dists)})")
    return problems


def _module_level(tree: ast.Module):
    """Statements that run on import: the module body, into if/try blocks, not into defs."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If | ast.Try | ast.With):
            todo += [
                n
                for field in ("body", "orelse", "finalbody", "handlers")
                for n in getattr(node, field, [])
            ]
        elif isinstance(node, ast.ExceptHandler):
            todo += node.body


def serving_closure(edges: list[Import], package: Path = PACKAGE) -> set[str]:
    """The package modules the server needs: serving/ and everything it imports, transitively."""
    todo = {m for m in module_files(package) if in_serving(m)}
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        seen.add(module)
        todo |= {e.target for e in edges if e.source == module} - seen
    return seen
