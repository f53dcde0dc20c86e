"""The evaluation engine: experiment kinds as registered plug-ins, their results cells and runs
(docs/ARCHITECTURE.md)."""

# The kinds register on import, in this order: the order of experiments in reports and messages.
# isort: off
from poselab.experiments import untargeted, multiview, camera_swap, rotation, corruption  # noqa: F401
# isort: on
from poselab.experiments.base import AttackConfigError, Experiment
from poselab.experiments.registry import (
    build_experiment,
    build_experiments,
    experiment_names,
    get_experiment,
    register_experiment,
    unregister_experiment,
)

__all__ = ["AttackConfigError", "Experiment", "build_experiment", "build_experiments", "experiment_names",
           "get_experiment", "register_experiment", "unregister_experiment"]
