"""The import graph of a package, every import counted (module level and lazy, inside functions).

Used by tests/test_architecture.py; runnable for a look: ``python tests/support/import_graph.py [-v]``.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def modules(package: str = "poselab", root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of ``package`` (a package is its ``__init__``)."""
    out = {}
    for path in (root / package).rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def import_graph(package: str = "poselab", root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (anywhere in its file, relative imports resolved)."""
    mods = modules(package, root)

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = defaultdict(set)
    for mod, path in mods.items():
        pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    head = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(head + ([base] if base else []))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                target = resolve(name) if name.split(".")[0] == package else None
                if target and target != mod:
                    graph[mod].add(target)
    return graph


def part(module: str) -> str:
    """The top-level part of a module: ``poselab.results.reader`` -> ``results``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def part_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph between top-level parts (edges inside a part dropped)."""
    out: dict[str, set[str]] = defaultdict(set)
    for a, targets in graph.items():
        for b in targets:
            if part(a) != part(b):
                out[part(a)].add(part(b))
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            comp = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                comp.append(top)
                if top == node:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


if __name__ == "__main__":
    g = import_graph()
    print("module cycles:", cycles(g))
    pg = part_graph(g)
    print("part cycles:", cycles(pg))
    if "-v" in sys.argv:
        for a in sorted(pg):
            print(f"{a} -> {', '.join(sorted(pg[a]))}")
