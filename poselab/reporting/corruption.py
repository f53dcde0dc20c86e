"""Corruption robustness in the reports (rows of the ``corruption`` experiment, as dicts or reader cells):
error per corruption and severity, mCE tables (:mod:`poselab.results.mce`) and the severity figure. Other
view counts than the whole input appear as extra rows "run [k of V views]"."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from poselab import style
from poselab.corruptions.registry import get_corruption
from poselab.reporting.tables import Table
from poselab.results.mce import summarise
from poselab.results.schema import CLEAN, CORRUPTION_EXPERIMENT, JDR, MPJPE, PMPJPE

#: The corruption metrics and their table titles.
METRICS = {MPJPE: "MPJPE P1 (mm)", PMPJPE: "MPJPE P2 (mm)", JDR: "1 - JDR (fraction)"}


def records(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Corruption rows (dicts, or reader cells whose run label stands for the model) as plain dicts: run,
    views, corruption ("clean" for the clean row), severity, metric, value."""
    out = []
    for r in rows:
        row = r if isinstance(r, Mapping) else {**vars(r), "model": r.run}
        if row.get("experiment") != CORRUPTION_EXPERIMENT:
            continue
        value = row.get("value")
        out.append({"run": str(row.get("model")), "views": int(float(row.get("attacked_views"))),
                    "corruption": str(row.get("corruption") or CLEAN),
                    "severity": int(float(row.get("severity"))), "metric": str(row.get("metric")),
                    "value": float(value) if value not in ("", None) else math.nan})
    return out


def wide_rows(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Rows in the wide form of :func:`poselab.results.mce.summarise`: one per (model, corruption,
    severity) with a value per metric; "model" is the run, or "run [k of V views]" for a view count k below
    the run's largest V (the clean row is repeated for each)."""
    recs = records(rows)
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


def severity_tables(rows: Sequence[Any]) -> list[Table]:
    """Per metric, one line per run (and corrupted-view count): the clean error, the error per corruption
    (mean over severities), per severity s1.. (mean over corruptions) and the mean of all; JDR as 1 - JDR."""
    tables = []
    for metric, title, have in _by_metric(rows):
        names = list(dict.fromkeys(r["corruption"] for r in have if r["corruption"] != CLEAN))
        sevs = sorted({r["severity"] for r in have if r["corruption"] != CLEAN})
        body = []
        for model in dict.fromkeys(r["model"] for r in have):
            err = errors_by_setting(have, model, metric)
            by_c = [finite_mean(err.get((c, s)) for s in sevs) for c in names]
            by_s = [finite_mean(err.get((c, s)) for c in names) for s in sevs]
            body.append([model, err.get((CLEAN, 0)), *by_c, *by_s, finite_mean(by_c)])
        tables.append(Table(f"corruption_severity_{metric}",
                            f"Common corruptions: {title} per corruption (mean over severities) and per "
                            "severity s1.. (mean over corruptions)",
                            ["model", "clean", *names, *(f"s{s}" for s in sevs), "mean"], body, metric))
    return tables


def plot_severity(rows: Sequence[Any], runs: Sequence[str], path: str | Path) -> Path | None:
    """Figure: MPJPE P1 vs severity (0 = clean), one panel per run, one line per corruption, dashed where
    only some views were corrupted; None without corruption rows."""
    plt = style.pyplot()
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
            err = errors_by_setting(mine, model, MPJPE)
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


def errors_by_setting(wide: Sequence[Mapping[str, Any]], model: str,
                      metric: str) -> dict[tuple[str, int], float]:
    """(corruption, severity) -> error of ``model`` (1 - JDR for JDR); the clean row under ("clean", 0)."""
    out = {}
    for r in wide:
        if r["model"] == model and r[metric] != "":
            out[(r["corruption"], r["severity"])] = 1.0 - r[metric] if metric == JDR else r[metric]
    return out


def finite_mean(values: Iterable[float | None]) -> float:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else math.nan


def mce_tables(rows: Sequence[Any], baseline: str, compare: bool = True) -> list[Table]:
    """Per metric: each model's clean error, error per corruption (mean over severities), mean, mCE and
    relative mCE against ``baseline`` (mCE noise / other when both families are present); without the mCE
    columns when not ``compare`` (one run)."""
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
                 finite_mean(r[f"mean_{n}"] for n in names), r["mce"], r["relative_mce"],
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
