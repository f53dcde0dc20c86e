"""Paper-style comparison figures (matplotlib, Agg): one PNG per experiment/metric, panels per setting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from poselab.reporting.tables import (  # noqa: E402
    METRIC_NAMES,
    METRIC_UNITS,
    axis_label,
    natural,
    series_label,
    varying_axes,
)
from poselab.results.reader import Cell  # noqa: E402
from poselab.results.schema import JDR, MPJPE, PMPJPE, TARGET_MPJPE  # noqa: E402
from poselab.safe_io import save_figure  # noqa: E402


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
    FigureSpec(
        "untargeted_mpjpe",
        "Untargeted, monocular: MPJPE vs eps (one panel per iteration count)",
        "untargeted",
        (MPJPE, PMPJPE),
        "iterations",
        "eps",
    ),
    FigureSpec(
        "multiview",
        "Multi-view: JDR and MPJPE vs eps (one panel per number of attacked views)",
        "multiview",
        (JDR, MPJPE),
        "attacked_views",
        "eps",
    ),
    FigureSpec(
        "camera_swap",
        "Camera swap: MPJPE to target vs iterations (one panel per target camera)",
        "camera_swap",
        (TARGET_MPJPE,),
        "target",
        "iterations",
    ),
    FigureSpec(
        "rotation",
        "Rotation: MPJPE to target vs iterations (one panel per rotation)",
        "rotation",
        (TARGET_MPJPE,),
        "target",
        "iterations",
    ),
)


def plot_figure(spec: FigureSpec, cells: Sequence[Cell], runs: Sequence[str], path: Path) -> Path | None:
    """Draw ``spec`` from expanded cells into ``path`` (PNG); None if there is nothing to draw."""
    sel = [c for c in cells if c.experiment == spec.experiment and c.metric in spec.metrics]
    metrics = [m for m in spec.metrics if any(c.metric == m for c in sel)]
    if not metrics:
        return None
    panels = sorted({getattr(c, spec.panel_axis) for c in sel}, key=lambda v: (isinstance(v, str), v))
    series_axes = varying_axes(sel, exclude=(spec.panel_axis, spec.x_axis))
    fig, axes = plt.subplots(
        len(metrics),
        len(panels),
        figsize=(3.6 * len(panels) + 1.5, 3.0 * len(metrics)),
        squeeze=False,
        sharex=True,
    )
    colors = {run: f"C{i % 10}" for i, run in enumerate(runs)}
    styles = ["-", "--", ":", "-."]
    for i, metric in enumerate(metrics):
        for j, panel in enumerate(panels):
            ax = axes[i][j]
            here = [c for c in sel if c.metric == metric and getattr(c, spec.panel_axis) == panel]
            keys = sorted({(c.run, tuple(getattr(c, a) for a in series_axes)) for c in here},
                          key=lambda k: (runs.index(k[0]) if k[0] in runs else len(runs), natural(k[1])))
            for k, (run, key) in enumerate(keys):
                pts = sorted(
                    (getattr(c, spec.x_axis), c.value)
                    for c in here
                    if c.run == run and tuple(getattr(c, a) for a in series_axes) == key
                )
                ax.plot(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    styles[k % len(styles)],
                    marker="o",
                    ms=3,
                    color=colors.get(run, "k"),
                    label=series_label(run, series_axes, key),
                )
            if spec.x_axis == "eps":
                ax.set_xscale("symlog", linthresh=0.25)
                ticks = sorted({getattr(c, spec.x_axis) for c in here})
                ax.set_xticks(ticks, [f"{t:g}" for t in ticks], fontsize=8)
                ax.minorticks_off()
            ax.set_title(
                axis_label(spec.panel_axis, panel) if spec.panel_axis != "target" else str(panel), fontsize=9
            )
            ax.grid(alpha=0.3)
            if j == 0:
                ax.set_ylabel(f"{METRIC_NAMES[metric]} ({METRIC_UNITS[metric]})")
            if i == len(metrics) - 1:
                ax.set_xlabel("eps (px)" if spec.x_axis == "eps" else spec.x_axis)
    legend: dict[str, object] = {}
    for ax in axes.flat:
        for h, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, h)
    fig.legend(
        list(legend.values()), list(legend.keys()), loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8
    )
    fig.suptitle(spec.title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_figures(cells: Sequence[Cell], runs: Sequence[str], folder: Path) -> dict[str, Path]:
    """All figures that have data, from expanded cells; name -> PNG path."""
    out = {}
    for spec in FIGURE_SPECS:
        path = plot_figure(spec, cells, runs, folder / f"{spec.name}.png")
        if path is not None:
            out[spec.name] = path
    return out
