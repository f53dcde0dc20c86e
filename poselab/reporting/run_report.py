"""The report of one run in its results folder: :mod:`poselab.reporting.report` on that one run, plus its
example panels (``examples/*.png``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from poselab.reporting.examples import save_example
from poselab.reporting.report import Report, write_report
from poselab.results.reader import RunResults


def write_run_report(run: RunResults, examples: Sequence[Any] = ()) -> Report:
    """Write the report of one run (its results as :func:`~poselab.results.reader.run_of` or
    :func:`~poselab.results.reader.read_run` give them, labelled by the model's name) and its example panels
    into its folder ``run.path``; the report's ``figures`` include the examples as ``example_NN``."""
    out = Path(run.path)
    report = write_report([run], [], out)
    for i, ex in enumerate(examples):
        report.figures[f"example_{i:02d}"] = save_example(ex, out / "examples" / f"example_{i:02d}.png")
    return report
