"""A report (:class:`poselab.reporting.report.Report`) as W&B runs: one per grid (job_type ``report``), in the
group that grid's runs were logged in, offline by default."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from poselab.reporting.report import Report, curves
from poselab.wandb import keys as wr
from poselab.wandb import log as wandb_log
from poselab.wandb.naming import DEFAULT_DIR, DEFAULT_GROUP, group_of, run_name, stamp
from poselab.wandb.runs import finish_run, init_run


def log_report(report: Report, group: str | None, inputs: Sequence[str], save_dir: str | Path = DEFAULT_DIR
               ) -> list[Any]:
    """Log ``report`` to W&B: each grid's report (``report.sections``, else the report itself) as one run
    (:func:`log_grid_report`); the runs (None where W&B failed)."""
    sections = report.sections or [report]
    return [log_grid_report(s, group, inputs, save_dir) for s in sections]


def log_grid_report(report: Report, group: str | None, inputs: Sequence[str],
                    save_dir: str | Path = DEFAULT_DIR) -> Any:
    """Log the tables and figures of one grid's ``report`` to one ``report`` run in ``group`` (None: the
    compared runs', :func:`~poselab.wandb.naming.group_of`); the run or None."""
    if group is None:
        group, warning = group_of([r.meta for r in report.runs], report.grid or DEFAULT_GROUP)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    tags = [*sorted({r.model for r in report.runs}), *sorted({r.dataset for r in report.runs})]
    config = {"inputs": list(inputs), "runs": [r.label for r in report.runs], "out": str(report.out)}
    run = init_run("report", group=group, name=run_name("report", suffix=f"{group}-{stamp()}"), tags=tags,
                   grid=report.grid or group, config=config, save_dir=save_dir)
    if run is None:
        return None
    try:
        for table in report.tables:
            wandb_log.log_table(run, f"tables/{table.name}", table.columns, table.rows)
        wandb_log.log_results_table(run, wr.rows_of_runs(report.runs), "results", with_run=True)
        wandb_log.log_images(run, report.figures)
        for key, (xs, ys, keys) in curves(report.cells).items():
            wandb_log.log_line_series(run, f"curves/{key}", xs, ys, keys, xname="eps (px)")
        run.summary["warnings"] = "\n".join(report.warnings)
        run.summary["findings"] = "\n".join(report.findings)
    except Exception as err:  # noqa: BLE001 - the local report is already written
        print(f"warning: W&B logging failed ({type(err).__name__}: {err})", file=sys.stderr)
    finally:
        finish_run(run)
    return run
