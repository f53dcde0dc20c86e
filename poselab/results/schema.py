"""The attack results contract, in one place (docs/RESULTS.md): every writer and reader imports its file
names, columns, names and rules from here. A results row is one metric value at one setting of one run;
the clean row, keys and metric names are the engine's (:mod:`poselab.experiments.keys`), re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from poselab.experiments.clean import clean_covers, clean_key, is_clean, is_targeted
from poselab.experiments.corruption import CORRUPTION_EXPERIMENT
from poselab.experiments.keys import (
    AXES,
    CLEAN,
    CORRUPTION,
    COUNT_METRICS,
    FAILED,
    JDR,
    METRICS,
    MPJPE,
    NEAR_DEGENERATE,
    PMPJPE,
    SEVERITY,
    TARGET_MPJPE,
    VIEW_SET,
    WORST_PREFIX,
    ResultKey,
    Setting,
    is_metric,
    row_of,
    worst_metric,
)
from poselab.experiments.registry import experiment_names, get_experiment

__all__ = ["AXES", "CLEAN", "CORRUPTION", "CORRUPTION_EXPERIMENT", "COUNT_METRICS", "FAILED", "JDR",
           "METRICS", "MPJPE", "NEAR_DEGENERATE", "PMPJPE", "SEVERITY", "TARGET_MPJPE", "VIEW_SET",
           "WORST_PREFIX", "ResultKey", "Setting", "clean_covers", "clean_key", "experiment_names",
           "get_experiment", "is_clean", "is_metric", "is_targeted", "row_of", "worst_metric"]

RESULTS_CSV = "results.csv"
RESULTS_JSON = "results.json"
PER_JOINT_CSV = "per_joint.csv"
TRANSFER_CSV = "transfer.csv"
TABLES_MD = "tables.md"
#: Per sample of every ``ensemble`` setting: which member attack gave its worst case.
WORST_SAMPLES_CSV = "worst_samples.csv"
WORST_SAMPLE_COLUMNS = ("model", "dataset", "experiment", "attack", "eps", "iterations", "attacked_views",
                        "view_set", "target", "index", "worst")
#: The per-sample values of every results row (:data:`PER_SAMPLE_COLUMNS`): their mean is the row's value
#: (their sum for ``failed`` rows, whose value is a count).
PER_SAMPLE_CSV = "per_sample.csv"
#: The columns of ``per_sample.csv`` after the row's setting and metric: the sample's dataset index (-1:
#: unknown), its view (position among the model's per-view outputs; 0 for a per-sample pose) and its value.
SAMPLE_INDEX = "index"
SAMPLE_VIEW = "view"
SAMPLE_VALUE = "value"
#: The claim file of an evaluated model (:mod:`poselab.reporting.leaderboard`): what was evaluated, how,
#: and its headline numbers.
CLAIM_JSON = "claim.json"
#: The leaderboard's files (``poselab leaderboard --out DIR``).
LEADERBOARD_MD = "leaderboard.md"
LEADERBOARD_CSV = "leaderboard.csv"
#: Files that make a folder a results folder (results.csv preferred by the reader).
RESULT_FILES = (RESULTS_CSV, RESULTS_JSON)

#: The columns of ``results.csv`` without the optional ``view_set``.
COLUMNS = ("model", "dataset", "experiment", "attack", "eps", "iterations", "attacked_views", "target",
           "metric", "value", "n")
#: Optional columns after ``n``: the 95 % bootstrap CI of ``value`` (same unit; NaN for n < 2), written when
#: the rows carry them (every run since they exist), absent from older files.
CI_LOW = "ci_low"
CI_HIGH = "ci_high"
CI_COLUMNS = (CI_LOW, CI_HIGH)
#: Columns of ``per_joint.csv`` after the setting: the joint's name and its MPJPE (mm). The file's own column
#: name, equal to the :data:`MPJPE` metric's by choice, not by rule.
JOINT = "joint"
JOINT_MPJPE = "mpjpe"
#: The columns of ``per_joint.csv`` (one row per joint of every MPJPE row).
PER_JOINT_COLUMNS = ("model", "dataset", "experiment", "attack", "eps", "iterations", "attacked_views",
                     "target", JOINT, JOINT_MPJPE)
TRANSFER_COLUMNS = ("source", "target", "eps", "iterations", "clean_mpjpe", "adv_mpjpe", "increase", "n")

#: Each metric's unit and name in tables, figures and W&B panels.
METRIC_UNITS = {MPJPE: "mm", PMPJPE: "mm", TARGET_MPJPE: "mm", JDR: "fraction", FAILED: "count",
                NEAR_DEGENERATE: "count"}
METRIC_NAMES = {MPJPE: "MPJPE P1", PMPJPE: "MPJPE P2", TARGET_MPJPE: "MPJPE to target", JDR: "JDR",
                FAILED: "failed triangulations", NEAR_DEGENERATE: "near-degenerate triangulations"}

#: The built-in targeted kinds, in registration order (a kind's own ``targeted`` is the rule).
TARGETED_EXPERIMENTS = tuple(n for n in experiment_names() if get_experiment(n).targeted)


def experiment_axes(experiment: str) -> tuple[str, ...]:
    """The axes compared across runs for an experiment kind (its class's ``axes``). A multi-view model
    attacked in an untargeted/targeted experiment attacks all its views (attacked_views = V), a monocular
    one 1: same setting."""
    return get_experiment(experiment).axes


def attack_names() -> tuple[str, ...]:
    """Valid ``attack`` values: ``clean`` and every registered attack."""
    from poselab.attacks.registry import attack_names as registered

    return (CLEAN, *registered())


def corruption_names() -> tuple[str, ...]:
    """Valid ``corruption`` values of corrupted rows (:data:`poselab.corruptions.CORRUPTION_NAMES`)."""
    from poselab.corruptions.registry import CORRUPTION_NAMES

    return CORRUPTION_NAMES


def columns_of(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The results columns: :data:`COLUMNS`, plus ``view_set`` when a row attacked an explicit view subset,
    ``corruption, severity`` when a row has a corruption and :data:`CI_COLUMNS` when a row has its CI
    (other files keep the original columns)."""
    rows = list(rows)
    columns = list(COLUMNS)
    if any(CI_LOW in r for r in rows):
        columns += CI_COLUMNS
    if any(r.get(CORRUPTION) for r in rows):
        i = columns.index("target") + 1
        columns[i:i] = [CORRUPTION, SEVERITY]
    if any(r.get(VIEW_SET) for r in rows):
        i = columns.index("attacked_views") + 1
        columns[i:i] = [VIEW_SET]
    return columns


def per_joint_columns(columns: Iterable[str]) -> list[str]:
    """``per_joint.csv`` columns of a results file with ``columns``: its setting columns, joint, mpjpe."""
    return [c for c in columns if c not in ("metric", "value", "n", *CI_COLUMNS)] + [JOINT, JOINT_MPJPE]


def per_sample_columns(columns: Iterable[str]) -> list[str]:
    """``per_sample.csv`` columns of a results file with ``columns``: its setting columns and metric, then
    index, view, value."""
    return [c for c in columns if c not in ("value", "n", *CI_COLUMNS)] + [SAMPLE_INDEX, SAMPLE_VIEW,
                                                                             SAMPLE_VALUE]
