"""Attacks by name: ``register_attack`` adds a class (docs/EXTENDING.md); experiment specs and the results
reader look names up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from poselab.plugins import Registry

if TYPE_CHECKING:
    from poselab.attacks.base import Attack

_REGISTRY: Registry[type[Attack]] = Registry("attack name", lambda name, names: ValueError(
    f"unknown attack {name!r}; registered: {names or 'none'} (add one with poselab.attacks.register_attack)"),
    reserved="clean")
#: Class decorator: register an attack class under its ``name`` (a new name, or the same class again).
register_attack = _REGISTRY.register
#: Remove a registered attack (tests and plug-ins that clean up after themselves).
unregister_attack = _REGISTRY.unregister
#: Registered attack names, in registration order.
attack_names = _REGISTRY.names
#: The attack class registered under a name; ``ValueError`` naming the registered ones otherwise.
get_attack = _REGISTRY.get
