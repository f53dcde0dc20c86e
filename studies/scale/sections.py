"""Three more sections of the scale study (:mod:`studies.scale.report`), each left out without its rows
(:data:`SECTIONS`: ``tables.md`` then names it and the grid that fills it):

1. **Targeted attacks across scales** (``configs/attack/scale_targeted.yaml``): per scale and model the
   distance (mm) of the predicted pose to the attack's target before the attack (the iteration-0 row) and
   after IGSM-T 100 iterations, for the camera swap (mean over target cameras) and each rotation angle; the
   ratio reached / clean and which model is easiest to steer at each scale.
2. **Strongest evaluation across scales** (``configs/attack/strong.yaml`` or a grid like it): per scale,
   model and eps the clean MPJPE, the MPJPE under IGSM-U 10 / 100, APGD 100 and the ensemble, the robust
   ratio (worst / clean), how much IGSM-U 10 understates the worst attack (``% worse``,
   :func:`~poselab.reporting.strength.percent_worse`), failed triangulations under it, and the
   vulnerability ranking by the worst attack with the paper's claims.
3. **The two axes**: pairs of scales that differ only in crop size (same backbone) or only in backbone
   (same crop size), derived from the scale names (:func:`axis_pairs`), with the change of the MPJPE
   ratio adversarial / clean at eps 8 (FGSM, IGSM-U 10), of the triangulation JDR drop and both clean
   MPJPEs; and the figure ``scale_vs_clean.png`` (MPJPE ratio vs clean MPJPE per scale and model).

Units: MPJPE and distances to the target in mm, eps in pixels 0..255, JDR as fractions 0..1 (tables print
percentage points).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from poselab.reporting.strength import has_strong_attacks, percent_worse
from poselab.results.reader import RunResults
from poselab.results.schema import FAILED, TARGET_MPJPE, TARGETED_EXPERIMENTS
from poselab.safe_io import save_figure, write_csv
from poselab.scale import parse_scale
from poselab.style import PALETTE, pyplot
from studies.scale.points import (
    SERIES,
    Part,
    ScalePoint,
    Section,
    depth_of,
    fmt,
    grid_runs,
    model_rank,
    paper_ranking,
    run_points,
    scale_order,
    vulnerability_order,
    yes_no,
)

TARGETED_CSV = "scale_targeted.csv"
STRONG_CSV = "scale_strong.csv"
AXES_CSV = "scale_axes.csv"
SCATTER_PNG = "scale_vs_clean.png"

#: Display names of the attacks in table headers.
ATTACK_LABELS = {"fgsm": "FGSM", "igsm_u": "IGSM-U", "igsm_t": "IGSM-T", "apgd": "APGD", "pgd": "PGD",
                 "square": "Square", "ensemble": "ensemble"}

# ----------------------------------------------------------------------------- 1. targeted attacks

#: The targeted attack whose reach is compared across scales: (attack, iterations).
TARGETED_SERIES = ("igsm_t", 100)
#: Targeted experiments whose targets are averaged into one setting (camera swap: over target cameras).
AVERAGED_TARGETS = ("camera_swap",)
TARGETED_COLUMNS = ("scale", "model", "experiment", "target", "eps", "clean_target_mpjpe",
                    "reached_target_mpjpe", "reached_ratio", "n")


@dataclass(frozen=True)
class TargetedPoint:
    """One model at one scale pushed towards one target setting.

    ``clean``: distance (mm) of the clean prediction to the target (the experiment's iteration-0 row; NaN
    when the grid has none, as the rotation grid); ``reached``: the distance after :data:`TARGETED_SERIES`;
    ``target``: a target name (``rot30``) or the averaged ones joined by "+" (``cam2+cam3+cam4``).
    """

    scale: str
    model: str
    experiment: str
    target: str
    eps: float
    clean: float
    reached: float
    n: int

    @property
    def ratio(self) -> float:
        """Reached / clean distance to the target (< 1: the attacker drove the pose towards it)."""
        return self.reached / self.clean if self.clean > 0 else math.nan

    @property
    def setting(self) -> tuple[str, str, float]:
        return self.experiment, self.target, self.eps

    def row(self) -> dict[str, Any]:
        """The point as a :data:`TARGETED_COLUMNS` row."""
        return dict(zip(TARGETED_COLUMNS, (self.scale, self.model, self.experiment, self.target, self.eps,
                                           self.clean, self.reached, self.ratio, self.n), strict=True))


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else math.nan


def targeted_points(runs: Mapping[str, Sequence[RunResults]]) -> list[TargetedPoint]:
    """Every (scale, model, targeted experiment, target setting, eps) with a :data:`TARGETED_SERIES` row, in
    the scale grid's runs (:func:`~studies.scale.points.grid_runs`). Averaged targets
    (:data:`AVERAGED_TARGETS`) give one point: the mean of the targets' distances (clean: NaN unless every
    target has an iteration-0 row)."""
    attack, iterations = TARGETED_SERIES
    points = []
    for scale, scale_runs in runs.items():
        for run in grid_runs(scale_runs):
            for exp in TARGETED_EXPERIMENTS:
                cells = [c for c in run.cells if c.experiment == exp and c.metric == TARGET_MPJPE]
                clean: dict[str, float] = {}
                for c in cells:
                    if c.iterations == 0:  # the clean input (any attack and eps)
                        clean.setdefault(c.target, c.value)
                reached = [c for c in cells if c.attack == attack and c.iterations == iterations]
                for eps in sorted({c.eps for c in reached}):
                    at = {c.target: c for c in reached if c.eps == eps}
                    groups = [list(at)] if exp in AVERAGED_TARGETS else [[t] for t in at]
                    for group in groups:
                        points.append(TargetedPoint(
                            scale, run.model, exp, "+".join(group), eps,
                            _mean([clean.get(t, math.nan) for t in group]),
                            _mean([at[t].value for t in group]), min(at[t].n for t in group)))
    return sorted(points, key=lambda p: (scale_order(p.scale), model_rank(p.model),
                                         TARGETED_EXPERIMENTS.index(p.experiment)))


def _settings(points: Iterable[TargetedPoint]) -> list[tuple[str, str, float]]:
    """The target settings present: camera swap first, then rotation angles (as the grid lists them)."""
    found = list(dict.fromkeys(p.setting for p in points))
    return sorted(found, key=lambda s: (TARGETED_EXPERIMENTS.index(s[0]), s[2]))


def steer_order(points: Sequence[TargetedPoint], scale: str, setting: tuple[str, str, float]) -> list[str]:
    """Models of ``scale`` from easiest to hardest to steer at a target setting: by the distance to the
    target reached (mm, ascending; defined also where the grid has no clean row)."""
    here = [p for p in points if p.scale == scale and p.setting == setting and not math.isnan(p.reached)]
    return [p.model for p in sorted(here, key=lambda p: p.reached)]


def same_order(orders: Mapping[str, Sequence[str]]) -> bool | None:
    """Whether every scale that ranks at least two models ranks the models they share the same way (None:
    fewer than two such scales or fewer than two shared models)."""
    orders = {s: o for s, o in orders.items() if len(o) >= 2}
    if len(orders) < 2:
        return None
    shared = set.intersection(*(set(o) for o in orders.values()))
    if len(shared) < 2:
        return None
    return len({tuple(m for m in o if m in shared) for o in orders.values()}) == 1


def targeted_rankings(points: Sequence[TargetedPoint]) -> list[dict[str, Any]]:
    """Per target setting: ``orders`` (scale -> models easiest to steer first, :func:`steer_order`) and
    ``same`` (:func:`same_order`)."""
    scales = sorted({p.scale for p in points}, key=scale_order)
    out = []
    for setting in _settings(points):
        orders = {s: o for s in scales if (o := steer_order(points, s, setting))}
        out.append({"setting": setting, "orders": orders, "same": same_order(orders)})
    return out


def _setting_label(setting: tuple[str, str, float]) -> str:
    experiment, target, eps = setting
    return f"{experiment.replace('_', ' ')} {target.replace('+', ', ')} (ε={eps:g})"


def targeted_md(points: Sequence[TargetedPoint]) -> str:
    """Markdown: distance to the target clean -> reached (ratio) per scale and model, the models' ranking
    (easiest to steer first) per scale and target, and whether it holds at every scale ("" without rows)."""
    if not points:
        return ""
    attack, iterations = TARGETED_SERIES
    settings = _settings(points)
    out = ["", f"## Targeted attacks: distance to the target (mm), clean → {ATTACK_LABELS[attack]} "
           f"{iterations} iterations (ratio reached / clean)", "",
           "Camera swap: the mean over the target cameras (monocular models); rotation about the pelvis. "
           "Clean: the distance of the unattacked prediction to the target (the grid's iteration-0 row; "
           "the rotation grid has none: –). Lower reached distance = the attacker steers the pose closer "
           "to its target.", "",
           "| scale | model | samples | " + " | ".join(map(_setting_label, settings)) + " |",
           "|---|---|---|" + "---|" * len(settings)]
    by = {(p.scale, p.model, p.setting): p for p in points}
    for scale, model in dict.fromkeys((p.scale, p.model) for p in points):
        n = min(p.n for p in points if (p.scale, p.model) == (scale, model))
        out.append(f"| {scale} | {model} | {n} | "
                   + " | ".join(_targeted_cell(by.get((scale, model, s))) for s in settings) + " |")
    ranks = targeted_rankings(points)
    scales = sorted({p.scale for p in points}, key=scale_order)
    out += ["", "Easiest to steer first (by the distance reached):", "",
            "| target | " + " | ".join(scales) + " | same at every scale |",
            "|---|" + "---|" * (len(scales) + 1)]
    for r in ranks:
        out.append(f"| {_setting_label(r['setting'])} | "
                   + " | ".join(" < ".join(r["orders"].get(s, [])) or "–" for s in scales)
                   + f" | {yes_no(r['same'])} |")
    return "\n".join(out) + "\n"


def _targeted_cell(p: TargetedPoint | None) -> str:
    if p is None:
        return "–"
    if math.isnan(p.clean):
        return f"– → {fmt(p.reached, '.0f')}"
    return f"{fmt(p.clean, '.0f')} → {fmt(p.reached, '.0f')} (x{fmt(p.ratio, '.2f')})"


# ----------------------------------------------------------------------------- 2. strongest evaluation

#: The paper's attack whose understatement is measured (``% worse``): IGSM-U 10, as in the scale grid.
BASELINE = ("igsm_u", 10)
#: The stronger evaluation's series compared across scales, (attack, iterations) in column order.
STRONG_SERIES = (BASELINE, ("igsm_u", 100), ("apgd", 100), ("ensemble", 100))
#: The ``attack`` of the per-model worst point (:func:`strongest`) when ranking models by it.
STRONGEST = "strongest"
STRONG_COLUMNS = ("scale", "model", "eps", "n", "clean_mpjpe", *(f"{a}_{it}" for a, it in STRONG_SERIES),
                  "worst_attack", "worst_mpjpe", "worst_failed", "robust_ratio", "pct_worse")


@dataclass(frozen=True)
class StrongPoint(ScalePoint):
    """A :class:`~studies.scale.points.ScalePoint` of the stronger evaluation with ``failed``: the number
    of samples whose pose failed under the attack (the multi-view model's triangulation; they are left out
    of ``adv_mpjpe`` and ``n``), NaN for models that report none."""

    failed: float = math.nan


def strong_points(runs: Mapping[str, Sequence[RunResults]]) -> list[StrongPoint]:
    """Every (scale, model, :data:`STRONG_SERIES` entry, eps > 0) point of the runs of the stronger
    evaluation (:func:`~poselab.reporting.strength.has_strong_attacks`) with every view attacked
    (:func:`~studies.scale.points.run_points`), against that run's own clean row; per (scale, model, eps)
    in :data:`STRONG_SERIES` order."""
    points = [p for scale, scale_runs in runs.items() for run in scale_runs if has_strong_attacks(run.cells)
              for p in run_points(scale, run, STRONG_SERIES, StrongPoint, eps_first=True,
                                  extra={"failed": FAILED})]
    return sorted(points, key=lambda p: (scale_order(p.scale), model_rank(p.model), p.eps))


def strongest(points: Sequence[StrongPoint]) -> list[StrongPoint]:
    """Per (scale, model, eps) the point of the attack with the highest MPJPE (its own attack name; the
    first of :data:`STRONG_SERIES` on a tie)."""
    best: dict[tuple[str, str, float], StrongPoint] = {}
    for p in points:
        key = (p.scale, p.model, p.eps)
        if not math.isnan(p.adv_mpjpe) and (key not in best or p.adv_mpjpe > best[key].adv_mpjpe):
            best[key] = p
    return list(best.values())


def strong_order(points: Sequence[StrongPoint], scale: str, eps: float,
                 series: tuple[str, int] | None = None) -> list[str]:
    """Models of ``scale`` from most to least vulnerable at ``eps`` by MPJPE ratio adversarial / clean under
    the worst attack (:func:`strongest`), or under one ``series`` (attack, iterations)."""
    if series is None:
        chosen = [replace(p, attack=STRONGEST) for p in strongest(points)]
        return vulnerability_order(chosen, scale, STRONGEST, eps)
    chosen = [p for p in points if (p.attack, p.iterations) == series]
    return vulnerability_order(chosen, scale, series[0], eps)


def strong_rows(points: Sequence[StrongPoint]) -> list[dict[str, Any]]:
    """One row (:data:`STRONG_COLUMNS`) per (scale, model, eps): MPJPE under each series (NaN: not run), the
    worst attack with its samples ``n`` and failed samples, the robust ratio worst / clean and
    ``pct_worse``: the worst attack's MPJPE vs :data:`BASELINE`'s, in per cent (NaN without a baseline)."""
    worst = {(p.scale, p.model, p.eps): p for p in strongest(points)}
    value = {(p.scale, p.model, p.eps, p.attack, p.iterations): p.adv_mpjpe for p in points}
    rows = []
    for key, w in worst.items():
        base = value.get((*key, *BASELINE))
        pct = percent_worse(w.adv_mpjpe, base)
        rows.append(dict(zip(STRONG_COLUMNS, (
            *key[:2], key[2], w.n, w.clean_mpjpe, *(value.get((*key, *s), math.nan) for s in STRONG_SERIES),
            f"{w.attack} {w.iterations}", w.adv_mpjpe, w.failed, w.mpjpe_ratio,
            math.nan if pct is None else pct),
            strict=True)))
    return rows


def _series_label(attack: str, iterations: int) -> str:
    name = ATTACK_LABELS.get(attack, attack)
    return name if attack == "fgsm" else f"{name} {iterations}"


def strong_md(points: Sequence[StrongPoint]) -> str:
    """Markdown: the strong evaluation per scale, model and eps, and the vulnerability ranking by the worst
    attack per scale with the paper's claims ("" without rows)."""
    rows = strong_rows(points)
    if not rows:
        return ""
    base = _series_label(*BASELINE)
    # the series some row has (a grid without the ensemble gets no empty ensemble column)
    series = [s for s in STRONG_SERIES if any(not math.isnan(r[f"{s[0]}_{s[1]}"]) for r in rows)]
    out = ["", "## Strongest evaluation: MPJPE (mm) under the paper's IGSM and stronger attacks, every view "
           "attacked", "",
           "Worst: the attack with the highest MPJPE; robust ratio = worst / clean; % worse = "
           f"worst vs {base} (how much {base} understates the damage). The strong grid's own samples and "
           "clean rows (fewer samples than the scale grid above). n: samples in the worst attack's mean; "
           "failed: samples whose triangulation failed under it (left out of that mean, so the multi-view "
           "model's worst case is understated where it is not 0).", "",
           "| scale | model | ε | clean | " + " | ".join(_series_label(*s) for s in series)
           + " | worst | n | failed | robust ratio | % worse |",
           "|---|---|---|---|" + "---|" * (len(series) + 5)]
    for r in rows:
        out.append(f"| {r['scale']} | {r['model']} | {r['eps']:g} | {fmt(r['clean_mpjpe'])} | "
                   + " | ".join(fmt(r[f'{a}_{it}']) for a, it in series)
                   + f" | {r['worst_attack']} | {r['n']} | {fmt(r['worst_failed'], '.0f')} | "
                   f"x{fmt(r['robust_ratio'], '.2f')} | {fmt(r['pct_worse'], '+.0f')} |")
    scales = sorted({p.scale for p in points}, key=scale_order)
    out += ["", "Vulnerability ranking by the worst attack (most vulnerable first, by robust ratio):", "",
            f"| ε | scale | worst attack | {base} (same grid) | same order | "
            "regression most vulnerable (mono) | volumetric least vulnerable (mono) |",
            "|---|---|---|---|---|---|---|"]
    for eps in sorted({p.eps for p in points}):
        for scale in scales:
            order, paper = strong_order(points, scale, eps), strong_order(points, scale, eps, BASELINE)
            if order:
                claims = paper_ranking(order)
                out.append(f"| {eps:g} | {scale} | {' > '.join(order)} | {' > '.join(paper) or '–'} | "
                           f"{yes_no(order == paper if paper else None)} | "
                           f"{yes_no(claims['regression_most'])} | {yes_no(claims['volumetric_least'])} |")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- 3. the two axes

#: The eps (pixels) at which the axes are compared.
AXES_EPS = 8.0
AXIS_CROP = "crop size at fixed backbone"
AXIS_BACKBONE = "backbone at fixed crop size"
AXES_COLUMNS = ("axis", "from_scale", "to_scale", "model", "attack", "iterations", "eps", "clean_from",
                "clean_to", "ratio_from", "ratio_to", "ratio_change", "jdr_drop_from", "jdr_drop_to",
                "jdr_drop_change")


def axis_pairs(scales: Iterable[str]) -> list[tuple[str, str, str]]:
    """(axis, from, to) for each pair of scales that differ in one axis only: per backbone the scales of
    consecutive crop sizes (:data:`AXIS_CROP`), per crop size those of consecutive backbone depths
    (:data:`AXIS_BACKBONE`); the smaller first."""
    parsed = {s: parse_scale(s) for s in sorted(set(scales), key=scale_order)}
    out = []
    for axis, fixed, varied in ((AXIS_CROP, lambda s: parsed[s][0], lambda s: parsed[s][1]),
                                (AXIS_BACKBONE, lambda s: parsed[s][1], depth_of)):
        groups: dict[Any, list[str]] = {}
        for s in parsed:
            groups.setdefault(fixed(s), []).append(s)
        for members in groups.values():
            members.sort(key=varied)
            out += [(axis, a, b) for a, b in zip(members, members[1:])]
    return out


def axis_rows(points: Sequence[ScalePoint], eps: float = AXES_EPS) -> list[dict[str, Any]]:
    """One row (:data:`AXES_COLUMNS`) per axis pair (:func:`axis_pairs`), model and untargeted series
    (:data:`~studies.scale.points.SERIES`) at ``eps`` that both scales have: the MPJPE ratio
    adversarial / clean and the JDR drop (NaN without JDR) at each scale and their change (to - from)."""
    by = {(p.scale, p.model, p.attack, p.iterations, p.eps): p for p in points}
    models = sorted({p.model for p in points}, key=model_rank)
    rows = []
    for axis, a, b in axis_pairs({p.scale for p in points}):
        for model in models:
            for attack, iterations in SERIES:
                pa, pb = (by.get((s, model, attack, iterations, eps)) for s in (a, b))
                if pa is None or pb is None:
                    continue
                rows.append(dict(zip(AXES_COLUMNS, (
                    axis, a, b, model, attack, iterations, eps, pa.clean_mpjpe, pb.clean_mpjpe,
                    pa.mpjpe_ratio, pb.mpjpe_ratio, pb.mpjpe_ratio - pa.mpjpe_ratio, pa.jdr_drop, pb.jdr_drop,
                    pb.jdr_drop - pa.jdr_drop), strict=True)))
    return rows


def axes_md(rows: Sequence[Mapping[str, Any]]) -> str:
    """Markdown: one table per axis, one row per pair and model ("" without pairs)."""
    if not rows:
        return ""
    eps = rows[0]["eps"]
    out = ["", f"## The two axes at ε={eps:g}: crop size at a fixed backbone, backbone at a fixed crop size",
           "",
           "MPJPE ratio adversarial / clean and triangulation JDR drop (percentage points), from → to "
           "(change); the clean MPJPEs show the accuracy confound."]
    for axis in (AXIS_CROP, AXIS_BACKBONE):
        here = [r for r in rows if r["axis"] == axis]
        if not here:
            continue
        out += ["", f"### {axis[0].upper()}{axis[1:]}", "",
                "| from → to | model | clean MPJPE (mm) | "
                + " | ".join(f"{_series_label(a, it)} ratio" for a, it in SERIES) + " | "
                + " | ".join(f"{_series_label(a, it)} JDR drop" for a, it in SERIES) + " |",
                "|---|---|---|" + "---|" * (2 * len(SERIES))]
        for pair_model in dict.fromkeys((r["from_scale"], r["to_scale"], r["model"]) for r in here):
            series = {(r["attack"], r["iterations"]): r for r in here
                      if (r["from_scale"], r["to_scale"], r["model"]) == pair_model}
            first = next(iter(series.values()))
            ratio = [_change(series.get(s), "ratio", "x", ".2f", 1.0) for s in SERIES]
            jdr = [_change(series.get(s), "jdr_drop", "", ".1f", 100.0) for s in SERIES]
            a, b, model = pair_model
            out.append(f"| {a} → {b} | {model} | {fmt(first['clean_from'])} → {fmt(first['clean_to'])} | "
                       + " | ".join(ratio + jdr) + " |")
    return "\n".join(out) + "\n"


def _change(row: Mapping[str, Any] | None, key: str, prefix: str, spec: str, factor: float) -> str:
    """``{key}_from`` -> ``{key}_to`` (``{key}_change``) of an axes row, each times ``factor``; "–" if any
    is missing."""
    if row is None or math.isnan(row[f"{key}_from"]) or math.isnan(row[f"{key}_to"]):
        return "–"
    a, b, d = (factor * row[f"{key}_{s}"] for s in ("from", "to", "change"))
    return f"{prefix}{a:{spec}} → {prefix}{b:{spec}} ({d:+{spec}})"


def scatter_points(points: Sequence[ScalePoint], eps: float = AXES_EPS, series: tuple[str, int] = BASELINE
                   ) -> list[ScalePoint]:
    """The points of :func:`plot_scale_vs_clean`: those of ``series`` (attack, iterations) at ``eps``."""
    return [p for p in points if (p.attack, p.iterations) == series and p.eps == eps]


def plot_scale_vs_clean(points: Sequence[ScalePoint], out: Path, eps: float = AXES_EPS,
                        series: tuple[str, int] = BASELINE) -> Path | None:
    """Scatter of every (scale, model) at (clean MPJPE, MPJPE ratio adversarial / clean under ``series`` at
    ``eps``): marker = model, colour = scale. None (nothing written) without such points."""
    chosen = scatter_points(points, eps, series)
    if not chosen:
        return None
    plt = pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.ticker import ScalarFormatter

    scales = sorted({p.scale for p in chosen}, key=scale_order)
    models = sorted({p.model for p in chosen}, key=model_rank)
    markers = {m: "osD^v"[min(model_rank(m), 4)] for m in models}  # fixed per model of MODEL_ORDER

    colours = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(scales)}
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for p in chosen:
        ax.scatter(p.clean_mpjpe, p.mpjpe_ratio, marker=markers[p.model], color=colours[p.scale], s=45)
    ax.set_yscale("log", base=2)
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlabel("clean MPJPE on the attacked samples (mm)")
    ax.set_ylabel(f"MPJPE adversarial / clean ({_series_label(*series)}, ε={eps:g})")
    ax.set_title("Does vulnerability track clean accuracy or scale?", fontsize=10)
    ax.grid(alpha=0.3)
    handles = ([Line2D([], [], ls="", marker=markers[m], color="grey", label=m) for m in models]
               + [Line2D([], [], ls="", marker="o", color=colours[s], label=s) for s in scales])
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    path = save_figure(fig, out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------- all three


TARGETED = Section("Targeted attacks", "scale_targeted", files=(TARGETED_CSV,))
STRONG = Section("Strongest evaluation", "scale_strong", files=(STRONG_CSV,))
AXES = Section("The two axes", "scale", "at two scales that differ in crop size only or in backbone only, "
               "e.g. r18-64 and r18-128", (AXES_CSV,))
SCATTER = Section("MPJPE ratio vs clean MPJPE figure", "scale",
                  f"with {_series_label(*BASELINE)} at ε={AXES_EPS:g}", (SCATTER_PNG,))
#: This module's sections, in the order of ``tables.md``.
SECTIONS = (TARGETED, STRONG, AXES, SCATTER)


def _csv_part(section: Section, rows: Sequence[Mapping[str, Any]], columns: Sequence[str], markdown: str
              ) -> list[Part]:
    """``section`` as a :class:`~studies.scale.points.Part` that writes ``rows`` to its one CSV; [] without
    rows."""
    if not rows:
        return []
    (name,) = section.files
    return [Part(section, markdown, lambda out: write_csv(out / name, rows, columns))]


def section_parts(runs: Mapping[str, Sequence[RunResults]], points: Sequence[ScalePoint]) -> list[Part]:
    """The :data:`SECTIONS` that have rows, in their order, each with its markdown for ``tables.md`` and its
    writer (:data:`TARGETED_CSV`, :data:`STRONG_CSV`, :data:`AXES_CSV`, :data:`SCATTER_PNG`). ``points``: the
    scale grid's points (:func:`~studies.scale.points.scale_points`)."""
    targeted = targeted_points(runs)
    strong = strong_points(runs)
    axes = axis_rows(points)
    parts = (_csv_part(TARGETED, [p.row() for p in targeted], TARGETED_COLUMNS, targeted_md(targeted))
             + _csv_part(STRONG, strong_rows(strong), STRONG_COLUMNS, strong_md(strong))
             + _csv_part(AXES, axes, AXES_COLUMNS, axes_md(axes)))
    if scatter_points(points):
        parts.append(Part(SCATTER, "", lambda out: plot_scale_vs_clean(points, out / SCATTER_PNG)))
    return parts
