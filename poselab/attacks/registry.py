"""Attacks by name: ``register_attack`` adds a class, experiment specs and the results reader look names up.

    @register_attack
    class MyAttack(Attack):
        name = "my_attack"
        def step(self, ball, x, grad, signed_alpha): ...

A registered name may appear in an experiment's ``attack:`` list, in ``results.csv`` rows and in
``poselab report``; nothing else has to change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from poselab.attacks.base import Attack

A = TypeVar("A", bound="type[Attack]")

_REGISTRY: dict[str, type[Attack]] = {}


def register_attack(cls: A) -> A:
    """Class decorator: register ``cls`` under ``cls.name`` (a new name, or the same class again)."""
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not name.isidentifier() or name == "clean":
        raise ValueError(f"attack name must be an identifier other than 'clean', got {name!r}")
    if _REGISTRY.get(name, cls) is not cls:
        raise ValueError(f"attack name {name!r} is already registered by {_REGISTRY[name].__qualname__}")
    _REGISTRY[name] = cls
    return cls


def unregister_attack(name: str) -> None:
    """Remove a registered attack (tests and plug-ins that clean up after themselves)."""
    _REGISTRY.pop(name, None)


def attack_names() -> tuple[str, ...]:
    """Registered attack names, in registration order."""
    return tuple(_REGISTRY)


def get_attack(name: str) -> type[Attack]:
    """The attack class registered under ``name``; ``ValueError`` naming the registered ones otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown attack {name!r}; registered: {', '.join(_REGISTRY) or 'none'} "
                         "(add one with poselab.attacks.register_attack)") from None
