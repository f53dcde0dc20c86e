"""The sanity flags of runs (results.json ``meta.flags``, :mod:`poselab.results.meta`) as text: the lines
printed at the end of a run and the report's "Sanity checks" section."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from poselab.results.meta import flags_of
from poselab.results.runs import RunResults


def flag_lines(flags: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per flag: ``[!] name: detail`` when it fired, ``[ok] name: detail`` otherwise."""
    return [f"{'[!]' if f['triggered'] else '[ok]'} {f['flag']}: {f.get('detail', '')}" for f in flags]


def flags_text(meta: Mapping[str, Any]) -> str:
    """The printed block of a run's flags ("" when its meta has none)."""
    flags = flags_of(meta)
    if not flags:
        return ""
    fired = sum(1 for f in flags if f["triggered"])
    head = f"Sanity checks: {fired or 'none'} of {len(flags)} flags raised"
    return "\n".join([head, *(f"  {line}" for line in flag_lines(flags))])


def sanity_section(runs: Sequence[RunResults]) -> list[str]:
    """The report's "Sanity checks" markdown lines for the runs with flags (``[]`` when none has any)."""
    with_flags = [(run, flags) for run in runs if (flags := flags_of(run.meta))]
    if not with_flags:
        return []
    lines = ["", "## Sanity checks", "",
             "A raised flag [!] says the numbers may mislead (its line says why; poselab.evaluation.checks).",
             ""]
    for run, flags in with_flags:
        if len(with_flags) > 1:
            lines += [f"**{run.label}**", ""]
        lines += [f"- {line}" for line in flag_lines(flags)] + [""]
    return lines
