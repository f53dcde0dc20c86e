"""YAML with bounded alias expansion: a "billion laughs" file is refused before a reader (jsonargparse's
merges and deep copies) walks its expanded size, by counting the composed document's nodes, aliases expanded
(memoised: linear in the file)."""

from __future__ import annotations

from typing import Any

import yaml

#: Most YAML nodes (aliases expanded) in one document; the shipped configs have at most about a thousand.
MAX_NODES = 50_000


class YAMLTooLargeError(yaml.YAMLError):
    """A YAML document whose aliases expand beyond :data:`MAX_NODES` nodes (or refer to themselves)."""


def expanded_nodes(node: yaml.Node, limit: int = MAX_NODES) -> int:
    """Nodes of ``node`` with every alias expanded, counted up to past ``limit``; :class:`YAMLTooLargeError`
    for a recursive alias."""
    sizes: dict[int, int] = {}
    busy: set[int] = set()

    def size(n: yaml.Node) -> int:
        key = id(n)
        if key in sizes:
            return sizes[key]
        if key in busy:
            raise YAMLTooLargeError("a YAML alias refers to the node that contains it (a recursive alias)")
        busy.add(key)
        total = 1
        if isinstance(n, yaml.CollectionNode):  # a mapping's value: (key, value) pairs
            for child in n.value:
                total += sum(size(c) for c in child) if isinstance(n, yaml.MappingNode) else size(child)
                if total > limit:
                    break
        busy.discard(key)
        sizes[key] = total
        return total

    return size(node)


def check_expansion(stream: str | bytes, loader: type = yaml.SafeLoader, limit: int = MAX_NODES) -> None:
    """Raise :class:`YAMLTooLargeError` when a document of ``stream`` expands beyond ``limit`` nodes."""
    composer = loader(stream)
    try:
        while composer.check_node():
            node = composer.get_node()
            if node is not None and expanded_nodes(node, limit) > limit:
                raise YAMLTooLargeError(
                    f"YAML document expands to more than {limit:,} nodes through its aliases (&anchor / "
                    "*alias); refused (poselab.yaml_limits.MAX_NODES)")
    finally:
        composer.dispose()


def safe_load(stream: str | bytes) -> Any:
    """``yaml.safe_load`` after :func:`check_expansion`."""
    check_expansion(stream)
    return yaml.safe_load(stream)


def install_jsonargparse_limit() -> None:
    """Make jsonargparse's YAML loader check the expansion first (idempotent)."""
    from jsonargparse import get_loader, set_loader
    from jsonargparse._loaders_dumpers import get_yaml_default_loader

    current = get_loader("yaml")
    if getattr(current, "_expansion_checked", False):
        return

    def load(stream: str) -> Any:
        check_expansion(stream, get_yaml_default_loader())
        return current(stream)

    load._expansion_checked = True  # type: ignore[attr-defined]
    set_loader("yaml", load, exceptions=(yaml.YAMLError,))
