"""The scale study: how robustness changes with crop size and backbone depth (``make scale-study``).

Reads the attack results of several *scales* (:mod:`poselab.scale`: ``tiny-64``, ``r18-128``, ...), one
results root per scale holding ``<model>-<dataset>/results.csv`` folders, and answers at each fixed eps in
pixels (0..255 intensity units):

* how the MPJPE increase (adversarial - clean, mm; and the ratio adversarial / clean) and the JDR drop
  (clean - adversarial, percentage points) change from scale to scale, for every model;
* whether the paper's ranking of the four baselines holds at every scale (regression the most vulnerable,
  volumetric the least vulnerable monocular model; more attacked views, lower JDR for triangulation).

Writes ``scale.csv`` (one row per scale, model, attack, eps), ``tables.md`` (tables and answers) and
``scale_mpjpe.png`` / ``scale_jdr.png`` into ``--out``, plus the corruption section and the targeted,
strongest-evaluation and two-axes sections of :mod:`studies.scale.sections` (a scale may name
several roots joined by ","; the stronger evaluation's runs feed only its section). Each :class:`Section`
is written where the roots hold its rows and otherwise left out, with a line in ``tables.md`` naming the
grid that fills it; only roots without rows for any section are an error::

    python -m studies.scale.report tiny-64=results/attack-scale r18-128=results/attack-scale-r18-128 \
        --out docs/results/scale
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from poselab.results.reader import ResultsError, RunResults
from poselab.results.schema import MPJPE, TABLES_MD
from poselab.safe_io import atomic_write, save_figure, write_csv
from poselab.scale import parse_scale
from poselab.style import LINESTYLES, PALETTE, pyplot
from studies.scale.points import (
    MODEL_ORDER,
    SERIES,
    Part,
    ScalePoint,
    Section,
    fmt,
    load_scales,
    model_rank,
    multiview_jdr,
    paper_ranking,
    scale_order,
    scale_points,
    vulnerability_order,
    yes_no,
)
from studies.scale.sections import SECTIONS, section_parts

#: Columns of ``scale.csv`` (one row per scale, model, attack series and eps).
COLUMNS = ("scale", "model", "attack", "iterations", "eps", "clean_mpjpe", "adv_mpjpe", "mpjpe_increase",
           "mpjpe_ratio", "clean_jdr", "adv_jdr", "jdr_drop", "n")
SCALE_CSV = "scale.csv"
MPJPE_PNG = "scale_mpjpe.png"
JDR_PNG = "scale_jdr.png"


UNTARGETED = Section("Untargeted attacks across scales", "scale", files=(SCALE_CSV, MPJPE_PNG, JDR_PNG))
CORRUPTION = Section("Common corruptions", "scale_corruptions")


# ----------------------------------------------------------------------------- output


def _pct(value: float) -> str:
    return fmt(100 * value if value == value else value)


def tables_md(points: Sequence[ScalePoint], runs: Mapping[str, Sequence[RunResults]]) -> str:
    """Markdown: clean accuracy, MPJPE increase / ratio and JDR drop per eps, rankings, multi-view JDR."""
    scales = sorted({p.scale for p in points}, key=scale_order)
    eps_values = sorted({p.eps for p in points})
    out = ["## Clean accuracy on the attacked samples", "",
           "| scale | model | samples | MPJPE (mm) | JDR qiu2019 (%) |", "|---|---|---|---|---|"]
    seen = set()
    for p in points:
        if (p.scale, p.model) not in seen:
            seen.add((p.scale, p.model))
            out.append(f"| {p.scale} | {p.model} | {p.n} | {fmt(p.clean_mpjpe)} | {_pct(p.clean_jdr)} |")
    for attack, iterations in SERIES:
        label = "FGSM" if attack == "fgsm" else f"IGSM-U {iterations} iterations"
        out += _eps_table(f"{label}: MPJPE increase (mm) and ratio adversarial / clean, every view attacked",
                          points, attack, _increase_cell)
        out += _eps_table(f"{label}: JDR drop (percentage points; qiu2019: error <= image_size / 20 px)",
                          points, attack, lambda p: _pct(p.jdr_drop), lambda p: not math.isnan(p.adv_jdr))
    out += ["", "## Vulnerability ranking (most vulnerable first, by MPJPE ratio adversarial / clean)", "",
            "| attack | ε | " + " | ".join(scales) + " | regression most vulnerable (mono) | "
            "volumetric least vulnerable (mono) |", "|---|---|" + "---|" * (len(scales) + 2)]
    for attack, _ in SERIES:
        for eps in eps_values:
            orders = [vulnerability_order(points, s, attack, eps) for s in scales]
            claims = [paper_ranking(o) for o in orders]
            out.append(f"| {attack} | {eps:g} | " + " | ".join(" > ".join(o) or "–" for o in orders) + " | "
                       + " / ".join(yes_no(c["regression_most"]) for c in claims) + " | "
                       + " / ".join(yes_no(c["volumetric_least"]) for c in claims) + " |")
    mv = multiview_jdr(runs)
    if mv:
        views = sorted({k for r in mv for k in r if k.startswith("views_")}, key=lambda k: int(k[6:]))
        out += ["", "## Multi-view model: JDR (%) under FGSM by number of attacked views", "",
                "| scale | ε | clean | " + " | ".join(f"{v[6:]} view(s)" for v in views) + " |",
                "|---|---|---|" + "---|" * len(views)]
        for r in mv:
            out.append(f"| {r['scale']} | {r['eps']:g} | {_pct(r['clean'])} | "
                       + " | ".join(_pct(r.get(v, math.nan)) for v in views) + " |")
    return "\n".join(out) + "\n"


def _increase_cell(p: ScalePoint) -> str:
    return f"+{fmt(p.mpjpe_increase, '.0f')} (x{fmt(p.mpjpe_ratio, '.2f')})"


def _eps_table(title: str, points: Sequence[ScalePoint], attack: str, cell: Callable[[ScalePoint], str],
               keep: Callable[[ScalePoint], bool] = lambda p: True) -> list[str]:
    """Markdown lines: one row per (scale, model) of ``attack``, one column per eps, ``cell(point)``."""
    eps_values = sorted({p.eps for p in points})
    out = ["", f"## {title}", "", "| scale | model | " + " | ".join(f"ε={e:g}" for e in eps_values) + " |",
           "|---|---|" + "---|" * len(eps_values)]
    for scale in sorted({p.scale for p in points}, key=scale_order):
        for model in MODEL_ORDER:
            row = _series(points, scale, model, attack)
            if row and any(keep(p) for p in row.values()):
                out.append(f"| {scale} | {model} | " + " | ".join(cell(row[e]) if e in row else "–"
                                                                 for e in eps_values) + " |")
    return out


def _series(points: Sequence[ScalePoint], scale: str, model: str, attack: str) -> dict[float, ScalePoint]:
    return {p.eps: p for p in points if p.scale == scale and p.model == model and p.attack == attack}


def plot(points: Sequence[ScalePoint], metric: str, out: Path) -> Path:
    """One panel per attack series: ``metric`` (``mpjpe_ratio`` or ``jdr_drop``) vs eps (log), colour =
    model, line style = scale."""
    plt = pyplot()

    scales = sorted({p.scale for p in points}, key=scale_order)

    styles = LINESTYLES
    colours = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(MODEL_ORDER)}
    fig, axes = plt.subplots(1, len(SERIES), figsize=(5.5 * len(SERIES), 4), squeeze=False)
    for ax, (attack, iterations) in zip(axes[0], SERIES, strict=True):
        for si, scale in enumerate(scales):
            for model in MODEL_ORDER:
                series = [v for _, v in sorted(_series(points, scale, model, attack).items())]
                ys = [getattr(p, metric) for p in series]
                if series and not all(math.isnan(y) for y in ys):
                    y = [100 * v for v in ys] if metric == "jdr_drop" else ys
                    ax.plot([p.eps for p in series], y, styles[si % len(styles)], marker="o", ms=3,
                            color=colours[model], label=f"{model} {scale}")
        ax.set_xscale("log", base=2)
        if metric == "mpjpe_ratio":  # ratios span 1 .. ~50
            ax.set_yscale("log", base=2)
        ax.set_xlabel("ε (pixels, 0..255)")
        ax.set_ylabel("JDR drop (points)" if metric == "jdr_drop" else "MPJPE adversarial / clean")
        ax.set_title(f"{'FGSM' if attack == 'fgsm' else f'IGSM-U {iterations} it.'}: "
                     f"{'JDR drop' if metric == 'jdr_drop' else 'MPJPE ratio'}")
        ax.grid(alpha=0.3)
    if axes[0][-1].get_legend_handles_labels()[0]:
        axes[0][-1].legend(fontsize=7, ncol=1, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    path = save_figure(fig, out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def corruption_points(runs: Mapping[str, Sequence[RunResults]]) -> list[dict[str, Any]]:
    """Per scale and model with corruption rows (every input view corrupted): the clean MPJPE of the
    corruption experiment, the mean corrupted MPJPE over corruptions and severities, and their ratio."""
    from poselab.reporting.corruption import severity_tables

    out = []
    for scale, scale_runs in runs.items():
        for run in scale_runs:
            table = next((t for t in severity_tables(run.cells) if t.metric == MPJPE), None)
            if table is None:
                continue
            # the run itself (every view corrupted), not its "run [k of V views]" rows
            row = next(r for r in table.rows if r[0] == run.label)
            clean, mean = (float(row[table.columns.index(c)]) for c in ("clean", "mean"))
            out.append({"scale": scale, "model": run.model, "clean": clean, "corrupted": mean,
                        "ratio": mean / clean if clean else math.nan})
    return sorted(out, key=lambda r: (scale_order(r["scale"]), model_rank(r["model"])))


def corruption_md(points: Sequence[dict[str, Any]]) -> str:
    """Markdown: corrupted / clean MPJPE per model and scale, and the ranking (most affected first) per
    scale."""
    if not points:
        return ""
    out = ["", "## Common corruptions: MPJPE corrupted / clean, every view corrupted (mean of all "
           "corruptions and severities 1..5)", "", "| scale | model | clean (mm) | corrupted (mm) | ratio |",
           "|---|---|---|---|---|"]
    out += [f"| {p['scale']} | {p['model']} | {fmt(p['clean'])} | {fmt(p['corrupted'])} | "
            f"x{fmt(p['ratio'], '.2f')} |" for p in points]
    out += ["", "Most affected first (by that ratio):", ""]
    for scale in dict.fromkeys(p["scale"] for p in points):
        here = sorted((p for p in points if p["scale"] == scale), key=lambda p: -p["ratio"])
        out.append(f"- {scale}: " + " > ".join(p["model"] for p in here))
    return "\n".join(out) + "\n"


def untargeted_part(points: Sequence[ScalePoint], runs: Mapping[str, Sequence[RunResults]]) -> list[Part]:
    """:data:`UNTARGETED` from the scale grid's ``points`` (:func:`scale_points`): the tables, ``scale.csv``
    and the two figures; [] without points."""
    if not points:
        return []

    def write(out: Path) -> None:
        write_csv(out / SCALE_CSV, [p.row() for p in points], COLUMNS)
        plot(points, "mpjpe_ratio", out / MPJPE_PNG)
        plot(points, "jdr_drop", out / JDR_PNG)

    return [Part(UNTARGETED, tables_md(points, runs), write)]


def corruption_part(runs: Mapping[str, Sequence[RunResults]]) -> list[Part]:
    """:data:`CORRUPTION` (:func:`corruption_points`, a table only); [] without corruption rows."""
    points = corruption_points(runs)
    return [Part(CORRUPTION, corruption_md(points), lambda out: None)] if points else []


def left_out_md(sections: Sequence[Section]) -> str:
    """Markdown naming the sections left out and what fills them ("" when none is)."""
    if not sections:
        return ""
    return ("Left out, for want of rows in these roots (run the grid named, `configs/attack/<grid>.yaml`, "
            "then this report again: `make scale-study STUDY_EVAL=0`):\n\n"
            + "\n".join(s.left_out_line() for s in sections) + "\n\n")


def write_report(runs: Mapping[str, Sequence[RunResults]], roots: Mapping[str, str | Path], out: str | Path
                 ) -> list[Section]:
    """Write the sections of the study that ``runs`` (:func:`load_scales` of ``roots``) have rows for into
    ``out``: their files, and ``tables.md`` with their tables after a list of the sections left out (and the
    grid that fills each); a left-out section's files from an earlier report are removed. Returns the
    sections left out.

    Raises:
        ResultsError: no section has rows (nothing is written).
    """
    out = Path(out)
    points = scale_points(runs)
    parts = untargeted_part(points, runs) + corruption_part(runs) + section_parts(runs, points)
    sections = (UNTARGETED, CORRUPTION, *SECTIONS)
    if not parts:
        grids = ", ".join(dict.fromkeys(s.grid for s in sections))
        where = ", ".join(map(str, roots.values()))
        raise ResultsError(f"no rows for any section of the scale study in {where}"
                           f" (run one of its grids: {grids}; make attack-eval ATTACK=<grid> SCALE=<scale>)")
    written = {p.section for p in parts}
    left_out = [s for s in sections if s not in written]
    for part in parts:
        part.write(out)
    for section in left_out:
        for name in section.files:
            (out / name).unlink(missing_ok=True)
    body = "".join(p.markdown for p in parts).lstrip("\n")
    atomic_write(out / TABLES_MD, "# Scale study: tables (made by `python -m studies.scale.report`)\n\n"
                 + "Results roots: " + ", ".join(f"`{s}` = `{r}`" for s, r in roots.items()) + "\n\n"
                 + left_out_md(left_out) + body)
    return left_out


def write_study(roots: Mapping[str, str | Path], out: str | Path) -> Path:
    """Load the scales' results (:func:`load_scales`) and write the report into ``out``
    (:func:`write_report`); returns ``out``."""
    write_report(load_scales(roots), roots, out)
    return Path(out)


def _pair(text: str) -> tuple[str, str]:
    scale, sep, root = text.partition("=")
    if not sep or not scale or not root:
        raise argparse.ArgumentTypeError("expected <scale>=<results root>[,<root>...], e.g. "
                                         f"r18-128=results/attack-scale-r18-128, got {text!r}")
    try:
        parse_scale(scale)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return scale, root


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Scale study report: robustness vs crop size and backbone depth.")
    p.add_argument("scales", nargs="+", type=_pair, help="<scale>=<results root> (one per scale)")
    p.add_argument("--out", default="docs/results/scale", help="folder for scale.csv, tables.md, figures")
    args = p.parse_args(argv)
    roots = dict(args.scales)
    try:
        left_out = write_report(load_scales(roots), roots, args.out)
    except (ResultsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = Path(args.out)
    print(f"scale study written to {out}/ (tables.md, scale.csv, figures, the sections' CSVs)" if not left_out
          else f"scale study written to {out}/; left out (no rows, see {TABLES_MD}): "
          + "; ".join(s.name for s in left_out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
