"""The scale study's data: scale results roots -> runs -> points (one model at one scale under one attack
setting, every view attacked), the vulnerability orders and the paper's ranking claims, and the report's
building blocks (:class:`Section`, :class:`Part`). Shared by :mod:`studies.scale.report` and
:mod:`studies.scale.sections`."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from poselab.reporting.strength import has_strong_attacks
from poselab.results.reader import ResultsError, RunResults, discover, read_run
from poselab.results.schema import CLEAN, JDR, MPJPE
from poselab.scale import parse_scale

#: Untargeted attack series compared across scales: (attack, iterations).
SERIES = (("fgsm", 1), ("igsm_u", 10))
MODEL_ORDER = ("regression", "volumetric", "heatmap_depth", "triangulation")
MONOCULAR = ("regression", "volumetric", "heatmap_depth")


def depth_of(scale: str) -> int:
    """Backbone depth for ordering scales (tiny CNN: 6 conv layers)."""
    backbone, _ = parse_scale(scale)
    return 6 if backbone == "tiny" else int(backbone[len("resnet"):])


def scale_order(scale: str) -> tuple[int, int]:
    """Sort key of a scale: crop size, then backbone depth."""
    return parse_scale(scale)[1], depth_of(scale)


@dataclass(frozen=True)
class Section:
    """A part of the report that needs the rows of one grid (``configs/attack/<grid>.yaml``).

    ``name``: what it is; ``need``: what it needs beyond that grid's rows ("" if nothing); ``files``: the
    files it writes into the output folder (a left-out section's are removed there, so that no earlier
    report's file outlives it).
    """

    name: str
    grid: str
    need: str = ""
    files: tuple[str, ...] = ()

    def left_out_line(self) -> str:
        """The markdown line of ``tables.md`` naming the section as left out and the grid that fills it."""
        files = f" ({', '.join(f'`{f}`' for f in self.files)})" if self.files else ""
        need = f" {self.need}" if self.need else ""
        return (f"- {self.name}{files}: the `{self.grid}` grid{need} "
                f"(`make attack-eval ATTACK={self.grid} SCALE=<scale>`).")


@dataclass(frozen=True)
class Part:
    """A section that has rows: its markdown for ``tables.md`` ("" for a figure alone) and ``write(out)``,
    which writes its files into the folder ``out``."""

    section: Section
    markdown: str
    write: Callable[[Path], Any]


@dataclass(frozen=True)
class ScalePoint:
    """One model at one scale under one untargeted attack with every view attacked.

    mm for MPJPE, fractions 0..1 for JDR (NaN for models without 2D joints), ``eps`` in pixels 0..255.
    """

    scale: str
    model: str
    attack: str
    iterations: int
    eps: float
    clean_mpjpe: float
    adv_mpjpe: float
    clean_jdr: float
    adv_jdr: float
    n: int

    @property
    def mpjpe_increase(self) -> float:
        return self.adv_mpjpe - self.clean_mpjpe

    @property
    def mpjpe_ratio(self) -> float:
        return self.adv_mpjpe / self.clean_mpjpe if self.clean_mpjpe > 0 else math.nan

    @property
    def jdr_drop(self) -> float:
        return self.clean_jdr - self.adv_jdr

    def row(self) -> dict:
        return {**asdict(self), "mpjpe_increase": self.mpjpe_increase, "mpjpe_ratio": self.mpjpe_ratio,
                "jdr_drop": self.jdr_drop}


def load_scales(roots: Mapping[str, str | Path]) -> dict[str, list[RunResults]]:
    """Runs under each scale's results root(s) (several joined by ","); a run whose ``meta.scale`` names
    another scale is an error.

    Raises:
        ResultsError: a root is missing, holds no results, or holds a run of another scale.
    """
    out: dict[str, list[RunResults]] = {}
    for scale, root in roots.items():
        parse_scale(scale)  # ValueError for a malformed name
        runs = [read_run(folder) for folder in discover(str(root).split(","))]
        for run in runs:
            found = run.meta.get("scale")
            if found and found != scale:
                raise ResultsError(f"results folder {str(run.path)!r} holds scale {found!r}, "
                                   f"given as {scale!r}")
        out[scale] = runs
    return out


def cell_value(run: RunResults, metric: str, attack: str, eps: float, iterations: int,
               experiment: str = "untargeted", attacked_views: int | None = None) -> tuple[float, int]:
    """(value, samples) of a run's first row at a setting (any attacked views when None); (NaN, 0) if none."""
    for c in run.cells:
        if (c.experiment == experiment and c.metric == metric and c.attack == attack and c.eps == eps
                and c.iterations == iterations
                and (attacked_views is None or c.attacked_views == attacked_views)):
            return c.value, c.n
    return math.nan, 0


def all_views_attacked(run: RunResults) -> tuple[str, int | None] | None:
    """Where a run's every-view-attacked series is: monocular models' ``untargeted`` experiment (any
    ``attacked_views``), the multi-view model's ``multiview`` experiment with the most attacked views (the
    callback runs no ``untargeted`` experiment on it); None when the run has neither."""
    experiments = {c.experiment for c in run.cells}
    if "untargeted" in experiments:
        return "untargeted", None
    if "multiview" in experiments:
        return "multiview", max(c.attacked_views for c in run.cells if c.experiment == "multiview")
    return None


def grid_runs(runs: Sequence[RunResults]) -> list[RunResults]:
    """The runs of the scale grid: without the stronger evaluation's runs (:func:`has_strong_attacks`),
    whose few samples and own clean rows feed only :mod:`studies.scale.sections`."""
    return [run for run in runs if not has_strong_attacks(run.cells)]


Point = TypeVar("Point", bound=ScalePoint)


def run_points(scale: str, run: RunResults, series: Sequence[tuple[str, int]], point: Callable[..., Point], *,
               eps_first: bool = False, extra: Mapping[str, str] | None = None) -> list[Point]:
    """The points of one run with every view attacked (:func:`all_views_attacked`; none without such rows):
    ``point(scale, model, attack, iterations, eps, clean_mpjpe, adv_mpjpe, clean_jdr, adv_jdr, n, **more)``
    for each ``series`` entry (attack, iterations) and eps > 0 of the run that has an MPJPE row, against the
    run's own clean row. ``extra``: more fields, field name -> metric, each the metric's value at the point
    (NaN without a row). Order: by series, then eps; ``eps_first``: by eps, then series."""
    source = all_views_attacked(run)
    if source is None:
        return []
    experiment, views = source
    clean_mpjpe, _ = cell_value(run, MPJPE, CLEAN, 0.0, 0, experiment)
    clean_jdr, _ = cell_value(run, JDR, CLEAN, 0.0, 0, experiment)
    eps_values = sorted({c.eps for c in run.cells if c.experiment == experiment and c.eps > 0})
    grid = ([(s, eps) for eps in eps_values for s in series] if eps_first
            else [(s, eps) for s in series for eps in eps_values])
    points = []
    for (attack, iterations), eps in grid:
        adv, n = cell_value(run, MPJPE, attack, eps, iterations, experiment, views)
        if n == 0:
            continue
        adv_jdr, _ = cell_value(run, JDR, attack, eps, iterations, experiment, views)
        more = {name: cell_value(run, metric, attack, eps, iterations, experiment, views)[0]
                for name, metric in (extra or {}).items()}
        points.append(point(scale, run.model, attack, iterations, eps, clean_mpjpe, adv, clean_jdr, adv_jdr,
                            n, **more))
    return points


def scale_points(runs: Mapping[str, Sequence[RunResults]]) -> list[ScalePoint]:
    """Every (scale, model, attack series, eps > 0) point with every view attacked (:func:`run_points`) of
    the scale grid's runs (:func:`grid_runs`). Monocular results carry no JDR (NaN); the multi-view
    model's do."""
    points = [p for scale, scale_runs in runs.items() for run in grid_runs(scale_runs)
              for p in run_points(scale, run, SERIES, ScalePoint)]
    return sorted(points, key=lambda p: (scale_order(p.scale), model_rank(p.model), p.attack, p.eps))


def model_rank(model: str) -> int:
    """Sort key of a model: its place in :data:`MODEL_ORDER` (other models last)."""
    return MODEL_ORDER.index(model) if model in MODEL_ORDER else len(MODEL_ORDER)


def vulnerability_order(points: Sequence[ScalePoint], scale: str, attack: str, eps: float,
                        key: str = "mpjpe_ratio") -> list[str]:
    """Models of ``scale`` from most to least vulnerable at (attack, eps) by ``key`` (``mpjpe_ratio``:
    adversarial / clean MPJPE, fair across models of different clean accuracy; or ``mpjpe_increase``)."""
    chosen = [p for p in points if p.scale == scale and p.attack == attack and p.eps == eps]
    return [p.model for p in sorted(chosen, key=lambda p: -getattr(p, key))]


def paper_ranking(order: Sequence[str]) -> dict[str, bool | None]:
    """The paper's two monocular claims on one vulnerability order (most vulnerable first):
    regression the most vulnerable monocular model, volumetric the least (None: model missing)."""
    mono = [m for m in order if m in MONOCULAR]
    have = set(mono) == set(MONOCULAR)
    return {"regression_most": mono[0] == "regression" if have else None,
            "volumetric_least": mono[-1] == "volumetric" if have else None}


def multiview_jdr(runs: Mapping[str, Sequence[RunResults]], attack: str = "fgsm", iterations: int = 1
                  ) -> list[dict]:
    """JDR of the multi-view model per scale, eps and number of attacked views (``multiview`` experiment)."""
    rows = []
    for scale, scale_runs in runs.items():
        for run in grid_runs(scale_runs):
            cells = [c for c in run.cells if c.experiment == "multiview" and c.metric == JDR]
            if run.model != "triangulation" or not cells:
                continue
            clean = next((c.value for c in cells if c.attack == CLEAN), math.nan)
            for eps in sorted({c.eps for c in cells if c.eps > 0}):
                by_views = {c.attacked_views: c.value for c in cells
                            if c.attack == attack and c.iterations == iterations and c.eps == eps}
                rows.append({"scale": scale, "eps": eps, "clean": clean,
                             **{f"views_{k}": v for k, v in sorted(by_views.items())}})
    return sorted(rows, key=lambda r: (scale_order(r["scale"]), r["eps"]))


def fmt(value: float | None, spec: str = ".1f") -> str:
    """``value`` formatted with ``spec``; "–" for None or NaN (a cell without data)."""
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def yes_no(value: bool | None) -> str:
    """"yes" / "no" of a check; "–" when it could not be made (None)."""
    return "–" if value is None else ("yes" if value else "no")
