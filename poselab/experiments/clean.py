"""The clean-row rule by experiment name, for code that holds rows, not experiments (readers, reports, W&B).

Each kind states the rule on its class (:class:`poselab.experiments.base.Experiment`); these functions look
the kind up in the registry, so a registered kind's rows follow its own rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from poselab.experiments.base import Experiment
from poselab.experiments.keys import ResultKey
from poselab.experiments.registry import experiment_names, get_experiment


def is_targeted(experiment: str) -> bool:
    """Whether the kind pushes the pose to a target (no clean row; iteration 0 is its clean point)."""
    return get_experiment(experiment).targeted


def clean_views(experiment: str) -> int:
    """``attacked_views`` of an experiment's clean row (0: no view attacked or corrupted)."""
    return get_experiment(experiment).clean_views


def clean_key(experiment: str, metric: str) -> ResultKey:
    """The clean row of an untargeted experiment."""
    return get_experiment(experiment).clean_key(metric)


def clean_covers(experiment: str, eps: float, iterations: int) -> bool:
    """Whether the clean row stands for this setting (untargeted experiments, eps 0 or iteration 0)."""
    return get_experiment(experiment).clean_covers(eps, iterations)


def is_clean(row: Any) -> bool:
    """Whether a row (mapping) or cell/key (attributes) is its kind's clean row (built in: attack ``clean``
    and no corruption, :meth:`~poselab.experiments.base.Experiment.is_clean_row`)."""
    get = row.get if isinstance(row, Mapping) else lambda k, d=None: getattr(row, k, d)
    kind = get("experiment")
    return (get_experiment(kind) if kind in experiment_names() else Experiment).is_clean_row(get)
