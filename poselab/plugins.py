"""User plug-ins: modules imported by name before poselab reads configs or results.

A plug-in module registers its own attacks (:func:`poselab.attacks.register_attack`) or other registered
pieces at import. ``poselab test --run.plugins '[my_attacks]'`` and ``poselab report --plugin my_attacks``
import them, so a new attack needs no change to poselab. Results files never name code to import.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence


def import_plugins(modules: Sequence[str]) -> None:
    """Import each module by its dotted name; ValueError naming the one that cannot be imported."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise ValueError(f"plug-in {name!r} cannot be imported ({err}); is its folder on PYTHONPATH?"
                             ) from None
