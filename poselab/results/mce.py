"""Corruption error (CE) and mean corruption error (mCE) of Hendrycks & Dietterich (ICLR 2019).

For a model f, a baseline model b, corruptions c and severities s, with E an error (higher is worse;
MPJPE or P-MPJPE in mm, or 1 - JDR):

    CE_c^f          = sum_s E_{s,c}^f / sum_s E_{s,c}^b
    relative CE_c^f = sum_s (E_{s,c}^f - E_clean^f) / sum_s (E_{s,c}^b - E_clean^b)
    mCE^f           = mean_c CE_c^f,   relative mCE^f = mean_c relative CE_c^f

The baseline b is a named model of the comparison (its own mCE is 1). ``summarise`` applies these to the
rows of the ``corruption`` experiment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from poselab.results.schema import JDR, MPJPE, PMPJPE

#: metrics whose value is an error; JDR (a rate) enters as 1 - JDR
ERROR_METRICS = (MPJPE, PMPJPE, JDR)


def as_error(metric: str, value: float) -> float:
    """The error of a metric value: MPJPE / P-MPJPE as they are (mm), JDR as 1 - JDR."""
    if metric not in ERROR_METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(ERROR_METRICS)}")
    return 1.0 - value if metric == JDR else value


def corruption_errors(errors: Tensor, baseline: Tensor) -> Tensor:
    """CE per corruption: ``errors`` (..., C, S) of the model, ``baseline`` (C, S) -> (..., C)."""
    return errors.sum(dim=-1) / baseline.sum(dim=-1)


def mce(errors: Tensor, baseline: Tensor) -> Tensor:
    """Mean corruption error (...,) of ``errors`` (..., C, S) against ``baseline`` (C, S)."""
    return corruption_errors(errors, baseline).mean(dim=-1)


def relative_corruption_errors(errors: Tensor, clean: Tensor, baseline: Tensor, baseline_clean: Tensor
                               ) -> Tensor:
    """Relative CE per corruption (..., C): the error *increase* over the clean error, summed over
    severities, relative to the baseline's. ``clean`` (...,), ``baseline_clean`` scalar."""
    gap = (errors - clean[..., None, None]).sum(dim=-1)
    return gap / (baseline - baseline_clean).sum(dim=-1)


def relative_mce(errors: Tensor, clean: Tensor, baseline: Tensor, baseline_clean: Tensor) -> Tensor:
    """Relative mCE (...,): mean over corruptions of :func:`relative_corruption_errors`."""
    return relative_corruption_errors(errors, clean, baseline, baseline_clean).mean(dim=-1)


def error_grid(rows: Iterable[Mapping[str, Any]], model: str, metric: str, corruptions: Sequence[str],
               severities: Sequence[int]) -> tuple[Tensor, Tensor]:
    """(errors (C, S), clean error ()) of ``model`` from evaluation rows (keys model, corruption, severity,
    ``metric``; the clean row has corruption "clean"). KeyError naming a missing cell."""
    table = {(r["model"], r["corruption"], int(r["severity"])): r[metric] for r in rows}

    def get(c: str, s: int) -> float:
        value = table.get((model, c, s))
        if value in (None, ""):
            raise KeyError(f"no {metric} for model {model!r}, corruption {c!r}, severity {s}")
        return as_error(metric, float(value))

    grid = torch.tensor([[get(c, s) for s in severities] for c in corruptions], dtype=torch.float64)
    return grid, torch.tensor(get("clean", 0), dtype=torch.float64)


def summarise(rows: Sequence[Mapping[str, Any]], baseline: str, metric: str = MPJPE,
              corruptions: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Per model (input order; those lacking ``metric`` skipped): ``{"model", "clean", "mean_<corruption>"...,
    "mce", "relative_mce"}``: mean error over severities per corruption, (relative) mCE vs ``baseline``."""
    models = list(dict.fromkeys(r["model"] for r in rows))
    if baseline not in models:
        raise ValueError(f"baseline model {baseline!r} is not in the results ({', '.join(models)})")
    if corruptions is None:
        corruptions = list(dict.fromkeys(r["corruption"] for r in rows if r["corruption"] != "clean"))
    severities = sorted({int(r["severity"]) for r in rows if r["corruption"] != "clean"})
    base, base_clean = error_grid(rows, baseline, metric, corruptions, severities)
    out = []
    for m in models:
        try:
            err, clean = error_grid(rows, m, metric, corruptions, severities)
        except KeyError:
            continue
        row: dict[str, Any] = {"model": m, "clean": float(clean)}
        row.update({f"mean_{c}": float(v) for c, v in zip(corruptions, err.mean(dim=-1))})
        row["mce"] = float(mce(err, base))
        row["relative_mce"] = float(relative_mce(err, clean, base, base_clean))
        out.append(row)
    return out
