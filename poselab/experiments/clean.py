"""The clean-row rule by experiment name, for code that holds rows, not experiments (readers, reports, W&B):
the registered kind's own rule, else the base class's (untargeted, clean row at attacked_views 1)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from poselab.experiments.base import Experiment
from poselab.experiments.keys import ResultKey
from poselab.experiments.registry import experiment_names, get_experiment


def _kind(experiment: str) -> type[Experiment]:
    return get_experiment(experiment) if experiment in experiment_names() else Experiment


def is_targeted(experiment: str) -> bool:
    """Whether the kind pushes the pose to a target (no clean row; iteration 0 is its clean point)."""
    return _kind(experiment).targeted


def clean_key(experiment: str, metric: str) -> ResultKey:
    """The clean row of an untargeted experiment."""
    return dataclasses.replace(_kind(experiment).clean_key(metric), experiment=experiment)


def clean_covers(experiment: str, eps: float, iterations: int) -> bool:
    """Whether the clean row stands for this setting (untargeted experiments, eps 0 or iteration 0)."""
    return _kind(experiment).clean_covers(eps, iterations)


def is_clean(row: Any) -> bool:
    """Whether a row (mapping) or cell/key (attributes) is its kind's clean row."""
    get = row.get if isinstance(row, Mapping) else lambda k, d=None: getattr(row, k, d)
    return _kind(get("experiment")).is_clean_row(get)
