"""The experiment interface every kind implements (docs/EXTENDING.md), and the clean-row rule: an untargeted
kind's row per metric with attack ``clean``, eps 0, iterations 0, ``attacked_views`` = ``clean_views`` stands
for the eps-0 and iteration-0 points of every attacked series (targeted kinds have none)."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, ClassVar

from torch import Tensor

from poselab.data.sample import select_views
from poselab.experiments.keys import AXES, CLEAN, CORRUPTION, MULTIVIEW_COUNTS, ResultKey

if TYPE_CHECKING:
    from poselab.experiments.runner import RunContext


class AttackConfigError(ValueError):
    """A bad attack-evaluation setting; the message names it (``poselab test``: one error line, exit 2)."""


def is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def is_list(v: Any) -> bool:
    """A sequence of values (not a string)."""
    return isinstance(v, Sequence) and not isinstance(v, (str, bytes))


def views_where(num_views: int) -> str:
    """"the test data has N view(s)": the tail of the view-check messages."""
    return f"the test data has {num_views} view{'s' if num_views != 1 else ''}"


class Experiment:
    """One experiment kind, a dataclass whose first field is ``kind: str = <name>``. Class attributes:
    ``name``, ``targeted`` (no clean row), ``clean_views`` (``attacked_views`` of the clean row), ``axes``
    (setting axes compared across runs), ``x_axis`` (line plots), ``what`` (in errors), ``base_metrics``."""

    name: ClassVar[str] = ""
    targeted: ClassVar[bool] = False
    clean_views: ClassVar[int] = 1
    axes: ClassVar[tuple[str, ...]] = AXES
    x_axis: ClassVar[str] = "eps"
    what: ClassVar[str] = "experiment"
    base_metrics: ClassVar[tuple[str, ...]] = ()
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
        """The metrics of every cell: :attr:`base_metrics`, plus the failure counts for multi-view models."""
        return (*self.base_metrics, *MULTIVIEW_COUNTS) if multiview else self.base_metrics

    def cells(self, multiview: bool, num_views: int) -> list[ResultKey]:
        """Every results row this experiment produces for a model on data with ``num_views`` views."""
        raise NotImplementedError

    def check_views(self, num_views: int, multiview: bool) -> None:
        """:class:`AttackConfigError` when data of ``num_views`` views cannot serve the experiment."""

    def check_model_views(self, num_views: int, multiview: bool) -> None:
        """The shipped kinds' view check: a multi-view model needs 2 views, a monocular one its
        :meth:`monocular_views` in range."""
        where = views_where(num_views)
        if multiview and num_views < 2:
            raise AttackConfigError(f"{self.kind}: multi-view models need 2 views, but {where}")
        name, views = self.monocular_views()
        if not multiview and max(views) >= num_views:
            raise AttackConfigError(f"{self.kind}: {name} {views} out of range, {where} (indices 0.."
                                    f"{num_views - 1})")

    def monocular_views(self) -> tuple[str, list[int]]:
        """(option name, view indices) fed to a monocular model (kinds with ``input_views``)."""
        return "input_views", self.input_views  # type: ignore[attr-defined]

    def model_input(self, batch: Mapping[str, Any], multiview: bool) -> dict[str, Any]:
        """The batch rows the model sees: every view for multi-view models, else the monocular views."""
        return dict(batch) if multiview else select_views(batch, self.monocular_views()[1])

    def inputs(self, batch: Mapping[str, Any], ctx: RunContext
               ) -> tuple[Any, bool, int, dict[str, Any], Tensor, Tensor]:
        """(model, multiview, number of views, the model's input batch, its float images, the ground truth)
        of one batch, its views checked first."""
        model = ctx.model
        multiview = bool(getattr(model, "multiview", False))
        num_views = batch["images"].shape[1]
        self.check_views(num_views, multiview)
        sub = self.model_input(batch, multiview)
        return model, multiview, num_views, sub, sub["images"].float(), model.pose_target(sub)

    def run(self, batch: Mapping[str, Any], ctx: RunContext) -> None:
        """Run on one (cloned, grad-ready) batch and report every cell through ``ctx.update``."""
        raise NotImplementedError

    def work_units(self) -> float:
        """Relative cost per batch for the progress ETA, in eps-batched attack steps."""
        return 1.0

    def passes_per_image(self) -> float:
        """Model passes (forward + backward) per attacked image, at most: the grid's cost."""
        return self.work_units()

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
