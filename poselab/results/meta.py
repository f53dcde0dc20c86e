"""The keys of results.json's ``meta`` that readers use beyond the run's names and config: ``preset``
(``{"name", "version", "headline", "overrides"}``, :mod:`poselab.evaluation.presets`; absent without a
preset) and ``flags`` (one :class:`Flag` record per sanity check, :mod:`poselab.evaluation.checks`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: meta key of the preset record.
PRESET = "preset"
#: meta key of the sanity flags.
FLAGS = "flags"


@dataclass
class Flag:
    """One sanity check's outcome: its name, whether it fired, one line saying why, and its numbers."""

    flag: str
    triggered: bool
    detail: str
    values: dict[str, float | int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The results.json record: ``{"flag", "triggered", "detail", **values}``."""
        return {"flag": self.flag, "triggered": bool(self.triggered), "detail": self.detail, **self.values}


def flags_of(meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The flag records of a run's meta (``[]`` for runs written before the checks, or malformed ones)."""
    flags = meta.get(FLAGS)
    if not isinstance(flags, list):
        return []
    return [f for f in flags if isinstance(f, Mapping) and isinstance(f.get("flag"), str)
            and isinstance(f.get("triggered"), bool)]
