"""The attack results contract, in one place (docs/RESULTS.md).

Every writer (the evaluation callback, per-joint and transfer analyses) and every reader (``poselab
report``, the paper tables, the curves) imports its file names, columns, names and rules from here.

A results row is one metric value at one *setting* of one run::

    model, dataset, experiment, attack, eps, iterations, attacked_views[, view_set], target, metric, value, n

Rules:

* **The clean row.** Untargeted experiments (``untargeted``, ``multiview``) write one row per metric
  with attack ``clean``, eps 0, iterations 0 (attacked_views 1, or 0 for ``multiview``); it stands for
  the eps-0 (and iteration-0) point of every attacked series, which are never written themselves
  (:func:`clean_covers`). Targeted experiments have no clean row: their iteration-0 point is the
  attack's own clean input.
* **Attack names** are ``clean`` plus the names registered in :mod:`poselab.attacks.registry`
  (:func:`attack_names`), so a new attack's rows are valid rows.
* **Corruptions.** Rows of the ``corruption`` experiment (common corruptions, no adversarial attack:
  attack ``clean``, eps 0, iterations 0) carry two more columns, ``corruption`` (a name of
  :mod:`poselab.corruptions.registry`) and ``severity`` (1..5), and ``attacked_views`` counts the
  corrupted views fed to the model. Its clean row has corruption "" and severity 0 (attacked_views 0).
  The two columns are written (after ``target``) only when a row has a corruption; other rows hold ""
  and 0 there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

RESULTS_CSV = "results.csv"
RESULTS_JSON = "results.json"
PER_JOINT_CSV = "per_joint.csv"
TRANSFER_CSV = "transfer.csv"
TABLES_MD = "tables.md"
#: Per sample of every ``ensemble`` setting: which member attack gave its worst case.
WORST_SAMPLES_CSV = "worst_samples.csv"
WORST_SAMPLE_COLUMNS = ("model", "dataset", "experiment", "attack", "eps", "iterations", "attacked_views",
                        "view_set", "target", "index", "worst")
#: Files that make a folder a results folder (results.csv preferred by the reader).
RESULT_FILES = (RESULTS_CSV, RESULTS_JSON)

#: The columns of ``results.csv`` without the optional ``view_set``.
COLUMNS = ("model", "dataset", "experiment", "attack", "eps", "iterations", "attacked_views", "target",
           "metric", "value", "n")
#: Optional column after ``attacked_views``: the attacked view indices ("0+2") of explicit view subsets.
VIEW_SET = "view_set"
#: Optional columns after ``target`` (rows of the ``corruption`` experiment): corruption name, severity 1..5.
CORRUPTION = "corruption"
SEVERITY = "severity"
#: Columns of ``per_joint.csv`` after the setting: the joint's name and its MPJPE (mm). The file's own column
#: name, equal to the :data:`MPJPE` metric's by choice, not by rule.
JOINT = "joint"
JOINT_MPJPE = "mpjpe"
#: The columns of ``per_joint.csv`` (one row per joint of every MPJPE row).
PER_JOINT_COLUMNS = ("model", "dataset", "experiment", "attack", "eps", "iterations", "attacked_views",
                     "target", JOINT, JOINT_MPJPE)
TRANSFER_COLUMNS = ("source", "target", "eps", "iterations", "clean_mpjpe", "adv_mpjpe", "increase", "n")

#: Experiments of adversarial attacks (:class:`poselab.evaluation.specs.ExperimentSpec`).
ATTACK_EXPERIMENTS = ("untargeted", "multiview", "camera_swap", "rotation")
#: The common-corruption experiment (:mod:`poselab.evaluation.corruption`).
CORRUPTION_EXPERIMENT = "corruption"
EXPERIMENTS = (*ATTACK_EXPERIMENTS, CORRUPTION_EXPERIMENT)
#: Experiments that push the pose to a target (no clean row; iteration 0 is the clean point).
TARGETED_EXPERIMENTS = ("camera_swap", "rotation")
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
#: The ``metric`` values of results rows (besides ``worst:<member>``, :data:`WORST_PREFIX`).
METRICS = (MPJPE, PMPJPE, JDR, TARGET_MPJPE, FAILED)
#: Metric family of the ``ensemble`` attack's rows: ``worst:<member>`` is the fraction of samples for which
#: that member attack gave the worst case (by the experiment's loss); one row per member and setting.
WORST_PREFIX = "worst:"
CLEAN = "clean"
#: The grid axes of a setting, in display order (``view_set``: "" unless an explicit view subset).
AXES = ("attack", "eps", "iterations", "attacked_views", VIEW_SET, "target")
#: Axes compared across runs per experiment. A multi-view model attacked in an untargeted/targeted
#: experiment attacks all its views (attacked_views = V), a monocular one 1: same setting.
EXPERIMENT_AXES: dict[str, tuple[str, ...]] = {
    "untargeted": ("attack", "eps", "iterations"),
    "multiview": ("attack", "eps", "iterations", "attacked_views", VIEW_SET),
    "camera_swap": ("attack", "eps", "iterations", "target"),
    "rotation": ("attack", "eps", "iterations", "target"),
    CORRUPTION_EXPERIMENT: (CORRUPTION, SEVERITY),  # every corrupted-view count of a run stays
}


@dataclass(frozen=True)
class Setting:
    """One setting of an experiment: the experiment and the grid axes (:data:`AXES`).

    ``view_set``: the attacked view indices joined by "+" ("0+2") for an explicit subset of a
    ``multiview`` experiment, "" otherwise (then the first ``attacked_views`` views were attacked).
    Corruption rows also have ``corruption`` and ``severity`` (keyword-only; "" and 0 for every other row).
    """

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


def attack_names() -> tuple[str, ...]:
    """Valid ``attack`` values: ``clean`` and every registered attack."""
    from poselab.attacks.registry import attack_names as registered

    return (CLEAN, *registered())


def corruption_names() -> tuple[str, ...]:
    """Valid ``corruption`` values of corrupted rows (:data:`poselab.corruptions.CORRUPTION_NAMES`)."""
    from poselab.corruptions.registry import CORRUPTION_NAMES

    return CORRUPTION_NAMES


def is_clean(row: Any) -> bool:
    """Whether a row (mapping) or cell/key (attributes) is a clean row: attack ``clean`` and no corruption."""
    get = row.get if isinstance(row, Mapping) else lambda k, d=None: getattr(row, k, d)
    return get("attack") == CLEAN and not get(CORRUPTION)


def worst_metric(member: str) -> str:
    """The metric name of a member's share of the per-sample worst cases: ``worst:<member>``."""
    return f"{WORST_PREFIX}{member}"


def worst_member(metric: str) -> str | None:
    """The member label of a ``worst:<member>`` metric, None for other metrics."""
    return metric[len(WORST_PREFIX):] or None if metric.startswith(WORST_PREFIX) else None


def is_metric(name: str) -> bool:
    """Whether ``name`` is a valid ``metric`` value: one of :data:`METRICS` or ``worst:<member>``."""
    return name in METRICS or worst_member(name) is not None


def is_targeted(experiment: str) -> bool:
    return experiment in TARGETED_EXPERIMENTS


def clean_views(experiment: str) -> int:
    """``attacked_views`` of an experiment's clean row: 0 for ``multiview`` and ``corruption`` (no view
    attacked or corrupted), else 1."""
    return 0 if experiment in ("multiview", CORRUPTION_EXPERIMENT) else 1


def clean_key(experiment: str, metric: str) -> ResultKey:
    """The clean row of an untargeted experiment (see the module rules)."""
    return ResultKey(experiment, CLEAN, 0.0, 0, clean_views(experiment), "", metric)


def clean_covers(experiment: str, eps: float, iterations: int) -> bool:
    """Whether the clean row stands for this setting (untargeted experiments, eps 0 or iteration 0)."""
    return not is_targeted(experiment) and (eps == 0 or iterations == 0)


def columns_of(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The results columns: :data:`COLUMNS`, plus ``view_set`` when a row attacked an explicit view subset
    and ``corruption, severity`` when a row has a corruption (other files keep the original columns)."""
    rows = list(rows)
    columns = list(COLUMNS)
    if any(r.get(CORRUPTION) for r in rows):
        i = columns.index("target") + 1
        columns[i:i] = [CORRUPTION, SEVERITY]
    if any(r.get(VIEW_SET) for r in rows):
        i = columns.index("attacked_views") + 1
        columns[i:i] = [VIEW_SET]
    return columns


def per_joint_columns(columns: Iterable[str]) -> list[str]:
    """``per_joint.csv`` columns of a results file with ``columns``: its setting columns, joint, mpjpe."""
    return [c for c in columns if c not in ("metric", "value", "n")] + [JOINT, JOINT_MPJPE]


def row_of(model: str, dataset: str, key: ResultKey, value: float, n: int) -> dict[str, Any]:
    """A results row (dict with every column incl. ``view_set``, ``corruption``, ``severity``) of one key."""
    return {"model": model, "dataset": dataset, "experiment": key.experiment, "attack": key.attack,
            "eps": key.eps, "iterations": key.iterations, "attacked_views": key.attacked_views,
            VIEW_SET: key.view_set, "target": key.target, CORRUPTION: key.corruption, SEVERITY: key.severity,
            "metric": key.metric, "value": value, "n": int(n)}
