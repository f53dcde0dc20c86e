"""The experiment interface every kind implements, and the clean-row rule each kind uses or overrides.

An experiment kind is one dataclass subclass of :class:`Experiment` registered with
:func:`poselab.experiments.registry.register_experiment`. Its fields are its config options (validated in
``__post_init__``, one :class:`AttackConfigError` per problem); it owns its results cells
(:meth:`Experiment.cells`), its view checks against the test data (:meth:`Experiment.check_views`) and its
run on one batch (:meth:`Experiment.run`), which reports every cell through ``ctx.update(key, *args)``.

**The clean row.** An untargeted kind (``targeted = False``) writes one row per metric with attack
``clean``, eps 0, iterations 0 and ``attacked_views`` = :attr:`Experiment.clean_views`; it stands for the
eps-0 (and iteration-0) point of every attacked series, which are never written themselves
(:meth:`Experiment.clean_covers`). Targeted kinds have no clean row: their iteration-0 point is the attack's
own clean input. Readers look the rule up by experiment name (:mod:`poselab.experiments.clean`).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, ClassVar

from poselab.experiments.keys import AXES, CLEAN, CORRUPTION, ResultKey

if TYPE_CHECKING:
    from poselab.experiments.runner import RunContext


class AttackConfigError(ValueError):
    """A bad attack-evaluation setting (experiment kind, eps, views, ...); the message names it.

    ``poselab test`` reports it as one ``poselab test: error: ...`` line (exit status 2).
    """


def is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def views_where(num_views: int) -> str:
    """"the test data has N view(s)": the tail of the view-check messages."""
    return f"the test data has {num_views} view{'s' if num_views != 1 else ''}"


class Experiment:
    """One experiment kind (subclass as a dataclass whose first field is ``kind: str = <name>``).

    Class attributes: ``name`` (the registered kind), ``targeted`` (pushes the pose to a target: no clean
    row), ``clean_views`` (``attacked_views`` of the clean row), ``axes`` (the setting axes compared across
    runs, :data:`~poselab.experiments.keys.AXES` and ``corruption``/``severity``), ``x_axis`` (the results
    column of its line plots) and ``what`` (how option errors name it).
    """

    name: ClassVar[str] = ""
    targeted: ClassVar[bool] = False
    clean_views: ClassVar[int] = 1
    axes: ClassVar[tuple[str, ...]] = AXES
    x_axis: ClassVar[str] = "eps"
    what: ClassVar[str] = "experiment"
    kind: str

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Experiment:
        """``cls(**cfg)``; :class:`AttackConfigError` naming the unknown and the known options."""
        known = set(cls.__dataclass_fields__)  # type: ignore[attr-defined]
        if unknown := set(cfg) - known:
            raise AttackConfigError(f"unknown {cls.what} option(s) {sorted(unknown)}; "
                                    f"expected {sorted(known)}")
        return cls(**cfg)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    def applies_to(self, multiview: bool) -> bool:
        """Whether the experiment is defined for a (multi-view or monocular) model."""
        return True

    def metric_names(self, multiview: bool) -> tuple[str, ...]:
        raise NotImplementedError

    def cells(self, multiview: bool, num_views: int) -> list[ResultKey]:
        """Every results row this experiment produces for a model on data with ``num_views`` views."""
        raise NotImplementedError

    def check_views(self, num_views: int, multiview: bool) -> None:
        """:class:`AttackConfigError` when data of ``num_views`` views cannot serve the experiment."""

    def run(self, batch: Mapping[str, Any], ctx: RunContext) -> None:
        """Run on one (cloned, grad-ready) batch and report every cell through ``ctx.update``."""
        raise NotImplementedError

    def work_units(self) -> float:
        """Relative cost per batch for the progress ETA, in eps-batched attack steps."""
        return 1.0

    def passes_per_image(self) -> float:
        """Model passes (forward + backward) per attacked image, at most: the grid's cost, told and bounded
        before a run starts (:mod:`poselab.evaluation.cost`)."""
        return self.work_units()

    # ------------------------------------------------------------------------ the clean-row rule
    @classmethod
    def clean_key(cls, metric: str) -> ResultKey:
        """The clean row of ``metric`` (untargeted kinds, see the module rules)."""
        return ResultKey(cls.name, CLEAN, 0.0, 0, cls.clean_views, "", metric)

    @classmethod
    def is_clean_row(cls, get: Callable[[str], Any]) -> bool:
        """Whether a row (``get(column)`` reads it) is this kind's clean row: attack clean, no corruption."""
        return get("attack") == CLEAN and not get(CORRUPTION)

    @classmethod
    def clean_covers(cls, eps: float, iterations: int) -> bool:
        """Whether the clean row stands for this setting (untargeted kinds: eps 0 or iteration 0)."""
        return not cls.targeted and (eps == 0 or iterations == 0)
