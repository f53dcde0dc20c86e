"""The package's import structure: no cycles, and every import points down the documented layers.

Every import counts, lazy ones (inside functions) included. The layers are docs/ARCHITECTURE.md's
"Dependencies" line; a new top-level part must be placed there and here.
"""

from __future__ import annotations

from support.import_graph import ROOT, cycles, import_graph, part, part_graph

#: Top-level parts of poselab, lowest first; a part may import parts of its own layer or below.
LAYERS: list[set[str]] = [
    {"poselab", "skeleton", "geometry", "paths", "hashing", "safe_io", "_alloc", "distributed", "plugins",
     "cpus", "yaml_limits", "style"},
    {"data", "models", "metrics", "scale"},
    {"attacks", "corruptions"},
    {"experiments", "training"},
    {"results"},
    {"reporting"},
    {"wandb"},
    {"evaluation"},
    {"cli"},
]
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in layer}


def test_no_import_cycle_between_modules() -> None:
    assert cycles(import_graph()) == []


def test_no_import_cycle_between_top_level_parts() -> None:
    assert cycles(part_graph(import_graph())) == []


def test_every_part_is_placed_in_a_layer() -> None:
    parts = {part(m) for m in import_graph()} | {p.stem if p.is_file() else p.name
                                                 for p in (ROOT / "poselab").iterdir()
                                                 if p.suffix == ".py" or (p / "__init__.py").is_file()}
    parts.discard("__init__")
    assert parts <= set(RANK), sorted(parts - set(RANK))


def test_imports_point_down_the_layers() -> None:
    upward = sorted(f"{a} -> {b}" for a, targets in part_graph(import_graph()).items() for b in targets
                    if RANK.get(b, 99) > RANK.get(a, -1))
    assert upward == []


def test_the_checker_sees_lazy_imports_and_cycles(tmp_path) -> None:
    pkg = tmp_path / "toy"
    (pkg / "low").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "low" / "__init__.py").write_text("")
    (pkg / "low" / "a.py").write_text("def f():\n    from toy.high import b\n")
    (pkg / "high.py").write_text("from .low import a\n")
    graph = import_graph("toy", tmp_path)
    assert graph["toy.low.a"] == {"toy.high"} and "toy.low.a" in graph["toy.high"]
    assert cycles(graph) == [["toy.high", "toy.low.a"]]
    assert cycles(part_graph(graph)) == [["high", "low"]]
