"""``multiview`` (multi-view models): the first k views attacked (k in ``attacked_views``), or a subset of
view indices (``[0, 2]``: ``view_set`` "0+2", attacked_views 2); JDR, MPJPE P1/P2, failed triangulations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor

from poselab.experiments.adversarial import ViewChoice
from poselab.experiments.base import AttackConfigError, views_where
from poselab.experiments.keys import JDR, MPJPE, PMPJPE, VIEW_SET
from poselab.experiments.registry import register_experiment
from poselab.experiments.runner import view_mask
from poselab.experiments.untargeted import UntargetedExperiment


@register_experiment
@dataclass
class MultiviewExperiment(UntargetedExperiment):
    """Untargeted attacks on chosen views of a multi-view model (options: :class:`AttackExperiment`)."""

    name: ClassVar[str] = "multiview"
    clean_views: ClassVar[int] = 0
    base_metrics: ClassVar[tuple[str, ...]] = (JDR, MPJPE, PMPJPE)
    axes: ClassVar[tuple[str, ...]] = ("attack", "eps", "iterations", "attacked_views", VIEW_SET)

    def applies_to(self, multiview: bool) -> bool:
        return multiview

    def check_kind(self) -> None:
        if not self.attacked_views or any(isinstance(k, int) and k < 1 for k in self.attacked_views):
            raise AttackConfigError(f"multiview: attacked views must be >= 1, got {self.attacked_views}")

    def view_choices(self, multiview: bool, num_views: int) -> list[ViewChoice]:
        return list(self.attacked_views)

    def settings(self) -> int:
        return len(self.attacked_views)

    def attack_mask(self, choice: ViewChoice, num_views: int) -> Tensor | None:
        return view_mask(choice, num_views)

    def check_views(self, num_views: int, multiview: bool) -> None:
        where = views_where(num_views)
        bad = [v for v in self.attacked_views if not isinstance(v, int) and max(v) >= num_views]
        if bad:
            raise AttackConfigError(f"multiview: view subset {bad[0]} has indices outside "
                                    f"0..{num_views - 1}, {where} (0-based)")
        need = max(k if isinstance(k, int) else max(k) + 1 for k in self.attacked_views)  # a subset: max + 1
        if num_views < need:
            raise AttackConfigError(f"multiview: attacked views {self.attacked_views} need {need} views, "
                                    f"but {where}")
