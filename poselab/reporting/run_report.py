"""The report of one run, written next to its results: ``tables.md``, ``plots/*.png``, ``examples/*.png``.

Used by the evaluation callback at the end of testing; :func:`log_run_report` sends the same tables,
curves and panels to W&B (:mod:`poselab.wandb_utils`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from poselab.metrics import DEFAULT_JDR
from poselab.reporting.corruption import run_curves, run_markdown
from poselab.reporting.curves import Curve, build_curves, save_curves, save_example
from poselab.reporting.paper_tables import render_tables
from poselab.results.files import atomic_write
from poselab.results.schema import TABLES_MD


@dataclass
class RunReport:
    """What :func:`write_run_report` wrote: the tables (markdown), curves and example panel paths."""

    tables: str
    curves: list[Curve] = field(default_factory=list)
    example_paths: list[Path] = field(default_factory=list)


def write_run_report(out: str | Path, rows: Sequence[Mapping[str, Any]], examples: Sequence[Any] = (),
                     jdr_definition: str = DEFAULT_JDR) -> RunReport:
    """Write the four paper tables (JDR under ``jdr_definition``), the curves and the example panels of one
    run's rows into ``out``."""
    out = Path(out)
    tables = render_tables(rows, jdr_definition)
    corrupted = run_markdown(rows)  # the corruption experiment's rows ("" without any)
    tables = f"{tables.rstrip()}\n\n{corrupted}" if corrupted else tables
    atomic_write(out / TABLES_MD, tables)
    curves = build_curves(rows) + run_curves(rows)
    save_curves(curves, out / "plots")
    paths = [save_example(ex, out / "examples" / f"example_{i:02d}.png") for i, ex in enumerate(examples)]
    return RunReport(tables, curves, paths)
