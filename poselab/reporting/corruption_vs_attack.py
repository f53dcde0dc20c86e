"""Corruption vs adversarial robustness in the reports: runs ranked under corruptions (mCE, relative mCE)
and under attacks, each aggregate with a 95 % bootstrap CI over samples, Kendall's tau between the
rankings, and a figure (docs/CORRUPTIONS.md)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from poselab import style
from poselab.reporting.corruption import (
    errors_by_setting,
    finite_mean,
    mce_tables,
    plot_severity,
    records,
    wide_rows,
)
from poselab.reporting.tables import Table
from poselab.results.reader import Cell, ResultsError, samples_ci
from poselab.results.schema import CLEAN, CORRUPTION_EXPERIMENT, MPJPE
from poselab.results.statistics import has_ci, joined, rank_resolved, reversed_resolved


@dataclass
class CorruptionSection:
    """What :func:`corruption_section` adds to a report: tables, figures (name -> PNG), findings (lines)."""

    tables: list[Table] = field(default_factory=list)
    figures: dict[str, Path] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau-b between two score lists (ties counted as in SciPy); NaN for fewer than 2 items."""
    if len(a) != len(b):
        raise ValueError(f"kendall_tau needs equal lengths, got {len(a)} and {len(b)}")
    conc = disc = ties_a = ties_b = 0
    for i in range(len(a)):
        for j in range(i + 1, len(a)):
            da, db = a[i] - a[j], b[i] - b[j]
            if da == 0 and db == 0:
                continue
            if da == 0:
                ties_a += 1
            elif db == 0:
                ties_b += 1
            elif (da > 0) == (db > 0):
                conc += 1
            else:
                disc += 1
    denom = math.sqrt((conc + disc + ties_a) * (conc + disc + ties_b))
    return (conc - disc) / denom if denom else math.nan


def _attack_cells(cells: Sequence[Cell], runs: Sequence[str]
                  ) -> tuple[dict[str, tuple[Cell | None, list[Cell]]], str]:
    """Per run (its clean MPJPE P1 cell or None, its cells at the untargeted attack settings all runs share
    with every view attacked, in one order), and a description of those settings; ({}, reason) when they
    share none."""
    per_run: dict[str, dict[tuple, Cell]] = {}
    clean: dict[str, Cell] = {}
    for r in runs:
        mine = [c for c in cells if c.run == r and c.metric == MPJPE
                and c.experiment in ("untargeted", "multiview")]
        if not mine:
            continue
        exp = "multiview" if any(c.experiment == "multiview" for c in mine) else "untargeted"
        mine = [c for c in mine if c.experiment == exp]
        full = max(c.attacked_views for c in mine)
        per_run[r] = {(c.attack, c.eps, c.iterations): c for c in mine
                      if c.attack != CLEAN and c.attacked_views == full and c.eps > 0}
        if clean_c := [c for c in mine if c.attack == CLEAN]:
            clean[r] = clean_c[0]
    if not per_run:
        return {}, "no untargeted or multi-view attack rows"
    shared = sorted(set.intersection(*(set(v) for v in per_run.values())))
    missing = [r for r in runs if r not in per_run]
    if not shared or missing:
        why = "runs without attack rows: " + ", ".join(missing) if missing else "no shared attack setting"
        return {}, why
    eps = sorted({k[1] for k in shared})
    its = sorted({k[2] for k in shared})
    attacks = sorted({k[0] for k in shared})
    desc = (f"mean over {len(shared)} shared settings ({', '.join(attacks)}; "
            f"eps {', '.join(f'{e:g}' for e in eps)} px; iterations {', '.join(map(str, its))}), "
            "all views attacked")
    return {r: (clean.get(r), [per_run[r][k] for k in shared]) for r in runs}, desc


def _value(cell: Cell | None) -> float:
    return math.nan if cell is None else cell.value


@dataclass(frozen=True)
class Score:
    """A run's aggregate (mm or a ratio) and its 95 % CI (NaN: no CI), as ranked by the comparison."""

    value: float
    ci_low: float = math.nan
    ci_high: float = math.nan


def _corruption_terms(cells: Sequence[Cell], run: str, base: str) -> dict[str, list[tuple[Any, float]]]:
    """The corruption aggregates of ``run`` as weighted sums of its MPJPE P1 cells (whole input corrupted):
    mCE and relative mCE (the baseline's errors as fixed weights); {} when a cell is missing."""
    def grid(r: str) -> tuple[Cell | None, dict[tuple[str, int], Cell]]:
        mine = [c for c in cells if c.run == r and c.experiment == CORRUPTION_EXPERIMENT
                and c.metric == MPJPE]
        full = max((c.attacked_views for c in mine if c.corruption), default=0)
        return (next((c for c in mine if not c.corruption), None),
                {(c.corruption, c.severity): c for c in mine if c.corruption and c.attacked_views == full})
    (clean, mine), (base_clean, theirs) = grid(run), grid(base)
    if clean is None or base_clean is None or not mine or set(mine) != set(theirs):
        return {}
    names = sorted({c for c, _ in mine})
    ce = {c: _inverse(len(names) * sum(x.value for (n, _), x in theirs.items() if n == c)) for c in names}
    rel = {c: _inverse(len(names) * sum(x.value - base_clean.value for (n, _), x in theirs.items() if n == c))
           for c in names}
    return {"mce": [(x, ce[c]) for (c, _), x in mine.items()],
            "rel": [(x, rel[c]) for (c, _), x in mine.items()] + [(clean, -sum(rel[c] for c, _ in mine))]}


def _inverse(x: float) -> float:
    return 1 / x if x else math.nan  # a zero baseline sum: that ratio (and its CI) is undefined


def _order(scores: Mapping[str, Score]) -> list[tuple[str, Score]]:
    return sorted(scores.items(), key=lambda item: item[1].value)


def _ranked(scores: Mapping[str, Score]) -> tuple[dict[str, int | None], str]:
    """Ranks (1 = most robust; a shared rank where the CIs do not resolve the difference;
    :func:`~poselab.results.statistics.rank_resolved`) and the order as text ("a < b ≈ c"); without any CI
    no ranks and "not ranked (no CI)"."""
    if not any(has_ci(s) for s in scores.values()):
        return dict.fromkeys(scores), "not ranked (no CI: no per-sample values)"
    names = list(scores)
    ranks = rank_resolved([scores[r] for r in names], lambda s: s.value)
    return dict(zip(names, ranks)), joined(_order(scores))


def _ci_text(score: Score) -> str | None:
    return f"[{score.ci_low:.3g}, {score.ci_high:.3g}]" if has_ci(score) else None


def _compare(a: Mapping[str, Score], b: Mapping[str, Score], ranks_a: Mapping[str, int | None],
             ranks_b: Mapping[str, int | None]) -> str:
    """Whether two rankings agree, claiming only resolved differences, with Kendall's tau-b of the ranks
    (shared ranks are ties)."""
    if None in ranks_a.values() or None in ranks_b.values():
        return "not compared (no CIs)"
    names = list(a)
    tau = kendall_tau([ranks_a[r] for r in names], [ranks_b[r] for r in names])
    if reversed_resolved(_order(a), _order(b)):
        verdict = "a different ranking"
    elif joined(_order(a)) == joined(_order(b)) and "≈" not in joined(_order(a)):
        verdict = "the same ranking"
    else:
        verdict = "no resolved pair reversed (the same ranking within the CIs)"
    return f"{verdict}, Kendall tau = " + (f"{tau:.2f}" if math.isfinite(tau) else "undefined (all tied)")


def corruption_section(cells: Sequence[Any], runs: Sequence[str], figures_dir: str | Path,
                       baseline: str | None = None, samples: Mapping[str, Mapping] | None = None
                       ) -> CorruptionSection | None:
    """The report's corruption part (None without corruption rows): mCE tables vs ``baseline`` (default
    ``regression`` when present, else the first run with corruption rows), the ranking table with Kendall's
    tau and the figures; CIs from ``samples`` (run -> :func:`~poselab.results.reader.read_samples`)."""
    recs = records(cells)
    if not recs:
        return None
    with_rows = [r for r in runs if any(q["run"] == r for q in recs)]
    if baseline is not None and baseline not in with_rows:
        raise ResultsError(f"corruption baseline {baseline!r} is not a run with corruption rows "
                         f"({', '.join(with_rows)})")
    base = baseline or ("regression" if "regression" in with_rows else with_rows[0])
    section = CorruptionSection(tables=mce_tables(cells, base, compare=len(with_rows) >= 2))
    severity = plot_severity(cells, with_rows, Path(figures_dir) / "corruption_severity.png")
    if severity is not None:
        section.figures["corruption_severity"] = severity
    if len(with_rows) < 2:  # mCE and rankings compare runs: none with one
        return section
    p1 = next(t for t in section.tables if t.metric == MPJPE)
    ci = p1.columns.index
    corr = {row[0]: (row[ci("mean")], row[ci("mCE")], row[ci("rel. mCE")])
            for row in p1.rows if row[0] in with_rows}
    found, desc = _attack_cells(cells, with_rows)
    attacks = {r: (_value(c), finite_mean(map(_value, xs))) for r, (c, xs) in found.items()}
    figure = Path(figures_dir) / "corruption_vs_attack.png"
    section.figures["corruption_vs_attack"] = plot_corruption_vs_attack(cells, with_rows, attacks, figure)
    if not attacks:
        section.findings.append(f"Corruption vs attack ranking: not compared ({desc}).")
        return section
    samples = {r: (samples or {}).get(r, {}) for r in with_rows}
    scores: dict[str, dict[str, Score]] = {k: {} for k in ("mce", "rel", "attacked", "increase")}
    for r in with_rows:
        terms = _corruption_terms(cells, r, base)
        for k, value in zip(("mce", "rel"), corr[r][1:]):
            scores[k][r] = Score(value, *samples_ci(terms.get(k, []), samples[r]))
        clean, xs = found[r]
        mean = [(x, 1 / len(xs)) for x in xs]
        scores["attacked"][r] = Score(attacks[r][1], *samples_ci(mean, samples[r]))
        scores["increase"][r] = Score(attacks[r][1] - attacks[r][0],
                                      *samples_ci(mean + [(clean, -1.0)], samples[r]))
    (mce_rank, mce_text), (rel_rank, rel_text), (adv_rank, adv_text), (inc_rank, inc_text) = (
        _ranked(scores[k]) for k in ("mce", "rel", "attacked", "increase"))
    rows = [[r, attacks[r][0], corr[r][0], corr[r][1], _ci_text(scores["mce"][r]), mce_rank[r], corr[r][2],
             _ci_text(scores["rel"][r]), rel_rank[r], attacks[r][1], _ci_text(scores["attacked"][r]),
             adv_rank[r], attacks[r][1] - attacks[r][0], _ci_text(scores["increase"][r]), inc_rank[r]]
            for r in with_rows]
    rows.sort(key=lambda row: (row[5] is None, row[5] or 0, row[3]))
    absolute = _compare(scores["mce"], scores["attacked"], mce_rank, adv_rank)
    relative = _compare(scores["rel"], scores["increase"], rel_rank, inc_rank)
    section.tables.append(Table(
        "corruption_vs_attack",
        f"Ranking under corruptions (MPJPE P1, mCE vs {base}) and under attacks ({desc}); "
        "rank 1 = most robust, a shared rank where the 95 % bootstrap CIs overlap, none without CIs; "
        f"mCE vs attacked MPJPE: {absolute}; rel. mCE vs attack increase: {relative}",
        ["run", "clean", "corrupted mean", "mCE", "mCE CI", "rank mCE", "rel. mCE", "rel. mCE CI",
         "rank rel. mCE", "attacked mean", "attacked CI", "rank attacked", "attack increase", "increase CI",
         "rank increase"], rows, MPJPE,
        note="CIs of the aggregates: percentile bootstrap over samples of each run's per-sample values (mCE "
             f"with {base}'s errors as fixed weights)." if any(has_ci(s) for s in scores["mce"].values()) else
             "No CIs (the runs' folders hold no per_sample.csv): the runs are not ranked.",
        digits={"mCE": 3, "rel. mCE": 3, **{c: 0 for c in ("rank mCE", "rank rel. mCE", "rank attacked",
                                                           "rank increase")}}))
    section.findings += [
        f"Corruptions vs attacks ({len(with_rows)} runs): under corruptions (mCE, MPJPE P1 vs {base}) "
        f"{mce_text}; under attacks (attacked MPJPE P1, {desc}) {adv_text}: {absolute}.",
        f"Degradation over the clean error: relative mCE {rel_text}; attack increase {inc_text}: {relative}.",
    ]
    return section


def plot_corruption_vs_attack(cells: Sequence[Any], runs: Sequence[str],
                              attacks: Mapping[str, tuple[float, float]], path: str | Path) -> Path:
    """Figure: MPJPE P1 vs severity (mean over corruptions, whole input corrupted) per run, and mean
    corrupted MPJPE vs mean attacked MPJPE per run (when attack scores are given); each run has one colour
    and marker in both panels."""
    plt = style.pyplot()
    wide = [r for r in wide_rows(cells) if r[MPJPE] != "" and r["model"] in runs]
    fig, axes = plt.subplots(1, 2 if attacks else 1, figsize=(11 if attacks else 5.5, 4.2), dpi=100,
                             squeeze=False)
    styles = dict(zip(runs, style.series_styles(len(runs))))
    ax = axes[0, 0]
    points = {}
    for run in runs:
        err = errors_by_setting(wide, run, MPJPE)
        names = list(dict.fromkeys(c for c, s in err if c != CLEAN))
        sevs = sorted({s for c, s in err if c != CLEAN})
        ys = [err.get((CLEAN, 0), math.nan)] + [finite_mean(err.get((c, s)) for c in names) for s in sevs]
        style.plot_series(ax, [0, *sevs], ys, styles[run], run)
        points[run] = finite_mean(ys[1:])
    style.panel(ax, "Common corruptions: MPJPE P1 (mm) vs severity", "severity (0 = clean)",
                "MPJPE P1 (mm), mean over corruptions")
    ax.legend(fontsize=style.LEGEND_SIZE)
    if attacks:
        ax = axes[0, 1]
        for run in runs:
            st = styles[run]
            ax.plot([attacks[run][1]], [points[run]], linestyle="none", marker=st.marker, markersize=8,
                    color=st.color, label=f"_{run}")  # named by its annotation
            ax.annotate(run, (attacks[run][1], points[run]), fontsize=style.TICK_SIZE, xytext=(5, 5),
                        textcoords="offset points")
        style.panel(ax, "Corruption vs adversarial robustness (lower left = more robust)",
                    "MPJPE P1 under attacks (mm), mean over shared settings",
                    "MPJPE P1 under corruptions (mm), mean")
    fig.tight_layout()
    return style.save(fig, path)
