"""Corruption robustness in the reports: per-run tables and curves, and beside adversarial robustness.

Reads results rows of the ``corruption`` experiment (:mod:`poselab.experiments.corruption`):

* any number of runs (a run's own report is the report of that run): :func:`severity_tables` (error per
  corruption, mean over severities; error per severity, mean over corruptions) and :func:`plot_severity`
  (MPJPE vs severity);
* :func:`corruption_section` — per metric the error per corruption
  (mean over severities), mCE and relative mCE against a named baseline run
  (:mod:`poselab.results.mce`, Hendrycks & Dietterich 2019), a table ranking every run under
  corruptions and under attacks with Kendall's tau between the rankings, and a figure of both. Each
  ranked aggregate has a 95 % CI bootstrapped over the run's samples (``per_sample.csv``); runs are
  ranked only where the CIs resolve them ("≈" where not), and not at all without per-sample values.

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
from poselab.results.reader import ResultsError, cell_key, read_samples
from poselab.results.schema import CLEAN, CORRUPTION_EXPERIMENT, JDR, MPJPE, PMPJPE
from poselab.results.statistics import combined_ci, has_ci, joined, rank_resolved, reversed_resolved

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


def _attack_cells(cells: Sequence[Any], runs: Sequence[str]) -> tuple[dict[str, tuple[Any, list[Any]]], str]:
    """Per run (its clean MPJPE P1 cell or None, its cells at the untargeted attack settings all runs share
    with every view attacked, in one order), and a description of those settings; ({}, reason) when they
    share none."""
    per_run: dict[str, dict[tuple, Any]] = {}
    clean: dict[str, Any] = {}
    for r in runs:
        mine = [c for c in cells if _label(c) == r and _get(c, "metric") == MPJPE
                and _get(c, "experiment") in ("untargeted", "multiview")]
        if not mine:
            continue
        exp = "multiview" if any(_get(c, "experiment") == "multiview" for c in mine) else "untargeted"
        mine = [c for c in mine if _get(c, "experiment") == exp]
        full = max(int(_get(c, "attacked_views")) for c in mine)
        clean_c = [c for c in mine if _get(c, "attack") == CLEAN]
        per_run[r] = {(_get(c, "attack"), float(_get(c, "eps")), int(_get(c, "iterations"))): c
                      for c in mine if _get(c, "attack") != CLEAN and int(_get(c, "attacked_views")) == full
                      and float(_get(c, "eps")) > 0}
        if clean_c:
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


def _value(cell: Any) -> float:
    return math.nan if cell is None else float(_get(cell, "value"))


@dataclass(frozen=True)
class Score:
    """A run's aggregate (mm or a ratio) and its 95 % CI (NaN: no CI), as ranked by the comparison."""

    value: float
    ci_low: float = math.nan
    ci_high: float = math.nan


def _score(value: float, terms: Sequence[tuple[Any, float]], samples: Mapping[tuple, Mapping]) -> Score:
    """``value`` = sum of weight x cell value over ``terms`` (cell, weight), with the CI of that sum from the
    cells' per-sample values (:func:`poselab.results.statistics.combined_ci`; none without them)."""
    got = [samples.get(cell_key(c)) if c is not None else None for c, _ in terms]
    if not got or any(g is None for g in got):
        return Score(value)
    return Score(value, *combined_ci(got, [w for _, w in terms]))


def _corruption_terms(cells: Sequence[Any], run: str, base: str) -> dict[str, list[tuple[Any, float]]]:
    """The corruption aggregates of ``run`` as weighted sums of its MPJPE P1 cells (whole input corrupted):
    mCE and relative mCE (the baseline's errors as fixed weights); {} when a cell is missing."""
    def grid(r: str) -> tuple[Any, dict[tuple[str, int], Any]]:
        mine = [c for c in cells if _label(c) == r and _get(c, "experiment") == CORRUPTION_EXPERIMENT
                and _get(c, "metric") == MPJPE]
        full = max((int(_get(c, "attacked_views")) for c in mine if _get(c, "corruption")), default=0)
        return (next((c for c in mine if not _get(c, "corruption")), None),
                {(_get(c, "corruption"), int(_get(c, "severity"))): c for c in mine
                 if _get(c, "corruption") and int(_get(c, "attacked_views")) == full})
    (clean, mine), (base_clean, theirs) = grid(run), grid(base)
    if clean is None or base_clean is None or not mine or set(mine) != set(theirs):
        return {}
    names = sorted({c for c, _ in mine})
    ce = {c: _inverse(len(names) * sum(_value(x) for (n, _), x in theirs.items() if n == c)) for c in names}
    rel = {c: _inverse(len(names) * sum(_value(x) - _value(base_clean) for (n, _), x in theirs.items()
                                        if n == c)) for c in names}
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
                       baseline: str | None = None, folders: Mapping[str, str | Path] | None = None
                       ) -> CorruptionSection | None:
    """The report's corruption part (None without corruption rows): mCE tables vs ``baseline`` (default
    ``regression`` when present, else the first run with corruption rows), the ranking table under
    corruptions and attacks with Kendall's tau, and the figure ``corruption_vs_attack``. Each ranked
    aggregate gets a 95 % CI from the per-sample values of the run's folder (``folders``: run -> results
    folder); runs are ranked only where the CIs resolve them, and not at all without CIs."""
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
    found, desc = _attack_cells(cells, with_rows)
    attacks = {r: (_value(c), _mean(map(_value, xs))) for r, (c, xs) in found.items()}
    figure = Path(figures_dir) / "corruption_vs_attack.png"
    section.figures["corruption_vs_attack"] = plot_corruption_vs_attack(cells, with_rows, attacks, figure)
    if not attacks:
        section.findings.append(f"Corruption vs attack ranking: not compared ({desc}).")
        return section
    samples = {r: read_samples(folders[r]) if folders and r in folders else {} for r in with_rows}
    scores: dict[str, dict[str, Score]] = {k: {} for k in ("mce", "rel", "attacked", "increase")}
    for r in with_rows:
        terms = _corruption_terms(cells, r, base)
        for k, value in zip(("mce", "rel"), corr[r][1:]):
            scores[k][r] = _score(value, terms.get(k, []), samples[r])
        clean, xs = found[r]
        scores["attacked"][r] = _score(attacks[r][1], [(x, 1 / len(xs)) for x in xs], samples[r])
        scores["increase"][r] = _score(attacks[r][1] - attacks[r][0],
                                       [(x, 1 / len(xs)) for x in xs] + [(clean, -1.0)], samples[r])
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
