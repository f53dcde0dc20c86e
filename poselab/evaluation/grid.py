"""The attack evaluation's grid: options resolved from a preset and explicit values, all checked at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from poselab.evaluation.cost import check_cost
from poselab.evaluation.options import check_folder_name, check_options
from poselab.evaluation.presets import Preset, load_preset, overrides, resolve_options
from poselab.experiments.base import AttackConfigError, Experiment
from poselab.experiments.determinism import DeterministicNumerics
from poselab.experiments.registry import build_experiments
from poselab.metrics import check_jdr_definition


@dataclass
class Grid:
    """The attack evaluation's grid options, resolved (preset, then explicit values) and checked."""

    preset: Preset | None
    overrides: dict[str, Any]
    specs: list[Experiment]
    cost: int
    numerics: DeterministicNumerics
    jdr_definition: str
    alpha_ratio: float
    max_batch: Any
    max_batches: int | None
    max_samples: int | None
    random_start: bool


def resolve_grid(preset: str | None, given: dict[str, Any], save_every: int | None, examples: int,
                 allow_long_grid: bool, names: dict[str, Any]) -> Grid:
    """Resolve ``given`` against ``preset`` and check every option and folder name (``names``): one
    :class:`AttackConfigError` naming the first bad one."""
    loaded = load_preset(preset) if preset is not None else None
    options = resolve_options(loaded, given)
    try:
        jdr = check_jdr_definition(options["jdr_definition"])
    except ValueError as err:
        raise AttackConfigError(str(err)) from None
    check_options(options["alpha_ratio"], options["max_batch"], options["max_batches"],
                  options["max_samples"], save_every, examples)
    specs = build_experiments(options["experiments"])
    cost = check_cost(specs, allow_long_grid)
    for what, value in names.items():
        check_folder_name(value, what)
    try:
        numerics = DeterministicNumerics(options["threads"])
    except ValueError as err:
        raise AttackConfigError(str(err)) from None
    return Grid(loaded, overrides(loaded, options) if loaded is not None else {}, specs, cost, numerics, jdr,
                options["alpha_ratio"], options["max_batch"], options["max_batches"], options["max_samples"],
                options["random_start"])
