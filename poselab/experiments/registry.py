"""Experiment kinds by name: ``register_experiment`` adds a kind; configs, the engine and readers look it up.

    @register_experiment
    @dataclass
    class MyKind(Experiment):
        name = "my_kind"
        kind: str = "my_kind"
        ...

A registered kind may appear in an attack config's ``experiments:`` list (``kind: my_kind``), in
``results.csv`` rows and in ``poselab report``; nothing else has to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from poselab.experiments.base import AttackConfigError, Experiment

E = TypeVar("E", bound=type[Experiment])

_REGISTRY: dict[str, type[Experiment]] = {}


def register_experiment(cls: E) -> E:
    """Class decorator: register ``cls`` under ``cls.name`` (a new name, or the same class again)."""
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"experiment name must be an identifier, got {name!r}")
    if _REGISTRY.get(name, cls) is not cls:
        raise ValueError(f"experiment kind {name!r} is already registered by {_REGISTRY[name].__qualname__}")
    _REGISTRY[name] = cls
    return cls


def unregister_experiment(name: str) -> None:
    """Remove a registered kind (tests and plug-ins that clean up after themselves)."""
    _REGISTRY.pop(name, None)


def experiment_names() -> tuple[str, ...]:
    """Registered experiment kinds, in registration order."""
    return tuple(_REGISTRY)


def get_experiment(name: str) -> type[Experiment]:
    """The class of kind ``name``; :class:`AttackConfigError` naming the registered kinds otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise AttackConfigError(f"unknown experiment kind {name!r}; expected one of "
                                f"{', '.join(_REGISTRY)}") from None


def build_experiment(cfg: Mapping[str, Any] | Experiment | None = None, /, **options: Any) -> Experiment:
    """A validated experiment from a config mapping (and/or keyword options) with a ``kind``."""
    if isinstance(cfg, Experiment):
        return cfg
    if cfg is not None and not isinstance(cfg, Mapping) or "kind" not in {**(cfg or {}), **options}:
        raise AttackConfigError(f"each experiment must be a mapping with a 'kind' "
                                f"({', '.join(_REGISTRY)}), got {cfg!r}")
    cfg = {**(cfg or {}), **options}
    return get_experiment(cfg["kind"]).from_config(cfg)


def build_experiments(cfgs: Sequence[Mapping[str, Any] | Experiment]) -> list[Experiment]:
    """Validated experiments from a YAML-style list of dicts."""
    if not cfgs:
        raise AttackConfigError("at least one experiment is required")
    return [build_experiment(c) for c in cfgs]
