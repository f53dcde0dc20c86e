"""User plug-ins (modules registering their own attacks or experiment kinds at import), imported by name
before poselab reads configs or results (``--run.plugins``, ``--plugin``); results never name code."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

C = TypeVar("C", bound=type)


def import_plugins(modules: Sequence[str]) -> None:
    """Import each module by its dotted name; ValueError naming the one that is no module name, cannot be
    imported or fails while importing (a path or relative import is never a plug-in name)."""
    for name in modules:
        if not isinstance(name, str) or not name or not all(part.isidentifier() for part in name.split(".")):
            raise ValueError(f"plug-in {name!r} is not a dotted module name (e.g. my_attacks or pkg.attacks; "
                             "put its folder on PYTHONPATH instead of giving a path)")
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise ValueError(f"plug-in {name!r} cannot be imported ({err}); is its folder on PYTHONPATH?"
                             ) from None
        except Exception as err:  # noqa: BLE001 - the plug-in's own code failed: one line naming it
            first = str(err).splitlines()[0] if str(err) else ""
            raise ValueError(f"plug-in {name!r} failed while being imported: {type(err).__name__}: {first}"
                             ) from None


class Registry(Generic[C]):
    """Plug-in classes by their ``name`` attribute, in registration order (attacks, experiment kinds).

    ``what``: how messages name an entry (``attack name``); ``unknown(name, names)``: the error of a name not
    registered (``names``: the registered ones, comma-separated); ``reserved``: names no class may take.
    """

    def __init__(self, what: str, unknown: Callable[[Any, str], Exception], reserved: str | None = None):
        self.what, self.unknown, self.reserved = what, unknown, reserved
        self.classes: dict[str, C] = {}

    def register(self, cls: C) -> C:
        """Class decorator: register ``cls`` under ``cls.name`` (a new name, or the same class again)."""
        name = getattr(cls, "name", "")
        if not isinstance(name, str) or not name.isidentifier() or name == self.reserved:
            other = f" other than {self.reserved!r}" if self.reserved else ""
            raise ValueError(f"{self.what.split()[0]} name must be an identifier{other}, got {name!r}")
        if (other_cls := self.classes.get(name, cls)) is not cls:
            raise ValueError(f"{self.what} {name!r} is already registered by {other_cls.__qualname__}")
        self.classes[name] = cls
        return cls

    def unregister(self, name: str) -> None:
        """Remove a registered class (tests and plug-ins that clean up after themselves)."""
        self.classes.pop(name, None)

    def names(self) -> tuple[str, ...]:
        """Registered names, in registration order."""
        return tuple(self.classes)

    def get(self, name: Any) -> C:
        """The class registered under ``name``; ``unknown``'s error naming the registered ones otherwise."""
        try:
            return self.classes[name]
        except (KeyError, TypeError):
            raise self.unknown(name, ", ".join(self.classes)) from None
