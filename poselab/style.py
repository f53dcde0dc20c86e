"""The one visual style of poselab's figures and image panels (matplotlib reports, OpenCV crops): distinct
series styles, skeleton colours per role, labels on images, eps and log axes, saving."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

#: Matplotlib's tab10 palette: ten colours distinguishable in print and by most colour-blind readers.
PALETTE: tuple[str, ...] = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                            "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
#: Line styles, one per pass through :data:`PALETTE`.
LINESTYLES: tuple[str, ...] = ("-", "--", ":", "-.")
#: Markers, one per series within a pass (their count is coprime with the palette's: pairs never repeat).
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X")

#: Skeleton roles -> colour: ground truth, prediction on the clean image, on the adversarial (or corrupted)
#: image, the attack's target pose, and a prediction where there is no attack (validation images).
SKELETON_COLORS: dict[str, str] = {"ground truth": "#00c800", "clean prediction": "#1e90ff",
                                   "adversarial prediction": "#ff2020", "target": "#ff00ff",
                                   "prediction": "#ff2020"}
#: Preview skeletons: the subject's right limbs, left limbs, spine and head (RGB 0..255).
LIMB_RGB: dict[str, tuple[int, int, int]] = {"right": (255, 140, 0), "left": (40, 120, 255),
                                             "centre": (255, 255, 255)}

TITLE_SIZE = 11
PANEL_TITLE_SIZE = 10
LABEL_SIZE = 9
TICK_SIZE = 8
LEGEND_SIZE = 8


@dataclass(frozen=True)
class SeriesStyle:
    """How one series is drawn: ``kwargs`` are Matplotlib ``plot`` keyword arguments."""

    color: str
    linestyle: str
    marker: str
    linewidth: float = 1.5
    markersize: float = 4.0

    @property
    def kwargs(self) -> dict[str, Any]:
        return {"color": self.color, "linestyle": self.linestyle, "marker": self.marker,
                "linewidth": self.linewidth, "markersize": self.markersize}


def series_styles(n: int, linestyles: Sequence[str] | None = None) -> list[SeriesStyle]:
    """``n`` distinct styles for the series of one panel, in drawing order: colour ``i % 10``, marker
    ``i % 7``, line style ``i // 10`` (or ``linestyles[i]``); widths and marker sizes shrink with ``i``
    (2.6 -> 1.2 pt, 7 -> 3.5 pt) so that exactly overlapping series stay visible."""
    out = []
    for i in range(n):
        ls = linestyles[i] if linestyles is not None else LINESTYLES[(i // len(PALETTE)) % len(LINESTYLES)]
        frac = i / (n - 1) if n > 1 else 0.0
        out.append(SeriesStyle(PALETTE[i % len(PALETTE)], ls, MARKERS[i % len(MARKERS)],
                               linewidth=round(2.6 - 1.4 * frac, 2), markersize=round(7.0 - 3.5 * frac, 2)))
    return out


def grouped_styles(groups: Sequence[int]) -> list[list[SeriesStyle]]:
    """Styles for ``groups[g]`` series in group ``g``: one colour per group, one (line style, marker) per
    member; more than 4 members or 10 groups fall back to :func:`series_styles` over every series."""
    flat = iter(series_styles(sum(groups)))  # widths and marker sizes by drawing order
    if max(groups, default=0) > len(LINESTYLES) or len(groups) > len(PALETTE):
        return [[next(flat) for _ in range(n)] for n in groups]
    return [[replace(next(flat), color=PALETTE[g], linestyle=LINESTYLES[m], marker=MARKERS[m % len(MARKERS)])
             for m in range(n)] for g, n in enumerate(groups)]


def plot_series(ax: Any, xs: Sequence[float], ys: Sequence[float], style: SeriesStyle, label: str) -> None:
    """One series: a line with markers, or markers alone when it has fewer than 3 points (two points joined
    by a line suggest a trend that was not measured)."""
    kw = style.kwargs
    if len(xs) < 3:
        kw = {**kw, "linestyle": "none", "markersize": max(style.markersize, 6.0)}
    ax.plot(list(xs), list(ys), label=label, **kw)


def eps_axis(ax: Any, ticks: Iterable[float], label: str = "eps (px, 0..255 scale)") -> None:
    """An eps x-axis: logarithmic above the smallest positive eps, linear through 0 (the clean point)."""
    ticks = sorted(set(ticks))
    positive = [t for t in ticks if t > 0]
    ax.set_xscale("symlog", linthresh=min(positive) if positive else 1.0, linscale=0.5)
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks], fontsize=TICK_SIZE)
    ax.minorticks_off()
    ax.set_xlabel(label, fontsize=LABEL_SIZE)


def spans_decades(values: Iterable[float], decades: float = 1.0) -> bool:
    """Whether positive finite ``values`` span at least ``decades`` powers of ten (max / min)."""
    vals = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    return len(vals) >= 2 and math.log10(max(vals) / min(vals)) >= decades


def log_axis(ax: Any, axis: str = "y") -> None:
    """A logarithmic axis labelled in plain numbers (50, 100, 200, 500, 1000), not powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    target = ax.yaxis if axis == "y" else ax.xaxis
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def panel(ax: Any, title: str, xlabel: str | None = None, ylabel: str | None = None) -> None:
    """A panel's title, axis labels, tick size and grid."""
    ax.set_title(title, fontsize=PANEL_TITLE_SIZE)
    if xlabel is not None:
        ax.set_xlabel(xlabel, fontsize=LABEL_SIZE)
    if ylabel is not None:
        ax.set_ylabel(ylabel, fontsize=LABEL_SIZE)
    ax.tick_params(labelsize=TICK_SIZE)
    ax.grid(alpha=0.3, which="both")


def unique_handles(axes: Iterable[Any]) -> dict[str, Any]:
    """Every label drawn in ``axes`` once -> its first handle."""
    handles: dict[str, Any] = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    return handles


def figure_legend(fig: Any, axes: Iterable[Any], title: str | None = None) -> Any:
    """One legend right of the figure with every label drawn in ``axes`` once (:func:`unique_handles`)."""
    if not (handles := unique_handles(axes)):
        return None
    return fig.legend(list(handles.values()), list(handles), loc="center left", bbox_to_anchor=(1.0, 0.5),
                      fontsize=LEGEND_SIZE, title=title, title_fontsize=LEGEND_SIZE)


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend, imported on first use (tables need no matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: str | Path, dpi: int = 100) -> Path:
    """Save ``fig`` as PNG (tight bounding box, atomically) and close it."""
    from poselab.safe_io import save_figure

    out = save_figure(fig, path, dpi=dpi, bbox_inches="tight")
    pyplot().close(fig)
    return out


def skeleton_rgb(role: str) -> tuple[int, int, int]:
    """The colour of a skeleton role of :data:`SKELETON_COLORS` as RGB 0..255."""
    h = SKELETON_COLORS[role].lstrip("#")
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))


#: OpenCV label text: Hershey simplex at this scale and thickness, white on a near-black box.
LABEL_SCALE = 0.4
LABEL_THICKNESS = 1
LABEL_TEXT_RGB = (255, 255, 255)
LABEL_BOX_RGB = (20, 20, 20)


def label_box(text: str, origin: tuple[int, int], scale: float = LABEL_SCALE, pad: int = 2
              ) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) px, inclusive, of the box :func:`put_label` fills for ``text`` at ``origin`` (its
    top-left corner)."""
    import cv2

    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, LABEL_THICKNESS)
    x, y = origin
    return x, y, x + w + 2 * pad - 1, y + h + base + 2 * pad - 1


def put_label(image: Any, text: str, origin: tuple[int, int] = (2, 2), scale: float = LABEL_SCALE,
              pad: int = 2) -> Any:
    """Draw ``text`` on an RGB uint8 image (H, W, 3) in place: one pass of white text on a filled dark box
    whose top-left corner is ``origin`` (px); returns the image."""
    import cv2

    x0, y0, x1, y1 = label_box(text, origin, scale, pad)
    (_, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, LABEL_THICKNESS)
    cv2.rectangle(image, (x0, y0), (x1, y1), LABEL_BOX_RGB, -1)
    cv2.putText(image, text, (x0 + pad, y0 + pad + h), cv2.FONT_HERSHEY_SIMPLEX, scale, LABEL_TEXT_RGB,
                LABEL_THICKNESS, cv2.LINE_AA)
    return image
