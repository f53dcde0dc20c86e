"""Attack results in the shape W&B's own panels compare across runs (pure data; docs/WANDB.md, "What an
attack run logs"): history rows under model-independent keys ``<experiment>/<metric>/<series>`` against a
step metric (:func:`x_axis`), and one numeric results table; extension point: :func:`register_x_axis`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from poselab.results.schema import (
    AXES,
    COLUMNS,
    CORRUPTION,
    CORRUPTION_EXPERIMENT,
    METRICS,
    SEVERITY,
    VIEW_SET,
    clean_covers,
    experiment_axes,
    experiment_names,
    get_experiment,
    is_clean,
)

Row = Mapping[str, Any]

#: Step metrics of the history rows (hidden in W&B's automatic panels; the x axis of the line plots).
EPS, ITERATIONS = "eps", "iterations"
#: experiment -> (W&B step metric, results column holding its value); see :func:`register_x_axis`.
_X_AXES: dict[str, tuple[str, str]] = {}

#: The setting columns of ``results.csv`` (model .. target) plus ``view_set``, ``corruption``, ``severity``.
SETTING_COLUMNS: tuple[str, ...] = (*COLUMNS[: COLUMNS.index("metric")], VIEW_SET, CORRUPTION, SEVERITY)
#: Columns of the numeric results table: settings, one column per metric, samples.
TABLE_COLUMNS: tuple[str, ...] = (*SETTING_COLUMNS, *METRICS, "n")
_NUMERIC = {"eps", "iterations", "attacked_views", SEVERITY, *METRICS, "n"}
#: Key of the numeric results table in an attack run (the report run logs all runs' rows under ``results``).
TABLE_KEY = "attack/results"


def register_x_axis(experiment: str, step_metric: str, column: str | None = None) -> None:
    """Plot ``experiment``'s history against ``step_metric``, read from results column ``column`` (or it)."""
    _X_AXES[experiment] = (step_metric, column or step_metric)


def x_axis(experiment: str) -> tuple[str, str]:
    """(step metric, results column) of an experiment's line plots."""
    if experiment in _X_AXES:
        return _X_AXES[experiment]
    column = get_experiment(experiment).x_axis if experiment in experiment_names() else EPS
    return (column, column)  # eps, iterations (targeted kinds) or severity (0 = the clean row)


def step_metrics() -> list[str]:
    """Every step metric in use (:data:`EPS`, :data:`ITERATIONS` and registered ones)."""
    return list(dict.fromkeys([EPS, ITERATIONS, SEVERITY, *(s for s, _ in _X_AXES.values())]))


def _num(x: float) -> str:
    """8.0 -> "8", 0.25 -> "0p25" (no dots: W&B reads dots in keys as nesting)."""
    f = float(x)
    return str(int(f)) if f.is_integer() else repr(f).replace(".", "p").replace("-", "m")


_AXIS_LABEL = {"iterations": "it", "attacked_views": "v", "eps": "eps"}


def series_axes(experiment: str) -> tuple[str, ...]:
    """The axes naming a series of ``experiment`` (its compared axes without the x axis)."""
    _, column = x_axis(experiment)
    axes = experiment_axes(experiment) if experiment in experiment_names() else AXES
    return tuple(a for a in axes if a != column)


def series_label(row: Row) -> str:
    """``igsm_u_it10``, ``igsm_u_it1_v2``, ``igsm_t_eps8_cam2``: the series of a row (attack first)."""
    parts = []
    for axis in series_axes(row["experiment"]):
        if axis == VIEW_SET:
            continue  # named last ("views1+3"), only for explicit subsets
        value = row[axis]
        if axis in ("attack", "target", CORRUPTION):
            if value:
                parts.append(str(value))
        else:
            parts.append(_AXIS_LABEL.get(axis, axis) + _num(value))
    if row.get(VIEW_SET):
        parts.append(f"views{row[VIEW_SET]}")
    if row["experiment"] == CORRUPTION_EXPERIMENT:  # all views vs one camera corrupted
        parts.append(f"v{_num(row['attacked_views'])}")
    return "_".join(parts)


def metric_key(experiment: str, metric: str, series: str) -> str:
    """The model-independent history key of one series: ``<experiment>/<metric>/<series>``."""
    return f"{experiment}/{metric}/{series}"


@dataclass(frozen=True)
class Series:
    """One line of a W&B line plot: history ``key`` over ``step`` (the x axis), points (x, value)."""

    experiment: str
    metric: str
    label: str
    step: str
    points: tuple[tuple[float, float], ...]
    attacked_views: int

    @property
    def key(self) -> str:
        return metric_key(self.experiment, self.metric, self.label)


def series_of(rows: Iterable[Row]) -> list[Series]:
    """Every attacked series of ``rows`` (one run's results rows), in first-seen order. A clean row is the x-0
    point of the series it stands for: every series of its untargeted experiment (eps 0,
    :func:`~poselab.results.schema.clean_covers`), or, in files that write one for a targeted experiment,
    the iteration-0 point of the series with its target. Non-finite values are left out (gaps)."""
    rows = list(rows)
    clean = {(r["experiment"], r["metric"], r.get("target") or ""): float(r["value"])
             for r in rows if is_clean(r)}
    points: dict[tuple[str, str, str], dict[float, float]] = {}
    info: dict[tuple[str, str, str], tuple[int, str]] = {}
    for r in rows:
        if is_clean(r):
            continue
        _, column = x_axis(r["experiment"])
        sid = (r["experiment"], r["metric"], series_label(r))
        value = float(r["value"])
        pts = points.setdefault(sid, {})
        info[sid] = (int(float(r["attacked_views"])), r.get("target") or "")
        if math.isfinite(value):
            pts[float(r[column])] = value
    out = []
    for (e, m, label), pts in points.items():
        views, target = info[(e, m, label)]
        step = x_axis(e)[0]
        if (step == EPS and clean_covers(e, 0.0, 0)) or step == SEVERITY:
            c = clean.get((e, m, ""))
        else:
            c = clean.get((e, m, target)) if step == ITERATIONS else None
        if c is not None and math.isfinite(c):
            pts.setdefault(0.0, c)
        out.append(Series(e, m, label, step, tuple(sorted(pts.items())), views))
    return out


def history_rows(rows: Iterable[Row]) -> list[dict[str, float]]:
    """History rows to log in order: per step metric, one row per x value (increasing) holding that x and
    the value of every series with a point there."""
    by_step: dict[str, dict[float, dict[str, float]]] = {}
    for s in series_of(rows):
        for x, y in s.points:
            by_step.setdefault(s.step, {}).setdefault(x, {})[s.key] = y
    return [{step: x, **values}
            for step in step_metrics() for x, values in sorted(by_step.get(step, {}).items())]


def step_definitions(rows: Iterable[Row]) -> dict[str, str]:
    """key -> step metric of every history key of ``rows`` (for ``define_metric``)."""
    return {s.key: s.step for s in series_of(rows)}


def results_table(rows: Iterable[Row], with_run: bool = False) -> tuple[list[str], list[list[Any]]]:
    """(columns, data) of the numeric results table: one row per setting, :data:`TABLE_COLUMNS` (None where a
    metric is absent or not finite), after a column ``run`` (the rows' run label) ``with_run``."""
    settings: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        setting = {"run": str(r["run"])} if with_run else {}
        setting.update({c: str(r.get(c) or "") for c in SETTING_COLUMNS})
        setting.update(eps=float(r["eps"]), iterations=int(float(r["iterations"])),
                       attacked_views=int(float(r["attacked_views"])),
                       severity=int(float(r.get(SEVERITY) or 0)))
        out = settings.setdefault(tuple(setting.values()), {**setting, **dict.fromkeys(METRICS), "n": 0})
        value = float(r["value"])
        out[r["metric"]] = value if math.isfinite(value) else None
        out["n"] = max(out["n"], int(float(r.get("n") or 0)))
    columns = ["run", *TABLE_COLUMNS] if with_run else list(TABLE_COLUMNS)
    return columns, [[s[c] for c in columns] for s in settings.values()]


def rows_of_runs(runs: Iterable[Any]) -> list[dict[str, Any]]:
    """Results rows (with ``run`` = the label) of :class:`~poselab.results.reader.RunResults`."""
    return [{**asdict(c), "model": r.model, "dataset": r.dataset} for r in runs for c in r.cells]


def column_types(columns: Sequence[str]) -> list[type]:
    """Column types of :func:`results_table`'s columns (float for numbers, str otherwise)."""
    return [float if c in _NUMERIC else str for c in columns]
