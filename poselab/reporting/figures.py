"""Paper-style comparison figures (matplotlib, Agg): one PNG per experiment/metric, panels per setting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from poselab import style
from poselab.reporting.tables import axis_label, natural, series_label, varying_axes
from poselab.results.reader import Cell
from poselab.results.schema import JDR, METRIC_NAMES, METRIC_UNITS, MPJPE, PMPJPE, TARGET_MPJPE

#: The x axes' labels.
X_LABELS = {"eps": "eps (px, 0..255 scale)", "iterations": "attack iterations"}


@dataclass(frozen=True)
class FigureSpec:
    """A figure: cells of ``experiment``, one row of panels per metric, one panel per ``panel_axis`` value."""

    name: str
    title: str
    experiment: str
    metrics: tuple[str, ...]
    panel_axis: str
    x_axis: str


FIGURE_SPECS: tuple[FigureSpec, ...] = (
    FigureSpec("untargeted_mpjpe", "Untargeted attacks on monocular models: MPJPE P1 and P2 (mm) vs eps "
               "(px), one panel per iteration count", "untargeted", (MPJPE, PMPJPE), "iterations", "eps"),
    FigureSpec("multiview", "Multi-view attacks: JDR (fraction) and MPJPE P1 (mm) vs eps (px), one panel per "
               "number of attacked views", "multiview", (JDR, MPJPE), "attacked_views", "eps"),
    FigureSpec("camera_swap", "Targeted camera swap: MPJPE to the target (mm) vs iterations, one panel per "
               "target camera", "camera_swap", (TARGET_MPJPE,), "target", "iterations"),
    FigureSpec("rotation", "Targeted rotation: MPJPE to the rotated target (mm) vs iterations, one panel per "
               "rotation", "rotation", (TARGET_MPJPE,), "target", "iterations"),
)


def _series(sel: Sequence[Cell], runs: Sequence[str], axes: Sequence[str]) -> list[tuple[str, tuple]]:
    """(run, values of ``axes``) of every series in ``sel``: runs in order, then the values naturally."""
    return sorted({(c.run, tuple(getattr(c, a) for a in axes)) for c in sel},
                  key=lambda k: (runs.index(k[0]) if k[0] in runs else len(runs), natural(k[1])))


def plot_figure(spec: FigureSpec, cells: Sequence[Cell], runs: Sequence[str], path: Path) -> Path | None:
    """Draw ``spec`` from expanded cells into ``path`` (PNG); None if there is nothing to draw. Each series
    (run x the other varying axes) has one style across the figure (one legend); errors in mm that span
    decades get a log axis; series of at most 2 points per panel are drawn as markers side by side."""
    sel = [c for c in cells if c.experiment == spec.experiment and c.metric in spec.metrics]
    metrics = [m for m in spec.metrics if any(c.metric == m for c in sel)]
    if not metrics:
        return None
    panels = sorted({getattr(c, spec.panel_axis) for c in sel}, key=lambda v: (isinstance(v, str), v))
    series_axes = varying_axes(sel, exclude=(spec.panel_axis, spec.x_axis))
    series = _series(sel, runs, series_axes)
    by_run = {run: [k for k in series if k[0] == run] for run in dict.fromkeys(r for r, _ in series)}
    if len(by_run) > 1:  # the run by colour, its settings by line style and marker
        grouped = style.grouped_styles([len(v) for v in by_run.values()])
        styles = {k: st for keys, sts in zip(by_run.values(), grouped) for k, st in zip(keys, sts)}
    else:
        styles = dict(zip(series, style.series_styles(len(series))))
    size = (4.2 * len(panels) + 0.8, 3.4 * len(metrics) + 0.6)
    fig, axes = style.pyplot().subplots(len(metrics), len(panels), figsize=size, squeeze=False, sharex=True)
    for i, metric in enumerate(metrics):
        row = [c for c in sel if c.metric == metric]
        log = METRIC_UNITS[metric] == "mm" and style.spans_decades(c.value for c in row)
        for j, panel in enumerate(panels):
            ax = axes[i][j]
            here = [c for c in row if getattr(c, spec.panel_axis) == panel]
            keys = [k for k in series if any(c.run == k[0] and _key(c, series_axes) == k[1] for c in here)]
            xs = sorted({getattr(c, spec.x_axis) for c in here})
            few = all(len({getattr(c, spec.x_axis) for c in here if (c.run, _key(c, series_axes)) == k}) <= 2
                      for k in keys)
            for k, (run, key) in enumerate(keys):
                pts = sorted((getattr(c, spec.x_axis), c.value) for c in here
                             if c.run == run and _key(c, series_axes) == key)
                label = series_label(run, series_axes, key)
                if few:  # a dot plot: x positions are categories, the series side by side
                    off = (k - (len(keys) - 1) / 2) * 0.6 / max(len(keys), 1)
                    ax.plot([xs.index(p[0]) + off for p in pts], [p[1] for p in pts], label=label,
                            **{**styles[(run, key)].kwargs, "linestyle": "none", "markersize": 7})
                else:
                    style.plot_series(ax, [p[0] for p in pts], [p[1] for p in pts], styles[(run, key)], label)
            if few:
                ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs], fontsize=style.TICK_SIZE)
                ax.set_xlim(-0.6, len(xs) - 0.4)
            elif spec.x_axis == "eps":
                style.eps_axis(ax, xs, X_LABELS["eps"] if i == len(metrics) - 1 else "")
            if i == len(metrics) - 1 and (few or spec.x_axis != "eps"):
                ax.set_xlabel(X_LABELS[spec.x_axis], fontsize=style.LABEL_SIZE)
            if log:
                style.log_axis(ax)
            title = axis_label(spec.panel_axis, panel) if spec.panel_axis != "target" else str(panel)
            unit = METRIC_UNITS[metric] + (", log scale" if log else "")
            style.panel(ax, title, ylabel=f"{METRIC_NAMES[metric]} ({unit})" if j == 0 else None)
    style.figure_legend(fig, axes.flat)
    fig.suptitle(spec.title, fontsize=style.TITLE_SIZE)
    fig.tight_layout()
    return style.save(fig, path)


def _key(cell: Cell, axes: Sequence[str]) -> tuple:
    return tuple(getattr(cell, a) for a in axes)


def plot_figures(cells: Sequence[Cell], runs: Sequence[str], folder: Path) -> dict[str, Path]:
    """All figures that have data, from expanded cells; name -> PNG path."""
    paths = {spec.name: plot_figure(spec, cells, runs, folder / f"{spec.name}.png") for spec in FIGURE_SPECS}
    return {name: path for name, path in paths.items() if path is not None}
