"""Experiment kinds by name (a :class:`~poselab.plugins.Registry`; docs/EXTENDING.md) for configs, readers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from poselab.experiments.base import AttackConfigError, Experiment
from poselab.plugins import Registry

_REGISTRY: Registry[type[Experiment]] = Registry("experiment kind", lambda name, names: AttackConfigError(
    f"unknown experiment kind {name!r}; expected one of {names}"))
register_experiment = _REGISTRY.register
unregister_experiment = _REGISTRY.unregister
experiment_names = _REGISTRY.names
get_experiment = _REGISTRY.get


def build_experiment(cfg: Mapping[str, Any] | Experiment | None = None, /, **options: Any) -> Experiment:
    """A validated experiment from a config mapping (and/or keyword options) with a ``kind``."""
    if isinstance(cfg, Experiment):
        return cfg
    if cfg is not None and not isinstance(cfg, Mapping) or "kind" not in {**(cfg or {}), **options}:
        raise AttackConfigError(f"each experiment must be a mapping with a 'kind' "
                                f"({', '.join(experiment_names())}), got {cfg!r}")
    cfg = {**(cfg or {}), **options}
    return get_experiment(cfg["kind"]).from_config(cfg)


def build_experiments(cfgs: Sequence[Mapping[str, Any] | Experiment]) -> list[Experiment]:
    """Validated experiments from a YAML-style list of dicts."""
    if not cfgs:
        raise AttackConfigError("at least one experiment is required")
    return [build_experiment(c) for c in cfgs]
