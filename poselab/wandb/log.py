"""The W&B logging calls on a run: tables, images, line charts and attack results (keys:
:mod:`poselab.wandb.keys`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from poselab.wandb import keys as wr


def log_table(run: Any, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Log a table (None cells become NaN so W&B types the columns as numbers where possible)."""
    import wandb

    clean_rows = [[float("nan") if v is None else v for v in row] for row in rows]
    run.log({key: wandb.Table(columns=list(columns), data=clean_rows, allow_mixed_types=True)})


def log_images(run: Any, images: Mapping[str, str | Path], prefix: str = "figures/") -> None:
    """Log PNG files as ``<prefix><name>`` images."""
    import wandb

    run.log({f"{prefix}{name}": wandb.Image(str(path)) for name, path in images.items()})


def log_line_series(run: Any, key: str, xs: Sequence[float], ys: Sequence[Sequence[float]],
                    keys: Sequence[str], xname: str = "x") -> None:
    """Log a W&B native multi-line chart (one line per entry of ``ys``/``keys``)."""
    import wandb

    lines = [list(y) for y in ys]
    run.log({key: wandb.plot.line_series(xs=list(xs), ys=lines, keys=list(keys), title=key, xname=xname)})


def log_results(run: Any, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Log attack results rows (the ``results.csv`` schema) as history rows against hidden step metrics, then
    the numeric results table (docs/WANDB.md, "What an attack run logs"); returns the keys logged."""
    steps = wr.step_definitions(rows)
    for step in dict.fromkeys(steps.values()):
        run.define_metric(step, hidden=True)
    for key, step in steps.items():
        run.define_metric(key, step_metric=step)
    for row in wr.history_rows(rows):
        run.log(row)
    log_results_table(run, rows, wr.TABLE_KEY)
    return list(steps)


def log_results_table(run: Any, rows: Sequence[Mapping[str, Any]], key: str, with_run: bool = False) -> None:
    """Log the numeric results table of ``rows`` (:func:`poselab.wandb.keys.results_table`)."""
    import wandb

    columns, data = wr.results_table(rows, with_run)
    run.log({key: wandb.Table(columns=columns, data=data, dtype=wr.column_types(columns))})


def log_run_report(run: Any, rows: Sequence[Mapping[str, Any]], report: Any, jdr_definition: str | None = None
                   ) -> None:
    """Log one run's attack results (:func:`log_results`), the JDR definition (summary
    ``attack/jdr_definition``) and its :class:`~poselab.reporting.report.Report`'s figures
    (``attack/figures/<name>``)."""
    from poselab.metrics import DEFAULT_JDR
    from poselab.results.schema import JDR

    log_results(run, rows)
    summary = getattr(run, "summary", None)
    if any(r["metric"] == JDR for r in rows) and hasattr(summary, "__setitem__"):
        summary["attack/jdr_definition"] = jdr_definition or DEFAULT_JDR  # (not on a stand-in run)
    if report.figures:
        log_images(run, report.figures, "attack/figures/")
