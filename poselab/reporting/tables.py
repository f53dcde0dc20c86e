"""The paper's four tables (DESIGN.md) and the robustness table, for one run or several side by side, as
markdown and csv. A multi-view / targeted MPJPE cell prints "-" when every triangulation of the cell failed
(as in the paper) and "*" when some did.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from poselab.results.reader import Cell, samples_ci
from poselab.results.schema import (
    AXES,
    CI_HIGH,
    CI_LOW,
    CLEAN,
    CORRUPTION_EXPERIMENT,
    COUNT_METRICS,
    FAILED,
    JDR,
    METRIC_NAMES,
    METRIC_UNITS,
    MPJPE,
    NEAR_DEGENERATE,
    PMPJPE,
    TARGET_MPJPE,
    VIEW_SET,
    experiment_axes,
    get_experiment,
    is_targeted,
)
from poselab.results.statistics import has_ci
from poselab.safe_io import atomic_path


@dataclass(frozen=True)
class TableSpec:
    """Which cells a table shows: one experiment and metric, rows along ``row_axis``."""

    name: str
    title: str
    experiment: str
    metric: str
    row_axis: str = "eps"
    #: mark cells whose ``failed`` count (failed triangulations) is > 0 with "*"
    mark_failed: bool = False


#: The footnote of tables with marked cells.
FAILED_NOTE = '"-": every triangulation failed (or no data); "*": some failed, mean over the others.'

TABLE_SPECS: tuple[TableSpec, ...] = (
    TableSpec("t1_untargeted_mpjpe", "Table 1a: untargeted, monocular, MPJPE P1 (mm)", "untargeted", MPJPE),
    TableSpec("t1_untargeted_pmpjpe", "Table 1b: untargeted, monocular, MPJPE P2 (mm)", "untargeted", PMPJPE),
    TableSpec("t2_multiview_jdr", "Table 2a: untargeted, multi-view, JDR (fraction)", "multiview", JDR),
    TableSpec("t2_multiview_mpjpe", "Table 2b: untargeted, multi-view, MPJPE (mm)", "multiview", MPJPE,
              mark_failed=True),
    TableSpec("t2_multiview_failed", "Table 2c: multi-view, failed triangulations (count)", "multiview",
              FAILED),
    TableSpec("t2_multiview_near_degenerate", "Table 2d: multi-view, near-degenerate triangulations (count: "
              "0.001 px moves a joint > 1 mm)", "multiview", NEAR_DEGENERATE),
    TableSpec("t3_camera_swap", "Table 3: targeted camera swap, MPJPE to target (mm)", "camera_swap",
              TARGET_MPJPE, "target", mark_failed=True),
    TableSpec("t4_rotation", "Table 4: targeted rotation, MPJPE to target (mm)", "rotation", TARGET_MPJPE,
              "target", mark_failed=True),
)

#: The robustness table's columns after run, clean, attacked, increase when its runs have CIs.
ROBUST_CI_COLUMNS = ("attacked ci_low", "attacked ci_high", "n")

#: Axes every column label names, even when they take one value (a table says how many iterations / views).
ALWAYS_SHOWN = ("iterations", "attacked_views")

_AXIS_SHORT = {"attack": "", "eps": "eps=", "iterations": "it=", "attacked_views": "views=", VIEW_SET: "set=",
               "target": ""}


@dataclass
class Table:
    """A rendered table: ``columns`` (first is the row axis) and ``rows`` of values (None = missing)."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    metric: str
    #: (row, column) indices of cells printed with "*" (see :data:`FAILED_NOTE`)
    marks: set[tuple[int, int]] = field(default_factory=set)
    note: str = ""
    #: decimals of columns that are not in the metric's unit (e.g. ratios), by column name
    digits: dict[str, int] = field(default_factory=dict)
    #: 95 % CIs (low, high) of cells, by (row index, column name), where the rows' cells carried them
    cis: dict[tuple[int, str], tuple[float, float]] = field(default_factory=dict)

    def to_markdown(self) -> str:
        digits = 3 if self.metric == JDR else 0 if self.metric in COUNT_METRICS else 1
        places = [self.digits.get(c, digits) for c in self.columns[1:]]
        head = "| " + " | ".join(self.columns) + " |"
        sep = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.columns))) + "|"
        body = [
            "| " + " | ".join([_fmt_key(row[0])] + [
                _fmt_cell(v, d) + ("*" if (i, j) in self.marks else "")
                for j, (v, d) in enumerate(zip(row[1:], places), 1)
            ]) + " |"
            for i, row in enumerate(self.rows)
        ]
        return "\n".join([f"**{self.title}**", "", head, sep, *body, *(["", self.note] if self.note else [])])

    def write_csv(self, path: Path) -> None:
        with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
            csv.writer(f).writerows([self.columns, *self.rows])  # None is written as ""


def _fmt_key(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _fmt_cell(v: Any, digits: int) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return "-" if math.isnan(v) else f"{v:.{digits}f}"
    return str(v)


def expand_clean(cells: Sequence[Cell]) -> list[Cell]:
    """Replace clean cells by the zero point of every attacked series of the same run and metric: eps 0
    (untargeted/multi-view), else iteration 0 of the series with the same target. Attacked cells are never
    overwritten; a clean cell with no series stays."""
    attacked = [c for c in cells if c.attack != CLEAN]
    out = list(attacked)
    have = {(c.run, c.experiment, c.metric, c.setting()) for c in out}
    for c in cells:
        if c.attack != CLEAN:
            continue
        axis = "iterations" if is_targeted(c.experiment) else "eps"
        series = {
            o.setting()
            for o in attacked
            if (o.run, o.experiment, o.metric) == (c.run, c.experiment, c.metric)
            and (axis == "eps" or o.target == c.target)
        }
        if not series:
            out.append(c)
            continue
        for s in sorted(series, key=str):
            fields = dict(zip(AXES, s))
            fields[axis] = 0.0 if axis == "eps" else 0
            key = (c.run, c.experiment, c.metric, tuple(fields[a] for a in AXES))
            if key not in have:
                have.add(key)
                out.append(replace(c, **fields))
    return out


def natural(key: Sequence[Any]) -> tuple:
    """Sort key of a tuple of axis values: numbers numerically (2 before 10), strings after numbers."""
    return tuple((isinstance(v, str), v) for v in key)


def varying_axes(cells: Sequence[Cell], exclude: Sequence[str]) -> list[str]:
    """Axes of the cells' experiment (minus ``exclude``) that take more than one value among ``cells``;
    ``attack`` is left out when the other axes already determine it (e.g. fgsm = 1 iteration)."""
    experiments = {c.experiment for c in cells}
    axes = [a for a in AXES if all(a in experiment_axes(e) for e in experiments)]
    out = [a for a in axes if a not in exclude and len({getattr(c, a) for c in cells}) > 1]
    if "attack" in out:
        rest = [a for a in axes if a != "attack"]
        by_rest: dict[tuple, set[str]] = {}
        for c in cells:
            by_rest.setdefault((c.run, *(getattr(c, a) for a in rest)), set()).add(c.attack)
        if all(len(v) == 1 for v in by_rest.values()):
            out.remove("attack")
    return out


def axis_label(axis: str, value: Any) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    if axis == VIEW_SET and not text:
        text = "first"  # the first attacked_views views, beside explicit subsets ("1+3")
    return _AXIS_SHORT[axis] + text


def series_label(run: str, axes: Sequence[str], key: Sequence[Any]) -> str:
    return " ".join([run, *(axis_label(a, v) for a, v in zip(axes, key))])


def build_table(spec: TableSpec, cells: Sequence[Cell], runs: Sequence[str]) -> Table | None:
    """Pivot the expanded cells of one experiment/metric: rows along ``spec.row_axis``, one column per
    run and combination of the other varying axes. None if there is no such cell."""
    sel = [c for c in cells if c.experiment == spec.experiment and c.metric == spec.metric]
    if not sel:
        return None
    varying = varying_axes(sel, exclude=(spec.row_axis,))
    shown = [a for a in ALWAYS_SHOWN if a in experiment_axes(spec.experiment) and a != spec.row_axis]
    col_axes = [a for a in AXES if a in varying or a in shown]
    row_keys = sorted({getattr(c, spec.row_axis) for c in sel}, key=lambda v: (isinstance(v, str), v))
    columns: list[tuple[str, tuple]] = []
    for run in runs:
        keys = sorted({tuple(getattr(c, a) for a in col_axes) for c in sel if c.run == run}, key=natural)
        columns.extend((run, k) for k in keys)
    values = {
        (c.run, tuple(getattr(c, a) for a in col_axes), getattr(c, spec.row_axis)): c.value for c in sel
    }
    header = [spec.row_axis] + [series_label(run, col_axes, k) for run, k in columns]
    rows = [
        [axis_label(spec.row_axis, r) if spec.row_axis != "eps" else r]
        + [values.get((run, k, r)) for run, k in columns]
        for r in row_keys
    ]
    marks: set[tuple[int, int]] = set()
    if spec.mark_failed:
        failed = {(c.run, tuple(getattr(c, a) for a in col_axes), getattr(c, spec.row_axis)): c.value
                  for c in cells if c.experiment == spec.experiment and c.metric == FAILED}
        marks = {(i, j) for i, r in enumerate(row_keys) for j, (run, k) in enumerate(columns, 1)
                 if (failed.get((run, k, r)) or 0) > 0 and not math.isnan(values.get((run, k, r), math.nan))}
    note = FAILED_NOTE if spec.mark_failed and any(c.metric == FAILED for c in cells
                                                    if c.experiment == spec.experiment) else ""
    return Table(spec.name, spec.title, header, rows, spec.metric, marks, note)


def _other_specs(cells: Sequence[Cell]) -> list[TableSpec]:
    """One table per metric of each registered kind without a paper table or its own section (corruption):
    rows along the kind's ``x_axis``."""
    covered = {s.experiment for s in TABLE_SPECS} | {CORRUPTION_EXPERIMENT}
    found = dict.fromkeys((c.experiment, c.metric) for c in cells if c.experiment not in covered)
    return [TableSpec(f"{e}_{m}", f"{e}: {METRIC_NAMES.get(m, m)} ({METRIC_UNITS.get(m, m)})", e, m,
                      get_experiment(e).x_axis)
            for e, m in found]


#: Experiments whose tables start at the clean error (eps 0), and what Lightning's own test metric covers.
CLEAN_TABLES = ("untargeted", "multiview")
LIGHTNING_TEST = "Lightning's test/mpjpe averages every view of every test batch"


def _views_fed(meta: Mapping[str, Any], experiment: str) -> str:
    """The views an experiment fed the model, from a results.json ``meta`` (cameras numbered from 1)."""
    if experiment == "multiview":
        return "all views"
    specs = [s for s in (meta.get("config") or {}).get("experiments") or []
             if isinstance(s, Mapping) and s.get("kind") == experiment]
    views = specs[0].get("input_views") if specs else None
    if not views:
        return "views not recorded"
    cams = ", ".join(str(int(v) + 1) for v in views)
    return f"camera{'s' if len(views) > 1 else ''} {cams}"


def clean_note(cells: Sequence[Cell], experiment: str, metas: Mapping[str, Mapping[str, Any]]) -> str:
    """What the eps-0 (clean) row of an experiment's table covers, per run: the views fed and the samples
    (``n`` of the clean cells), beside what Lightning's printed ``test/mpjpe`` covers ("" without clean
    cells)."""
    parts = []
    for run, meta in metas.items():
        clean = [c for c in cells if c.run == run and c.experiment == experiment and c.attack == CLEAN
                 and c.metric != FAILED]
        if clean:
            parts.append(f"{run} {_views_fed(meta, experiment)}, {clean[0].n} samples")
    if not parts:
        return ""
    return f"eps 0 = the clean error of the attacked inputs: {'; '.join(parts)} ({LIGHTNING_TEST})."


def build_tables(cells: Sequence[Cell], runs: Sequence[str],
                 jdr_definitions: Mapping[str, str] | None = None,
                 metas: Mapping[str, Mapping[str, Any]] | None = None) -> list[Table]:
    """All paper tables that have data, from aligned (not yet expanded) cells; the JDR table's title names
    each run's JDR definition (``jdr_definitions``: run label -> name); with ``metas`` (run label ->
    results.json meta) the tables that start at the clean error get :func:`clean_note`."""
    expanded = expand_clean(cells)
    named = sorted(set((jdr_definitions or {}).values()))
    tables = []
    for spec in (*TABLE_SPECS, *_other_specs(cells)):
        if (t := build_table(spec, expanded, runs)) is None:
            continue
        if metas is not None and spec.experiment in CLEAN_TABLES \
                and (note := clean_note(cells, spec.experiment, metas)):
            t.note = f"{t.note}\n\n{note}" if t.note else note
        if t.metric == JDR and jdr_definitions:
            per_run = "; ".join(f"{r}: {d}" for r, d in jdr_definitions.items())
            t.title = f"{t.title}, definition {named[0] if len(named) == 1 else per_run}"
        tables.append(t)
    return tables


def robustness_table(cells: Sequence[Cell], runs: Sequence[str],
                     samples: Mapping[str, Mapping[tuple, Mapping]] | None = None) -> Table | None:
    """Clean vs robust error per run: untargeted MPJPE P1 (mm) clean and at the strongest setting all runs
    share (largest eps, then most iterations). With the runs' per-sample values (``samples``: run ->
    :func:`~poselab.results.reader.read_samples`), the increase's paired 95 % CI goes to ``Table.cis``."""
    sel = [c for c in expand_clean(cells) if c.experiment == "untargeted" and c.metric == MPJPE]
    attacked = [c for c in sel if c.eps > 0]
    if not attacked:
        return None
    by_run = {r: {c.key() for c in attacked if c.run == r} for r in runs}
    shared = set.intersection(*(s for s in by_run.values() if s)) if any(by_run.values()) else set()
    if not shared:
        return None
    strongest = max(shared, key=lambda s: (s[1], s[2], str(s)))
    label = " ".join(axis_label(a, v) for a, v in zip(experiment_axes("untargeted"), strongest))
    rows: list[list[Any]] = []
    increase_cis: dict[tuple[int, str], tuple[float, float]] = {}
    for r in runs:
        zero = [c for c in sel if c.run == r and c.eps == 0]
        clean = next((c.value for c in zero if (c.attack, c.iterations) == (strongest[0], strongest[2])),
                     zero[0].value if zero else None)
        cell = next((c for c in sel if c.run == r and c.key() == strongest), None)
        if cell is None:
            continue
        cleans = [c for c in cells if c.run == r and c.experiment == "untargeted" and c.metric == MPJPE
                  and c.attack == CLEAN]
        if clean is not None and len(cleans) == 1:
            ci = samples_ci([(cell, 1.0), (cleans[0], -1.0)], (samples or {}).get(r, {}))
            if has_ci(ci):
                increase_cis[(len(rows), "increase")] = ci
        rows.append([r, clean, cell.value, None if clean is None else cell.value - clean,
                     cell.ci_low, cell.ci_high, cell.n])
    with_ci = any(has_ci({CI_LOW: row[4], CI_HIGH: row[5]}) for row in rows)
    title = f"Clean vs robust error: untargeted MPJPE P1 (mm), attacked = {label}" + (
        ", with the 95 % bootstrap CI of the attacked MPJPE and its samples" if with_ci else "")
    columns = ["run", "clean", "attacked", "increase", *(ROBUST_CI_COLUMNS if with_ci else ())]
    return Table("robustness", title, columns, rows if with_ci else [row[:4] for row in rows], MPJPE,
                 digits={"n": 0}, cis=increase_cis)
