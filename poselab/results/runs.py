"""A run's results as cells (one metric value at one setting), runs aligned for comparison, and the grid a
run belongs to. The reader builds runs from results folders, :func:`run_of` from the engine's rows in memory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from poselab.results.schema import (
    AXES,
    CI_HIGH,
    CI_LOW,
    Setting,
    experiment_axes,
    experiment_names,
    is_clean,
)
from poselab.skeleton import JOINT_NAMES

#: The JDR definition of result files written before the definition was recorded (the only one then).
LEGACY_JDR = "head_thorax"


@dataclass(frozen=True)
class RunSetting(Setting):
    """A setting (:class:`~poselab.results.schema.Setting`) of the run labelled ``run``."""

    run: str

    def setting(self) -> tuple[Any, ...]:
        """The grid key (attack, eps, iterations, attacked_views, target)."""
        return tuple(getattr(self, a) for a in AXES)

    def key(self) -> tuple[Any, ...]:
        """The grid key along the axes that matter for its experiment (:func:`experiment_axes`)."""
        return tuple(getattr(self, a) for a in experiment_axes(self.experiment))


@dataclass(frozen=True)
class Cell(RunSetting):
    """One metric value at a setting: metric, value (mm / fraction / count), samples ``n`` and the 95 %
    bootstrap CI of the value (NaN: not recorded, files from before, or n < 2)."""

    metric: str
    value: float
    n: int = 0
    ci_low: float = math.nan
    ci_high: float = math.nan


@dataclass(frozen=True)
class JointCell(RunSetting):
    """Per-joint MPJPE (mm) of one run at one setting."""

    joint: str
    mpjpe: float


@dataclass
class RunResults:
    """Everything read from one results folder. ``label`` names the run in tables and figures."""

    path: Path
    model: str
    dataset: str
    label: str
    meta: dict[str, Any]
    cells: list[Cell]
    joints: list[JointCell] = field(default_factory=list)


def recorded_jdr_definition(meta: Mapping[str, Any]) -> str:
    """The JDR definition a results.json ``meta`` records (:data:`LEGACY_JDR` for files from before)."""
    config = meta.get("config") or {}
    return str(config.get("jdr_definition") or LEGACY_JDR)


#: The keys of results.json ``meta["config"]`` that make two runs comparable: the grid and how attacks step.
GRID_CONFIG_KEYS = ("experiments", "alpha_ratio", "random_start")
#: Prefix of the results folders' parent that ``make attack-eval`` writes (``results/attack-quick``).
GRID_FOLDER_PREFIX = "attack-"


def grid_of(meta: Mapping[str, Any], folder: str | Path | None = None) -> str:
    """The grid a run belongs to (runs of different grids are never compared): ``meta["preset"]["name"]``;
    else ``grid-<8 hex>``, a fingerprint of ``meta["config"]``'s :data:`GRID_CONFIG_KEYS`; else
    :func:`folder_grid`; else ``unknown``."""
    preset = meta.get("preset")
    if isinstance(preset, Mapping) and preset.get("name"):
        return str(preset["name"])
    config = meta.get("config")
    if isinstance(config, Mapping) and config.get("experiments"):
        grid = {k: config.get(k) for k in GRID_CONFIG_KEYS}
        text = json.dumps(grid, sort_keys=True, default=str)
        return "grid-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return folder_grid(folder) or "unknown"


def folder_grid(folder: str | Path | None) -> str | None:
    """The grid a results folder's parent names (``.../attack-quick/<run>`` -> ``quick``); None at root."""
    if folder is None:
        return None
    parent = Path(folder).parent.name
    return parent.removeprefix(GRID_FOLDER_PREFIX) or None


def grid_names(runs: Sequence[RunResults]) -> dict[str, list[RunResults]]:
    """Runs by grid (:func:`grid_of`), in first-seen order; a fingerprint ``grid-<hex>`` is named by its
    runs' :func:`folder_grid` when they share one that no other grid has."""
    by_id: dict[str, list[RunResults]] = {}
    for r in runs:
        by_id.setdefault(grid_of(r.meta, r.path), []).append(r)
    folder_names = {gid: {folder_grid(r.path) for r in rs} for gid, rs in by_id.items()}
    out: dict[str, list[RunResults]] = {}
    for gid, rs in by_id.items():
        name, *more = folder_names[gid]
        others = {n for g, ns in folder_names.items() if g != gid for n in ns} | set(by_id)
        readable = gid.startswith("grid-") and not more and name is not None and name not in others
        out[name if readable else gid] = rs
    return out


def run_of(rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any], joints: Sequence[tuple[Mapping, Any]],
           path: str | Path, label: str) -> RunResults:
    """A run from the engine's own typed rows in memory (:func:`~poselab.results.schema.row_of`) and (row,
    per-joint MPJPE (J,) mm) pairs, nothing parsed."""
    fields = [f.name for f in dataclasses.fields(Setting)]
    cells = [Cell(run=label, metric=r["metric"], value=float(r["value"]), n=int(r["n"]),
                  ci_low=float(r.get(CI_LOW, math.nan)), ci_high=float(r.get(CI_HIGH, math.nan)),
                  **{f: r[f] for f in fields}) for r in rows]
    joint_cells = [JointCell(run=label, joint=name, mpjpe=float(v), **{f: r[f] for f in fields})
                   for r, values in joints for name, v in zip(JOINT_NAMES, values.tolist())]
    return RunResults(Path(path), str(meta["model"]), str(meta["dataset"]), label, dict(meta), cells,
                      joint_cells)


def _describe_dropped(dropped: set[tuple], shared: set[tuple], axes: Sequence[str]) -> str:
    """Axis values present in ``dropped`` settings but never in ``shared`` ones, else a count."""
    parts = []
    for i, axis in enumerate(axes):
        only = sorted({s[i] for s in dropped} - {s[i] for s in shared}, key=str)
        if only:
            parts.append(f"{axis} {', '.join(_fmt(v) for v in only)}")
    detail = "; ".join(parts) if parts else "settings not run by the other models"
    return f"{len(dropped)} setting(s) ({detail})"


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else repr(v) if v == "" else str(v)


def identity(cell: Cell) -> dict[str, Any]:
    """What identifies a cell within a run: its setting (every axis) and metric, by field name."""
    return {k: v for k, v in vars(cell).items() if k not in ("run", "value", "n", CI_LOW, CI_HIGH)}


def describe(cell: Cell) -> str:
    """A cell's setting and metric in words (for messages)."""
    return ", ".join(f"{k} {v!r}" for k, v in identity(cell).items() if v != "")


def value_warnings(run: RunResults) -> list[str]:
    """One warning per run with non-finite values (NaN: no sample reached the cell, or a diverged run)."""
    bad = [c for c in run.cells if not math.isfinite(c.value)]
    if not bad:
        return []
    return [f"{run.label}: {len(bad)} value(s) are NaN or inf, e.g. {describe(bad[0])}: {bad[0].value}"]


def scale_warnings(runs: Sequence[RunResults]) -> list[str]:
    """A warning when the compared runs were made at different model scales (results.json ``scale``)."""
    scales = {r.label: r.meta.get("scale") for r in runs}
    if len(set(scales.values())) <= 1:
        return []
    listed = ", ".join(f"{label} {scale or 'unknown'}" for label, scale in scales.items())
    return [f"the compared runs differ in scale ({listed}): their numbers are not comparable "
            "(poselab.scale)"]


def align(runs: Sequence[RunResults]) -> tuple[list[Cell], list[str]]:
    """Cells of all runs restricted, per experiment, to the settings every run with rows of it shares (clean
    rows always stay), and warnings: different scales, NaN/inf values, and what was dropped."""
    cells: list[Cell] = []
    warnings: list[str] = [*scale_warnings(runs), *(w for r in runs for w in value_warnings(r))]
    for exp in experiment_names():
        per_run = {r.label: [c for c in r.cells if c.experiment == exp] for r in runs}
        per_run = {k: v for k, v in per_run.items() if v}
        if not per_run:
            continue
        grids = {k: {c.key() for c in v if not is_clean(c)} for k, v in per_run.items()}
        shared = set.intersection(*grids.values())
        for label, run_cells in per_run.items():
            dropped = grids[label] - shared
            if dropped:
                what = _describe_dropped(dropped, shared, experiment_axes(exp))
                warnings.append(f"{exp}: dropped from {label!r} {what}")
            cells.extend(c for c in run_cells if is_clean(c) or c.key() in shared)
    return cells, warnings
