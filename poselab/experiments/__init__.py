"""The evaluation engine: experiment kinds as registered plug-ins, their results cells and runs.

One file per kind (:mod:`.untargeted`, :mod:`.multiview`, :mod:`.camera_swap`, :mod:`.rotation`,
:mod:`.corruption`), each a class registered with :func:`register_experiment`; the engine's shared parts:
:mod:`.keys` (results keys), :mod:`.base` (the interface and the clean-row rule), :mod:`.runner` (the run
context), :mod:`.cells` (one accumulator per results cell), :mod:`.state` (crash-safe partial state),
:mod:`.progress` and :mod:`.determinism`.
"""

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
