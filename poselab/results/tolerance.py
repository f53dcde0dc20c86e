"""How far a results value may move when the same command runs on another machine (CPU, BLAS, torch build):
one class per results row, stated in results.json ``meta["tolerance"]``; evidence in docs/ROBUSTNESS.md
("Reproducing a number on another machine"). On one machine results are bit-identical."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from poselab.experiments.keys import CLEAN, COUNT_METRICS

#: Bump when a class or bound changes (readers compare tables of one version).
TOLERANCE_VERSION = 1

#: class -> (relative bound on the value, or None: not bounded; what it rests on).
TOLERANCES: dict[str, tuple[float | None, str]] = {
    "clean": (1e-5, "float32 forward passes; bound from float32 arithmetic, not measured across CPUs"),
    "single_step": (1e-4, "one gradient step; max_batch 1 vs 64 moved these cells by <= 2e-9"),
    "iterative": (1e-3, "<= 20 sign-gradient steps, monocular; max_batch 1 vs 64: <= 1e-8"),
    "iterative_long": (2e-2, "> 20 steps; max_batch 1 vs 64 moved 100-iteration IGSM-T cells by up to 1.2 %"),
    "multiview_attacked": (None, "attacked triangulations: another CPU moved the strong grid's 4-sample "
                                 "ensemble gap from +12 % to +6.6 %; see the near_degenerate count"),
    "count": (None, "failed / near-degenerate counts can differ by a sample where a triangulation is "
                    "near its validity limits"),
}


def tolerance_class(row: Mapping[str, Any], multiview: bool = False) -> str:
    """The :data:`TOLERANCES` class of a results row (``multiview``: the row is a multi-view model's)."""
    if row["metric"] in COUNT_METRICS:
        return "count"
    if row["attack"] == CLEAN or float(row["eps"]) == 0:
        return "clean"
    if multiview:
        return "multiview_attacked"
    iterations = int(row["iterations"])
    return "single_step" if iterations <= 1 else "iterative" if iterations <= 20 else "iterative_long"


def tolerance_statement() -> dict[str, Any]:
    """The table results.json carries: version, and per class its relative bound (null: none) and basis."""
    return {"version": TOLERANCE_VERSION, "same_machine": "bit-identical",
            "classes": {name: {"relative": bound, "basis": basis}
                        for name, (bound, basis) in TOLERANCES.items()}}
