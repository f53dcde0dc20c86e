"""The report comparing the saved results of several runs (never re-runs attacks), behind ``poselab report``:
``report.md``, ``tables.md``, ``tables/*.csv``, ``figures/*.png`` and ``overview.png`` in one folder, or one
report per grid and an index page when the runs belong to several grids (docs/RESULTS.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from poselab.reporting.corruption import severity_tables
from poselab.reporting.corruption_vs_attack import corruption_section
from poselab.reporting.figures import plot_figures
from poselab.reporting.overview import overview_png
from poselab.reporting.per_joint import increase_table, increases_by_run, plot_skeletons
from poselab.reporting.sanity import sanity_section
from poselab.reporting.strength import plot_strength, strength_summary, strength_tables
from poselab.reporting.tables import Table, build_tables, expand_clean, robustness_table
from poselab.reporting.transfer import plot_transfer, transfer_tables
from poselab.results.reader import label_runs, load_all, read_samples
from poselab.results.runs import Cell, RunResults, align, grid_names, recorded_jdr_definition
from poselab.results.schema import MPJPE, TABLES_MD
from poselab.results.statistics import has_ci, resolved
from poselab.safe_io import atomic_write


@dataclass
class Report:
    """What a report holds: tables, figure paths (name -> PNG), warnings and findings (summary lines)."""

    out: Path
    runs: list[RunResults]
    tables: list[Table] = field(default_factory=list)
    figures: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: the runs' cells aligned on the settings they share, clean rows expanded into the eps-0 points
    cells: list[Cell] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    #: the same aligned cells before that expansion
    aligned: list[Cell] = field(default_factory=list)
    #: the runs' grid (:func:`~poselab.results.runs.grid_of`); "" for the index of several grids
    grid: str = ""
    #: run label -> its folder's per-sample values (:func:`~poselab.results.reader.read_samples`)
    samples: dict[str, Any] = field(default_factory=dict)
    #: the index of several grids: one report per grid (in ``out/<grid>/``)
    sections: list[Report] = field(default_factory=list)


def build_report(paths: Sequence[str | Path], out: str | Path, corruption_baseline: str | None = None
                 ) -> Report:
    """Read the results under ``paths`` (:class:`ResultsError` naming a missing or malformed folder) and
    write the report of the runs compared within their grids (:func:`~poselab.results.runs.grid_names`): one
    grid (or none) -> :func:`write_report` into ``out``; several -> one report per grid in ``out/<grid>/``
    (runs relabelled within it), transfer rows in ``out/transfer/``, and the index returned and written in
    ``out/report.md`` and ``out/tables.md``. mCE against the run ``corruption_baseline``."""
    runs, transfer = load_all(paths, required=True)
    grids = grid_names(runs)
    if len(grids) <= 1:
        return write_report(runs, transfer, out, corruption_baseline, grid=next(iter(grids), ""))
    out = Path(out)
    baselines = {name: corruption_baseline for name, rs in grids.items()
                 if corruption_baseline in {r.label for r in label_runs(rs)}}
    if corruption_baseline is not None and not baselines:
        baselines = dict.fromkeys(grids, corruption_baseline)  # names the missing run (ResultsError)
    index = Report(out, list(runs))
    for name, grid_runs in grids.items():
        section = write_report(label_runs(grid_runs), [], out / name, baselines.get(name), grid=name)
        index.sections.append(section)
    if transfer:
        index.sections.append(write_report([], transfer, out / "transfer", grid="transfer"))
    index.warnings = [f"{s.grid}: {w}" for s in index.sections for w in s.warnings]
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / TABLES_MD, tables_markdown(index))
    atomic_write(out / "report.md", render_index(index))
    return index


def report_tables(runs: Sequence[RunResults], transfer: Sequence[dict[str, Any]] = ()) -> Report:
    """The tables of ``runs`` (aligned on the settings they share) without writing anything."""
    labels = [r.label for r in runs]
    cells, warnings = align(runs)
    samples = {r.label: read_samples(r.path) for r in runs  # per-sample values compare runs: none for one
               if r.path is not None and Path(r.path).is_dir()} if len(runs) >= 2 else {}
    report = Report(Path("."), list(runs), warnings=warnings, aligned=cells, samples=samples)
    report.tables = build_tables(cells, labels, {r.label: recorded_jdr_definition(r.meta) for r in runs},
                                 {r.label: r.meta for r in runs})
    robust = robustness_table(cells, labels, report.samples)
    if robust is not None:
        report.tables.append(robust)
    report.tables += strength_tables(cells, labels) + severity_tables(cells)
    report.cells = expand_clean(cells)
    report.tables += transfer_tables(transfer)
    return report


def tables_markdown(report: Report) -> str:
    """All tables of a report as one markdown document (an index: each grid's under its heading)."""
    if report.sections:
        return "\n".join(f"## Grid {s.grid}\n\n{tables_markdown(s)}" for s in report.sections)
    return "\n\n".join(t.to_markdown() for t in report.tables) + "\n" if report.tables else "(no results)\n"


def write_report(runs: Sequence[RunResults], transfer: Sequence[dict[str, Any]], out: str | Path,
                 corruption_baseline: str | None = None, grid: str = "") -> Report:
    """Write the report of ``runs`` (one run: that run's own report) into ``out``: tables, figures, pages
    (mCE against the run ``corruption_baseline``, default ``regression`` or the first run)."""
    report = report_tables(runs, transfer)
    report.out = out = Path(out)
    report.grid = grid
    (out / "tables").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    labels = [r.label for r in runs]
    report.figures = plot_figures(report.cells, labels, out / "figures")
    corrupted = corruption_section(report.aligned, labels, out / "figures", corruption_baseline,
                                   report.samples)
    if corrupted is not None:
        report.tables += corrupted.tables
        report.figures.update(corrupted.figures)
        report.findings += corrupted.findings
    strength = [t for t in report.tables if t.name.startswith("strength_")]
    if (strength_png := plot_strength(strength, out / "figures" / "strength.png")) is not None:
        report.figures["strength"] = strength_png

    increases, settings = increases_by_run({r.label: r.joints for r in runs if r.joints})
    if increases:
        report.tables.append(increase_table(increases, settings))
        report.figures["per_joint"] = plot_skeletons(increases, out / "figures" / "per_joint.png", settings)
    if transfer:
        report.figures["transfer"] = plot_transfer(transfer, out / "figures" / "transfer.png")

    if report.figures:
        title = f"poselab robustness report: {', '.join(r.label for r in runs)}"
        overview_png(report.figures, out / "overview.png", title, summarize(report.tables))
    for table in report.tables:
        table.write_csv(out / "tables" / f"{table.name}.csv")
    atomic_write(out / TABLES_MD, tables_markdown(report))
    atomic_write(out / "report.md", render_markdown(report))
    return report


_FIGURE_CAPTIONS = {
    "untargeted_mpjpe": "Untargeted attacks on monocular models: MPJPE P1 (top) and P2 (bottom) vs eps, "
    "one panel per iteration count.",
    "multiview": "Multi-view attacks: JDR of the per-view 2D estimates and MPJPE of the triangulated pose vs "
    "eps, one panel per number of attacked views.",
    "camera_swap": "Targeted camera swap: MPJPE to the target pose vs iterations, "
    "one panel per target camera.",
    "rotation": "Targeted rotation: MPJPE to the rotated target vs iterations, one panel per angle.",
    "corruption_vs_attack": "Common corruptions: MPJPE P1 vs severity (mean over corruptions, whole input "
    "corrupted); right: mean MPJPE under corruptions vs under the shared attack settings, per run.",
    "per_joint": "Per-joint vulnerability: error increase under the strongest shared untargeted attack, "
    "drawn on a canonical pose (darker = moved more).",
    "transfer": "Transfer attacks: MPJPE increase of the column model on images crafted on the row model "
    "(diagonal = white-box).",
    "strength": "How much do the paper's attacks understate the damage? Untargeted MPJPE vs eps per run "
    "under the paper's attacks (dashed) and APGD / the per-sample worst-case ensemble (solid).",
}


def render_markdown(report: Report) -> str:
    """The report page: inputs, warnings, figures and tables (figure paths relative to the report)."""
    lines = ["# poselab robustness report", "", "## Runs", "", *_runs_table(report.runs)]
    summary = summarize(report.tables) + report.findings
    if summary:
        lines += ["", "## Summary", ""] + [f"- {s}" for s in summary]
    lines += sanity_section(report.runs)
    if report.warnings:
        lines += ["", "## Warnings (grids aligned on what all runs share)", ""]
        lines += [f"- {w}" for w in report.warnings]
    if report.figures:
        lines += ["", "## Figures", ""]
        for name, path in report.figures.items():
            lines += [f"**{_FIGURE_CAPTIONS.get(name, name)}**", "",
                      f"![{name}]({path.relative_to(report.out).as_posix()})", ""]
    lines += ["## Tables", ""]
    for table in report.tables:
        lines += [table.to_markdown(), ""]
    return "\n".join(lines)


def render_index(index: Report) -> str:
    """The page of a report of several grids: per grid its runs, summary and overview, linking its report."""
    lines = ["# poselab robustness report", "",
             f"Results of {len(index.sections)} grids. Runs are compared only within their grid (the same "
             "attacks and settings); one model's runs at two grids are never put side by side.", ""]
    for s in index.sections:
        folder = s.out.relative_to(index.out).as_posix()
        lines += [f"## Grid {s.grid}", "", f"Report: [{folder}/report.md]({folder}/report.md)", ""]
        if s.runs:
            lines += [*_runs_table(s.runs), ""]
        summary = summarize(s.tables) + s.findings
        lines += [f"- {line}" for line in summary] + ([""] if summary else [])
        if (s.out / "overview.png").is_file():
            lines += [f"![{s.grid}]({folder}/overview.png)", ""]
    return "\n".join(lines)


def _runs_table(runs: Sequence[RunResults]) -> list[str]:
    return ["| label | model | dataset | folder | settings |", "|---|---|---|---|---:|",
            *(f"| {r.label} | {r.model} | {r.dataset} | `{_shown(r.path)}` | {len(r.cells)} |" for r in runs)]


def summarize(tables: Sequence[Table]) -> list[str]:
    """One-line findings: most robust run (smallest MPJPE increase) and best attacked error."""
    robust = next((t for t in tables if t.name == "robustness"), None)
    if robust is None or len(robust.rows) < 2:
        return strength_summary(tables)
    title = robust.title.split("attacked = ", 1)[-1]
    rows = [r for r in robust.rows if r[3] is not None]
    lines = []
    if rows:
        best = min(rows, key=lambda r: r[3])
        ci = {robust.rows[k][0]: v for (k, col), v in robust.cis.items() if col == "increase"}
        lines.append(f"Smallest MPJPE increase under {title}: **{best[0]}** (+{best[3]:.1f} mm)"
                     + _unresolved(best[0], [r[0] for r in rows], ci, "of the increase ") + ".")
    best = min(robust.rows, key=lambda r: r[2])
    ci = {r[0]: (r[4], r[5]) for r in robust.rows} if len(best) >= 6 else {}
    lines.append(f"Lowest attacked MPJPE under {title}: **{best[0]}** ({best[2]:.1f} mm)"
                 + _unresolved(best[0], [r[0] for r in robust.rows], ci) + ".")
    return lines + strength_summary(tables)


def _unresolved(best: str, names: Sequence[str], ci: Mapping[str, Any], what: str = "") -> str:
    """", not resolved from X, Y (95 % CIs overlap)" naming the runs whose CI in ``ci`` (run -> (low, high))
    overlaps ``best``'s, or that have none; "" when ``best`` has no CI."""
    if not has_ci(ci.get(best)):
        return ""
    tied = [n for n in names if n != best and not resolved(ci[best], ci.get(n))]
    return f", not resolved from {', '.join(tied)} (95 % CIs {what}overlap)" if tied else ""


def curves(cells: Sequence[Cell]) -> dict[str, tuple[list[float], list[list[float]], list[str]]]:
    """Untargeted MPJPE P1 vs eps per iteration count, one line per run, for W&B's native line charts:
    key ``untargeted_mpjpe_it<N>`` -> (eps values, one y list per run (NaN where missing), run labels)."""
    out = {}
    sel = [c for c in cells if c.experiment == "untargeted" and c.metric == MPJPE]
    for it in sorted({c.iterations for c in sel}):
        here = [c for c in sel if c.iterations == it]
        xs = sorted({c.eps for c in here})
        runs = list(dict.fromkeys(c.run for c in here))
        values = {(c.run, c.eps): c.value for c in here}
        ys = [[values.get((r, x), float("nan")) for x in xs] for r in runs]
        out[f"untargeted_mpjpe_it{it}"] = (xs, ys, runs)
    return out


def _shown(path: str | Path) -> str:
    """``path`` relative to the working directory when it lies below it (reports stay portable)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
