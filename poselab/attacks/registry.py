"""Attacks by name (a :class:`~poselab.plugins.Registry`; docs/EXTENDING.md) for experiments and readers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from poselab.plugins import Registry

if TYPE_CHECKING:
    from poselab.attacks.base import Attack

_REGISTRY: Registry[type[Attack]] = Registry("attack name", lambda name, names: ValueError(
    f"unknown attack {name!r}; registered: {names or 'none'} (add one with poselab.attacks.register_attack)"),
    reserved="clean")
register_attack = _REGISTRY.register
unregister_attack = _REGISTRY.unregister
attack_names = _REGISTRY.names
get_attack = _REGISTRY.get
