"""The keys of results rows in one place (readers: :mod:`poselab.results.schema`): metrics, ResultKey."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Metric: MPJPE after aligning the root (pelvis), Protocol 1 (mm).
MPJPE = "mpjpe"
#: Metric: MPJPE after a similarity (Procrustes) alignment, Protocol 2 (mm).
PMPJPE = "pmpjpe"
#: Metric: joint detection rate of the 2D joints (fraction 0..1).
JDR = "jdr"
#: Metric: MPJPE of the prediction to the attack's target, targeted experiments (mm).
TARGET_MPJPE = "target_mpjpe"
#: Metric: samples whose pose failed, e.g. a triangulation that failed or is not finite (count).
FAILED = "failed"
#: Metric: valid triangulations whose DLT is near-degenerate
#: (:data:`poselab.geometry.triangulation.NEAR_DEGENERATE_MM_PER_PX`; count).
NEAR_DEGENERATE = "near_degenerate"
#: The ``metric`` values of results rows (besides ``worst:<member>``, :data:`WORST_PREFIX`).
METRICS = (MPJPE, PMPJPE, JDR, TARGET_MPJPE, FAILED, NEAR_DEGENERATE)
#: Metrics that count samples (their row's ``n`` is every sample seen), and the ones every multi-view cell
#: of an experiment carries next to its errors.
COUNT_METRICS = (FAILED, NEAR_DEGENERATE)
MULTIVIEW_COUNTS = (FAILED, NEAR_DEGENERATE)
#: Metric family of the ``ensemble`` attack's rows: ``worst:<member>``, the share of samples that member won.
WORST_PREFIX = "worst:"
#: The attack name of rows without an adversarial attack (clean rows, corruption rows).
CLEAN = "clean"
#: Optional column after ``attacked_views``: the attacked view indices ("0+2") of explicit view subsets.
VIEW_SET = "view_set"
#: Optional columns after ``target`` (rows of the ``corruption`` experiment): corruption name, severity 1..5.
CORRUPTION = "corruption"
SEVERITY = "severity"
#: The grid axes of a setting, in display order (``view_set``: "" unless an explicit view subset).
AXES = ("attack", "eps", "iterations", "attacked_views", VIEW_SET, "target")


@dataclass(frozen=True)
class Setting:
    """One setting of an experiment: the experiment and the grid axes (:data:`AXES`); ``corruption`` and
    ``severity`` only on corruption rows ("" and 0 on every other row)."""

    experiment: str
    attack: str
    eps: float
    iterations: int
    attacked_views: int
    target: str
    view_set: str = field(default="", kw_only=True)
    corruption: str = field(default="", kw_only=True)
    severity: int = field(default=0, kw_only=True)


@dataclass(frozen=True)
class ResultKey(Setting):
    """The key of one results row of a run (``metric`` in :data:`METRICS`)."""

    metric: str


def worst_metric(member: str) -> str:
    """The metric name of a member's share of the per-sample worst cases: ``worst:<member>``."""
    return f"{WORST_PREFIX}{member}"


def worst_member(metric: str) -> str | None:
    """The member label of a ``worst:<member>`` metric, None for other metrics."""
    return metric[len(WORST_PREFIX):] or None if metric.startswith(WORST_PREFIX) else None


def is_metric(name: str) -> bool:
    """Whether ``name`` is a valid ``metric`` value: one of :data:`METRICS` or ``worst:<member>``."""
    return name in METRICS or worst_member(name) is not None


def row_of(model: str, dataset: str, key: ResultKey, value: float, n: int) -> dict[str, Any]:
    """A results row (dict with every column incl. ``view_set``, ``corruption``, ``severity``) of one key."""
    return {"model": model, "dataset": dataset, "experiment": key.experiment, "attack": key.attack,
            "eps": key.eps, "iterations": key.iterations, "attacked_views": key.attacked_views,
            VIEW_SET: key.view_set, "target": key.target, CORRUPTION: key.corruption, SEVERITY: key.severity,
            "metric": key.metric, "value": value, "n": int(n)}
