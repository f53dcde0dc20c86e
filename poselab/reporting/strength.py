"""How much do the paper's attacks understate the damage? The paper's FGSM / IGSM next to the stronger attacks
(APGD, Square, the per-sample worst-case ``ensemble``), from saved results: tables, ranking, figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from poselab import style
from poselab.reporting.tables import FAILED_NOTE, Table
from poselab.results.reader import Cell
from poselab.results.schema import CLEAN, FAILED, MPJPE, PMPJPE, TARGET_MPJPE, is_targeted
from poselab.results.statistics import joined, reversed_resolved

#: The paper's attacks and the stronger ones, in column order; the strongest is the last one present.
PAPER_ATTACKS = ("fgsm", "igsm_u", "igsm_t")
STRONG_ATTACKS = ("pgd", "apgd", "square", "ensemble")
#: The name of the untargeted MPJPE P1 strength table (:func:`strength_table` names tables by metric).
MAIN_TABLE = f"strength_{MPJPE}"


def has_strong_attacks(cells: Sequence[Cell]) -> bool:
    """Whether rows come from a stronger evaluation (any attack of :data:`STRONG_ATTACKS`)."""
    return any(c.attack in STRONG_ATTACKS for c in cells)


def _main_experiment(cells: Sequence[Cell], run: str) -> tuple[str, int] | None:
    """(experiment, attacked_views) of a run's untargeted rows: ``untargeted``, else ``multiview`` with the
    most attacked views; None without strong-attack rows."""
    here = [c for c in cells if c.run == run and c.attack in STRONG_ATTACKS]
    if any(c.experiment == "untargeted" for c in here):
        return "untargeted", 1
    views = [c.attacked_views for c in here if c.experiment == "multiview"]
    return ("multiview", max(views)) if views else None


def _columns(sel: Sequence[Cell]) -> list[tuple[str, int]]:
    """(attack, iterations) pairs present: the paper's attacks first, then the stronger ones."""
    order = {a: i for i, a in enumerate(PAPER_ATTACKS + STRONG_ATTACKS)}
    pairs = {(c.attack, c.iterations) for c in sel if c.attack in order}
    return sorted(pairs, key=lambda p: (order[p[0]], p[1]))


def percent_worse(strong: float | None, paper: float | None, targeted: bool = False) -> float | None:
    """How much worse the strongest attack is, in per cent: error ratio - 1 (untargeted), distance ratio
    inverted (targeted: the paper attack's distance / the strongest one's) - 1."""
    if strong is None or paper is None or not paper > 0 or not strong > 0:
        return None
    return 100.0 * ((paper / strong if targeted else strong / paper) - 1.0)


#: Header prefix of the gap columns, one per iteration budget: ``% worse (10 it.)``.
GAP = "% worse"
#: Where a strength table's title lists the attacks each gap column compares.
_SAME_BUDGET = "same budget ("


def attack_columns(table: Table) -> list[str]:
    """The attack columns of a strength table (``<attack> <iterations>``), paper attacks first."""
    return [c for c in table.columns[3:] if not c.startswith(GAP)]


def _budgets(cols: Sequence[tuple[str, int]]) -> list[tuple[int, tuple[str, int], tuple[str, int]]]:
    """Per iteration budget that a stronger attack and a paper attack other than FGSM both ran: (budget, the
    strongest attack there, the paper attack there), by budget."""
    out = []
    for it in sorted({p[1] for p in cols}):
        strong = [p for p in cols if p[1] == it and p[0] in STRONG_ATTACKS]
        paper = [p for p in cols if p[1] == it and p[0] in PAPER_ATTACKS and p[0] != "fgsm"]
        if strong and paper:
            out.append((it, strong[-1], paper[-1]))
    return out


def _key(c: Cell) -> tuple[Any, ...]:
    return (c.run, c.experiment, c.target, c.eps, c.attack, c.iterations)


def strength_table(cells: Sequence[Cell], runs: Sequence[str], metric: str = MPJPE,
                   targeted: bool = False) -> Table | None:
    """One row per run, experiment, target and eps: the metric under each attack/iteration count, and per
    iteration budget both ran ``% worse (N it.)``: the strongest attack's value vs IGSM's at N iterations
    (None: no data; without a shared budget, the strongest attack vs the paper's last column). Values whose
    setting had failed triangulations are marked "*" (:data:`~poselab.reporting.tables.FAILED_NOTE`)."""
    sel: list[Cell] = []
    for run in runs:
        if targeted:
            sel += [c for c in cells if c.run == run and is_targeted(c.experiment)
                    and c.metric == metric]
        elif (main := _main_experiment(cells, run)) is not None:
            exp, views = main
            sel += [c for c in cells if c.run == run and c.experiment == exp and c.metric == metric
                    and (c.attack == CLEAN or c.attacked_views == views)]
    cols = _columns(sel)
    strong = [p for p in cols if p[0] in STRONG_ATTACKS]
    paper = [p for p in cols if p[0] in PAPER_ATTACKS]
    if not strong or not paper:
        return None
    budgets = _budgets(cols) or [(strong[-1][1], strong[-1], paper[-1])]
    value = {_key(c): c.value for c in sel}
    ci = {_key(c): (c.ci_low, c.ci_high) for c in sel if math.isfinite(c.ci_low) and math.isfinite(c.ci_high)}
    cis: dict[tuple[int, str], tuple[float, float]] = {}
    views = {(c.run, c.experiment): c.attacked_views for c in sel if c.attack != CLEAN}
    failed = {_key(c): c.value for c in cells
              if c.metric == FAILED and views.get((c.run, c.experiment)) == c.attacked_views}
    clean = {(c.run, c.experiment): c.value for c in sel if c.attack == CLEAN}
    rows: list[list[Any]] = []
    marks: set[tuple[int, int]] = set()
    for key in sorted({(c.run, c.experiment, c.target, c.eps) for c in sel if c.attack != CLEAN},
                      key=lambda k: (runs.index(k[0]), k[1], k[2], k[3])):
        run, exp, target, eps = key
        vals = [value.get((*key, *p)) for p in cols]
        gaps = [percent_worse(value.get((*key, *best)), value.get((*key, *base)), targeted)
                for _, best, base in budgets]
        marks |= {(len(rows), 3 + j) for j, p in enumerate(cols)
                  if (failed.get((*key, *p)) or 0) > 0 and vals[j] is not None and not math.isnan(vals[j])}
        label = f"{run} {exp}" + (f" {target}" if target else "")
        cis |= {(len(rows), f"{a} {it}"): ci[(*key, a, it)] for a, it in cols if (*key, a, it) in ci}
        rows.append([label, eps, clean.get((run, exp)), *vals, *gaps])
    what = "distance to the target" if targeted else {MPJPE: "MPJPE P1", PMPJPE: "P-MPJPE P2"}[metric]
    name = f"strength_{'targeted' if targeted else metric}"
    pairs = "; ".join(f"{it} it.: {best[0]} {best[1]} vs {base[0]} {base[1]}" for it, best, base in budgets)
    title = (f"Paper attacks vs stronger ones: {what} (mm) per run and eps; '{GAP}' = the strongest attack "
             f"vs the paper's at the {_SAME_BUDGET}{pairs})"
             + (" (IGSM distance / strongest distance)" if targeted else ""))
    header = ["run", "eps", "clean", *[f"{a} {it}" for a, it in cols],
              *(f"{GAP} ({it} it.)" for it, _, _ in budgets)]
    note = FAILED_NOTE if any(k[1] == "multiview" for k in failed) else ""
    return Table(name, title, header, rows, metric, marks, note, cis=cis)


def _order(table: Table, eps: float, col: str) -> list[tuple[str, tuple[float, float] | None]]:
    """(run, 95 % CI or None) of the table's rows at ``eps`` with a value in column ``col``, least first."""
    i = table.columns.index(col)
    ok = [k for k, r in enumerate(table.rows) if r[1] == eps and r[i] is not None and not math.isnan(r[i])]
    ok.sort(key=lambda k: table.rows[k][i])
    return [(table.rows[k][0].split()[0], table.cis.get((k, col))) for k in ok]


def ranking_table(table: Table) -> Table | None:
    """The runs' robustness ranking (most robust first) per eps of an untargeted strength table, under the
    paper's attack at the strongest attack's iteration count and under the strongest: does it survive? "≈"
    joins neighbours whose 95 % CIs overlap; a reordering counts only when a resolved pair is reversed."""
    cols = attack_columns(table)
    best = cols[-1]
    paper = next((c for c in reversed(cols) if c.split()[0] in PAPER_ATTACKS
                  and c.split()[1] == best.split()[1] and not c.startswith("fgsm")), None)
    if paper is None:
        return None
    epses = sorted({r[1] for r in table.rows})
    orders = [(eps, _order(table, eps, paper), _order(table, eps, best)) for eps in epses]
    if not orders or len(orders[0][1]) < 2:
        return None
    rows = []
    for eps, a, b in orders:
        same = [n for n, _ in a] == [n for n, _ in b]
        survives = "yes" if same else "no" if reversed_resolved(a, b) else "yes, within the CIs"
        rows.append([eps, joined(a), joined(b), survives])
    what = table.title.split(":")[1].split("(")[0].strip()
    return Table("strength_ranking", f"Ranking of the runs by {what} (most robust first): does the paper's "
                 "ranking survive the stronger evaluation?", ["eps", paper, best, "survives"], rows, MPJPE)


def strength_summary(tables: Sequence[Table]) -> list[str]:
    """One-line answers: how much the strongest attack adds, and whether the ranking survives."""
    lines = []
    main = next((t for t in tables if t.name == MAIN_TABLE), None)
    if main is not None:
        listed = main.title.split(_SAME_BUDGET, 1)[-1].split(")", 1)[0]
        pairs = dict(p.split(": ", 1) for p in listed.split("; ") if ": " in p)
        for col in (c for c in main.columns if c.startswith(GAP)):
            i = main.columns.index(col)
            ratios = [r[i] for r in main.rows if r[i] is not None]
            if ratios:
                budget = col[len(GAP):].strip(" ()")
                lines.append(f"At {budget.replace('it.', 'iterations')}, the strongest attack finds "
                             f"{min(ratios):+.0f} % to {max(ratios):+.0f} % more MPJPE than the paper's "
                             f"({pairs.get(budget, budget)}).")
    rank = next((t for t in tables if t.name == "strength_ranking"), None)
    if rank is not None:
        kept = [r[0] for r in rank.rows if r[3] != "no"]
        lost = [r[0] for r in rank.rows if r[3] == "no"]
        lines.append("The paper's robustness ranking " + (
            "survives at every eps." if not lost else
            f"changes at eps {', '.join(f'{e:g}' for e in lost)}" + (
                f" (kept at eps {', '.join(f'{e:g}' for e in kept)})." if kept else ".")))
    return lines


def strength_tables(cells: Sequence[Cell], runs: Sequence[str]) -> list[Table]:
    """The strength tables that have data: MPJPE, P-MPJPE, the ranking and the targeted reach."""
    tables = [t for t in (strength_table(cells, runs, MPJPE), strength_table(cells, runs, PMPJPE),
                          strength_table(cells, runs, TARGET_MPJPE, targeted=True)) if t is not None]
    main = next((t for t in tables if t.name == MAIN_TABLE), None)
    rank = ranking_table(main) if main is not None else None
    return tables + ([rank] if rank is not None else [])


def plot_strength(tables: Sequence[Table], path: Path) -> Path | None:
    """MPJPE vs eps per run (one panel each): one line per attack column (the paper's dashed, the stronger
    ones solid), the clean error at eps 0."""
    main = next((t for t in tables if t.name == MAIN_TABLE), None)
    if main is None:
        return None
    plt = style.pyplot()
    runs = list(dict.fromkeys(r[0] for r in main.rows))
    cols = attack_columns(main)
    styles = style.series_styles(len(cols), ["--" if c.split()[0] in PAPER_ATTACKS else "-" for c in cols])
    clean_i = main.columns.index("clean")
    values = [r[i] for r in main.rows for i in [clean_i, *map(main.columns.index, cols)] if r[i] is not None]
    log = style.spans_decades(values)
    fig, axes = plt.subplots(1, len(runs), figsize=(4.0 * len(runs) + 0.8, 3.8), squeeze=False)
    for j, (ax, run) in enumerate(zip(axes[0], runs)):
        rows = sorted((r for r in main.rows if r[0] == run), key=lambda r: r[1])
        for col, st in zip(cols, styles):
            i = main.columns.index(col)
            pts = [(0.0, rows[0][clean_i])] + [(r[1], r[i]) for r in rows if r[i] is not None]
            style.plot_series(ax, [p[0] for p in pts], [p[1] for p in pts], st, col)
        style.eps_axis(ax, [0.0, *(r[1] for r in rows)])
        if log:
            style.log_axis(ax)
        style.panel(ax, run, ylabel=f"MPJPE P1 (mm{', log scale' if log else ''})" if j == 0 else None)
    style.figure_legend(fig, axes.flat, title="attack, iterations")
    fig.suptitle("Paper attacks (dashed) vs stronger ones (solid): untargeted MPJPE P1 (mm) vs eps (px)",
                 fontsize=style.TITLE_SIZE)
    fig.tight_layout()
    return style.save(fig, path)
