"""Uncertainty of results cells: a seeded percentile bootstrap CI of the mean, and whether two cells differ.
The CI draws exactly what ``scipy.stats.bootstrap(..., method="percentile", rng=np.random.default_rng(seed))``
draws, so the two agree to float rounding (tests/test_statistics.py)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from poselab.results.schema import CI_HIGH, CI_LOW, COUNT_METRICS

#: The defaults of every results CI: 95 % two-sided, 2000 resamples, seed 0 (same samples, same CI).
LEVEL = 0.95
RESAMPLES = 2000
SEED = 0
#: Index draws per batch (rows x samples): bounds the memory of large cells, not the result.
_BATCH_DRAWS = 4_000_000


def bootstrap_ci(values: Sequence[float] | np.ndarray, level: float = LEVEL, resamples: int = RESAMPLES,
                 seed: int = SEED) -> tuple[float, float]:
    """(low, high) percentile bootstrap CI of the mean of ``values`` (N,) at ``level`` (two-sided); NaN for
    fewer than 2 values (one sample says nothing about its spread)."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if not 0 < level < 1 or resamples < 1:
        raise ValueError(f"level must be in (0, 1) and resamples >= 1, got {level}, {resamples}")
    n = x.size
    if n < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    rows = max(1, _BATCH_DRAWS // n)
    means = []
    for k in range(0, resamples, rows):
        i = rng.integers(0, n, (min(rows, resamples - k), n))
        means.append(np.mean(x[i], axis=-1))
    alpha = (1 - level) / 2
    low, high = np.quantile(np.concatenate(means), [alpha, 1 - alpha])
    return float(low), float(high)


def cell_ci(metric: str, values: Sequence[float] | np.ndarray, **kwargs: Any) -> tuple[float, float]:
    """The CI of a results cell from its per-sample values: of the mean, or of the count for the count metrics
    (``failed``, ``near_degenerate``: the value is a number of samples, n x the CI of the rate)."""
    low, high = bootstrap_ci(values, **kwargs)
    scale = len(values) if metric in COUNT_METRICS else 1
    return low * scale, high * scale


def add_ci(rows: Sequence[dict[str, Any]], pairs: Sequence[tuple[dict[str, Any], Any]], **kwargs: Any
           ) -> None:
    """Set ``ci_low``/``ci_high`` of every row in place: :func:`cell_ci` of its per-sample values (``pairs``:
    (row, values with ``value`` (N,)), rows matched by identity), NaN for a row without them."""
    values = {id(row): samples.value for row, samples in pairs}
    for row in rows:
        x = values.get(id(row))
        row[CI_LOW], row[CI_HIGH] = (math.nan, math.nan) if x is None else cell_ci(
            row["metric"], np.asarray(x, np.float64), **kwargs)


def ci_meta(level: float = LEVEL, resamples: int = RESAMPLES, seed: int = SEED) -> dict[str, Any]:
    """How the CI columns were computed (results.json ``meta["ci"]``)."""
    return {"method": "percentile bootstrap of the mean", "level": level, "resamples": resamples,
            "seed": seed}


def has_ci(row: Mapping[str, Any] | Any) -> bool:
    """Whether a row (dict) or cell (attributes ``ci_low``/``ci_high``) carries a finite CI."""
    low, high = _bounds(row)
    return math.isfinite(low) and math.isfinite(high)


def resolved(a: Mapping[str, Any] | Any, b: Mapping[str, Any] | Any) -> bool:
    """Whether two cells (rows, objects with ``ci_low``/``ci_high``, bare (low, high) or None) have CIs that
    do not overlap; a pair without CIs is not resolved."""
    if not (has_ci(a) and has_ci(b)):
        return False
    (la, ha), (lb, hb) = _bounds(a), _bounds(b)
    return ha < lb or hb < la


def _bounds(row: Mapping[str, Any] | Any) -> tuple[float, float]:
    if isinstance(row, tuple | list):  # a bare (low, high)
        return (float(row[0]), float(row[1])) if len(row) == 2 else (math.nan, math.nan)
    get = row.get if isinstance(row, Mapping) else (lambda k, d=None: getattr(row, k, d))
    try:
        return float(get(CI_LOW, math.nan)), float(get(CI_HIGH, math.nan))
    except (TypeError, ValueError):
        return math.nan, math.nan


def rank_resolved(items: Sequence[Any], value: Callable[[Any], float], lower_is_better: bool = True
                  ) -> list[int]:
    """Rank of each item (input order): 1 + the number of items better by ``value`` *and* :func:`resolved`
    from it. Items whose CIs overlap the best's share rank 1, and so on; without CIs every rank is 1."""
    sign = 1.0 if lower_is_better else -1.0
    return [1 + sum(1 for b in items if sign * value(b) < sign * value(a) and resolved(a, b)) for a in items]


def combined_ci(cells: Sequence[Mapping[Any, float]], weights: Sequence[float], **kwargs: Any
                ) -> tuple[float, float]:
    """CI of ``sum_k weights[k] * mean(cells[k])``, each cell given as its per-sample values {sample key:
    value}: :func:`bootstrap_ci` of the per-sample combination (paired over samples); NaN when a cell has
    none or the cells do not hold the same samples."""
    if not cells or len(cells) != len(weights) or any(not c for c in cells):
        return math.nan, math.nan
    keys = sorted(cells[0])
    if any(c.keys() != cells[0].keys() for c in cells[1:]):
        return math.nan, math.nan
    x = sum(w * np.array([c[k] for k in keys], np.float64) for c, w in zip(cells, weights))
    return bootstrap_ci(x, **kwargs)


def joined(order: Sequence[tuple[str, Any]]) -> str:
    """``a < b ≈ c`` of (name, CI) in order, best first: "<" between neighbours whose difference is
    :func:`resolved`, "≈" where it is not; "<" throughout when no item has a CI."""
    text = order[0][0] if order else ""
    known = any(has_ci(ci) for _, ci in order)
    for (_, prev), (name, ci) in zip(order, order[1:]):
        text += (" < " if not known or resolved(prev, ci) else " ≈ ") + name
    return text


def reversed_resolved(a: Sequence[tuple[str, Any]], b: Sequence[tuple[str, Any]]) -> bool:
    """Whether two orders (name, CI) disagree: a pair ordered one way in ``a`` is ordered the other way in
    ``b``, resolved in both (without any CI every reversal counts)."""
    ci_a, ci_b, pos = dict(a), dict(b), {n: k for k, (n, _) in enumerate(b)}
    known = any(has_ci(ci) for _, ci in [*a, *b])
    names = [n for n, _ in a if n in pos]
    return any(pos[x] > pos[y] and (not known or (resolved(ci_a[x], ci_a[y]) and resolved(ci_b[x], ci_b[y])))
               for i, x in enumerate(names) for y in names[i + 1:])
