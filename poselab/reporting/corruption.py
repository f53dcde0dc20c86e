"""Corruption robustness in the reports: per-run tables and curves, and beside adversarial robustness.

Reads results rows of the ``corruption`` experiment (:mod:`poselab.experiments.corruption`):

* any number of runs (a run's own report is the report of that run): :func:`severity_tables` (error per
  corruption, mean over severities; error per severity, mean over corruptions) and :func:`plot_severity`
  (MPJPE vs severity);
* :func:`corruption_section` — per metric the error per corruption
  (mean over severities), mCE and relative mCE against a named baseline run
  (:mod:`poselab.results.mce`, Hendrycks & Dietterich 2019), a table ranking every run under
  corruptions and under attacks with Kendall's tau between the rankings, and a figure of both.

A run is compared on its *whole input corrupted*: its largest ``attacked_views`` (all views of a
multi-view model; the fed view of a monocular one); other view counts (one camera of four corrupted)
appear as extra rows "run [k of V views]". The adversarial side is, per run, MPJPE P1 under the untargeted
attack settings (attack, eps, iterations) all runs share, with every input view attacked: the
``untargeted`` rows of monocular models, the ``multiview`` rows with all views attacked of multi-view
ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from poselab.corruptions.registry import get_corruption
from poselab.reporting.tables import Table
from poselab.results.mce import summarise
from poselab.results.reader import ResultsError
from poselab.results.schema import CLEAN, CORRUPTION_EXPERIMENT, JDR, MPJPE, PMPJPE

#: The corruption metrics, their table titles and value formats.
METRICS = {MPJPE: "MPJPE P1 (mm)", PMPJPE: "MPJPE P2 (mm)", JDR: "1 - JDR (fraction)"}


def _get(record: Any, key: str) -> Any:
    return record.get(key) if isinstance(record, Mapping) else getattr(record, key)


def _label(record: Any) -> str:
    """A row's run: the ``run`` label of a reader cell, else its ``model``."""
    return str(record.run) if hasattr(record, "run") else str(_get(record, "model"))


def _records(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Corruption rows (dicts or reader cells) as plain dicts: run, views, corruption ("clean" for the clean
    row), severity, metric, value."""
    out = []
    for r in rows:
        if _get(r, "experiment") != CORRUPTION_EXPERIMENT:
            continue
        value = _get(r, "value")
        out.append({"run": _label(r), "views": int(float(_get(r, "attacked_views"))),
                    "corruption": str(_get(r, "corruption") or CLEAN),
                    "severity": int(float(_get(r, "severity"))),
                    "metric": str(_get(r, "metric")),
                    "value": float(value) if value not in ("", None) else math.nan})
    return out


def wide_rows(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Rows in the wide form of :func:`poselab.results.mce.summarise`: one per (model, corruption,
    severity) with a value per metric; "model" is the run, or "run [k of V views]" for a view count k below
    the run's largest V (the clean row is repeated for each)."""
    recs = _records(rows)
    full = {}
    for r in recs:
        full[r["run"]] = max(full.get(r["run"], 0), r["views"])
    out: dict[tuple, dict[str, Any]] = {}
    for r in recs:
        counts = [r["views"]] if r["corruption"] != CLEAN else sorted({q["views"] for q in recs
                                                                       if q["run"] == r["run"]} - {0},
                                                                      reverse=True)
        for k in counts or [0]:
            model = r["run"] if k in (0, full[r["run"]]) else f"{r['run']} [{k} of {full[r['run']]} views]"
            row = out.setdefault((model, r["corruption"], r["severity"]),
                                 {"model": model, "corruption": r["corruption"], "severity": r["severity"]})
            row[r["metric"]] = r["value"]
    return [{**{m: "" for m in METRICS}, **row} for row in out.values()]


def _by_metric(rows: Sequence[Any]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(metric, title, wide rows that have it) for each metric of :data:`METRICS` with data."""
    wide = wide_rows(rows)
    out = [(metric, title, [r for r in wide if r[metric] != ""]) for metric, title in METRICS.items()]
    return [(m, t, have) for m, t, have in out if have]


# ------------------------------------------------------------------------------------------- any runs
def severity_tables(rows: Sequence[Any]) -> list[Table]:
    """Per metric, one line per run (and corrupted-view count): the clean error, the error per corruption
    (mean over severities), per severity s1.. (mean over corruptions) and the mean of all; JDR as 1 - JDR.
    Empty without corruption rows. ``rows``: results rows or reader cells."""
    tables = []
    for metric, title, have in _by_metric(rows):
        names = list(dict.fromkeys(r["corruption"] for r in have if r["corruption"] != CLEAN))
        sevs = sorted({r["severity"] for r in have if r["corruption"] != CLEAN})
        body = []
        for model in dict.fromkeys(r["model"] for r in have):
            err = _errors(have, model, metric)
            by_c = [_mean(err.get((c, s)) for s in sevs) for c in names]
            by_s = [_mean(err.get((c, s)) for c in names) for s in sevs]
            body.append([model, err.get((CLEAN, 0)), *by_c, *by_s, _mean(by_c)])
        tables.append(Table(f"corruption_severity_{metric}",
                            f"Common corruptions: {title} per corruption (mean over severities) and per "
                            "severity s1.. (mean over corruptions)",
                            ["model", "clean", *names, *(f"s{s}" for s in sevs), "mean"], body, metric))
    return tables


def plot_severity(rows: Sequence[Any], runs: Sequence[str], path: str | Path) -> Path | None:
    """Figure: MPJPE P1 vs severity (0 = clean), one panel per run, one line per corruption (its own colour
    and marker in every panel), solid with every view corrupted, dashed with only some (a multi-view run's
    "k of V views" rows); None without corruption rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from poselab import style

    wide = [r for r in wide_rows(rows) if r[MPJPE] != ""]
    runs = [r for r in runs if any(w["model"] == r or w["model"].startswith(f"{r} [") for w in wide)]
    if not runs:
        return None
    names = list(dict.fromkeys(r["corruption"] for r in wide if r["corruption"] != CLEAN))
    base = dict(zip(names, style.series_styles(len(names), ["-"] * len(names))))
    ncols = min(len(runs), 2)  # two panels a row: readable beside the long legend
    nrows = -(-len(runs) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.8 * ncols + 0.8, 3.6 * nrows), dpi=100, squeeze=False,
                             sharey=True)
    for ax in axes.flat[len(runs):]:
        ax.set_visible(False)
    partial = False
    for j, (ax, run) in enumerate(zip(axes.flat, runs)):
        mine = [r for r in wide if r["model"] == run or r["model"].startswith(f"{run} [")]
        sevs = [0] + sorted({r["severity"] for r in mine if r["corruption"] != CLEAN})
        for model in dict.fromkeys(r["model"] for r in mine):
            err = _errors(mine, model, MPJPE)
            clean = err.get((CLEAN, 0), math.nan)
            partial |= model != run
            for name in dict.fromkeys(r["corruption"] for r in mine if r["corruption"] != CLEAN):
                ys = [clean if sev == 0 else err.get((name, sev), math.nan) for sev in sevs]
                st = base[name] if model == run else replace(base[name], linestyle="--")
                style.plot_series(ax, sevs, ys, st, name + model[len(run):])
        style.panel(ax, run, "severity (0 = clean)", "MPJPE P1 (mm)" if j % ncols == 0 else None)
    style.figure_legend(fig, axes.flat, title="corruption")
    fig.suptitle("Common corruptions: MPJPE P1 (mm) vs severity"
                 + (" (dashed: only some views corrupted)" if partial else ""), fontsize=style.TITLE_SIZE)
    fig.tight_layout()
    return style.save(fig, path)


def _errors(wide: Sequence[Mapping[str, Any]], model: str, metric: str) -> dict[tuple[str, int], float]:
    """(corruption, severity) -> error of ``model`` (1 - JDR for JDR); the clean row under ("clean", 0)."""
    out = {}
    for r in wide:
        if r["model"] == model and r[metric] != "":
            out[(r["corruption"], r["severity"])] = 1.0 - r[metric] if metric == JDR else r[metric]
    return out


def _mean(values: Iterable[float | None]) -> float:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else math.nan


# ------------------------------------------------------------------------------------------- several runs
@dataclass
class CorruptionSection:
    """What :func:`corruption_section` adds to a report: tables, figures (name -> PNG), findings (lines)."""

    tables: list[Table] = field(default_factory=list)
    figures: dict[str, Path] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)


def mce_tables(rows: Sequence[Any], baseline: str, compare: bool = True) -> list[Table]:
    """Per metric: each model's clean error, error per corruption (mean over severities), mean, mCE and
    relative mCE against ``baseline`` (mCE noise / other when both families are present); ``compare``
    False (one run: its mCE vs itself would be 1): without the mCE columns."""
    tables = []
    for metric, title, have in _by_metric(rows):
        base = baseline if any(r["model"] == baseline for r in have) else have[0]["model"]
        table = summarise(have, base, metric)
        names = [k.removeprefix("mean_") for k in table[0] if k.startswith("mean_")]
        noise = [n for n in names if get_corruption(n).family == "noise"]
        other = [n for n in names if n not in noise]
        groups = {"mCE noise": noise, "mCE other": other} if noise and other and compare else {}
        by_group = {g: {r["model"]: r["mce"] for r in summarise(have, base, metric, sub)}
                    for g, sub in groups.items()}
        columns = ["model", "clean", *names, "mean", "mCE", "rel. mCE", *groups]
        body = [[r["model"], r["clean"], *(r[f"mean_{n}"] for n in names),
                 _mean(r[f"mean_{n}"] for n in names), r["mce"], r["relative_mce"],
                 *(by_group[g].get(r["model"]) for g in groups)] for r in table]
        title = f"Common corruptions: {title}, mean over severities"
        if compare:
            title += f"; mCE and relative mCE vs {base}"
        else:
            keep = [i for i, c in enumerate(columns) if c not in ("mCE", "rel. mCE")]
            columns, body = [columns[i] for i in keep], [[r[i] for i in keep] for r in body]
        tables.append(Table(f"corruption_{metric}", title, columns, body, metric,
                            digits={c: 3 for c in ("mCE", "rel. mCE", *groups)}))
    return tables


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


def attack_scores(cells: Sequence[Any], runs: Sequence[str]) -> tuple[dict[str, tuple[float, float]], str]:
    """Per run (clean MPJPE P1, mean MPJPE P1 over the untargeted attack settings all runs share with every
    view attacked) in mm, and a description of those settings; ({}, reason) when they share none."""
    per_run: dict[str, dict[tuple, float]] = {}
    clean: dict[str, float] = {}
    for r in runs:
        mine = [c for c in cells if _label(c) == r and _get(c, "metric") == MPJPE
                and _get(c, "experiment") in ("untargeted", "multiview")]
        if not mine:
            continue
        exp = "multiview" if any(_get(c, "experiment") == "multiview" for c in mine) else "untargeted"
        mine = [c for c in mine if _get(c, "experiment") == exp]
        full = max(int(_get(c, "attacked_views")) for c in mine)
        clean_v = [float(_get(c, "value")) for c in mine if _get(c, "attack") == CLEAN]
        per_run[r] = {(_get(c, "attack"), float(_get(c, "eps")), int(_get(c, "iterations"))):
                      float(_get(c, "value"))
                      for c in mine if _get(c, "attack") != CLEAN and int(_get(c, "attacked_views")) == full
                      and float(_get(c, "eps")) > 0}
        if clean_v:
            clean[r] = clean_v[0]
    if not per_run:
        return {}, "no untargeted or multi-view attack rows"
    shared = set.intersection(*(set(v) for v in per_run.values()))
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
    return {r: (clean.get(r, math.nan), _mean(per_run[r][k] for k in shared)) for r in runs}, desc


def _ranks(scores: Mapping[str, float]) -> dict[str, int]:
    """1 = smallest score (most robust)."""
    order = sorted(scores, key=lambda r: scores[r])
    return {r: order.index(r) + 1 for r in scores}


def corruption_section(cells: Sequence[Any], runs: Sequence[str], figures_dir: str | Path,
                       baseline: str | None = None) -> CorruptionSection | None:
    """The report's corruption part (None without corruption rows): mCE tables vs ``baseline`` (default
    ``regression`` when present, else the first run with corruption rows), the ranking table under
    corruptions and attacks with Kendall's tau, and the figure ``corruption_vs_attack``."""
    recs = _records(cells)
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
    attacks, desc = attack_scores(cells, with_rows)
    figure = Path(figures_dir) / "corruption_vs_attack.png"
    section.figures["corruption_vs_attack"] = plot_corruption_vs_attack(cells, with_rows, attacks, figure)
    if not attacks:
        section.findings.append(f"Corruption vs attack ranking: not compared ({desc}).")
        return section
    mce_rank = _ranks({r: corr[r][1] for r in with_rows})
    rel_rank = _ranks({r: corr[r][2] for r in with_rows})
    adv_rank = _ranks({r: attacks[r][1] for r in with_rows})
    inc_rank = _ranks({r: attacks[r][1] - attacks[r][0] for r in with_rows})
    rows = [[r, attacks[r][0], corr[r][0], corr[r][1], mce_rank[r], corr[r][2], rel_rank[r], attacks[r][1],
             adv_rank[r], attacks[r][1] - attacks[r][0], inc_rank[r]] for r in with_rows]
    rows.sort(key=lambda row: row[4])
    tau_abs = kendall_tau([mce_rank[r] for r in with_rows], [adv_rank[r] for r in with_rows])
    tau_rel = kendall_tau([rel_rank[r] for r in with_rows], [inc_rank[r] for r in with_rows])
    section.tables.append(Table(
        "corruption_vs_attack",
        f"Ranking under corruptions (MPJPE P1, mCE vs {base}) and under attacks ({desc}); "
        f"rank 1 = most robust; Kendall tau (mCE vs attacked MPJPE) = {tau_abs:.2f}, "
        f"(rel. mCE vs attack increase) = {tau_rel:.2f}",
        ["run", "clean", "corrupted mean", "mCE", "rank mCE", "rel. mCE", "rank rel. mCE", "attacked mean",
         "rank attacked", "attack increase", "rank increase"], rows, MPJPE,
        digits={"mCE": 3, "rel. mCE": 3, **{c: 0 for c in ("rank mCE", "rank rel. mCE", "rank attacked",
                                                           "rank increase")}}))
    by = lambda ranks: " < ".join(sorted(with_rows, key=lambda r: ranks[r]))  # noqa: E731
    verdict = ("the same ranking" if tau_abs == 1 else "the reverse ranking" if tau_abs == -1 else
               "a different ranking")
    section.findings += [
        f"Corruptions vs attacks ({len(with_rows)} runs): under corruptions (mCE, MPJPE P1 vs {base}) "
        f"{by(mce_rank)}; under attacks (attacked MPJPE P1, {desc}) {by(adv_rank)}: {verdict}, "
        f"Kendall tau = {tau_abs:.2f}.",
        f"Degradation over the clean error: relative mCE {by(rel_rank)}; attack increase {by(inc_rank)}: "
        f"Kendall tau = {tau_rel:.2f}.",
    ]
    return section


def plot_corruption_vs_attack(cells: Sequence[Any], runs: Sequence[str],
                              attacks: Mapping[str, tuple[float, float]], path: str | Path) -> Path:
    """Figure: MPJPE P1 vs severity (mean over corruptions, whole input corrupted) per run, and mean
    corrupted MPJPE vs mean attacked MPJPE per run (when attack scores are given); each run has one colour
    and marker in both panels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from poselab import style

    wide = [r for r in wide_rows(cells) if r[MPJPE] != "" and r["model"] in runs]
    fig, axes = plt.subplots(1, 2 if attacks else 1, figsize=(11 if attacks else 5.5, 4.2), dpi=100,
                             squeeze=False)
    styles = dict(zip(runs, style.series_styles(len(runs))))
    ax = axes[0, 0]
    points = {}
    for run in runs:
        err = _errors(wide, run, MPJPE)
        names = list(dict.fromkeys(c for c, s in err if c != CLEAN))
        sevs = sorted({s for c, s in err if c != CLEAN})
        ys = [err.get((CLEAN, 0), math.nan)] + [_mean(err.get((c, s)) for c in names) for s in sevs]
        style.plot_series(ax, [0, *sevs], ys, styles[run], run)
        points[run] = _mean(ys[1:])
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
