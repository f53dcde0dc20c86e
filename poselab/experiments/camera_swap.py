"""``camera_swap`` (monocular models): the image of camera ``source_view`` pushed towards the same frame's
ground truth in camera k (``target_cameras``, 1-based camera numbers), root-relative; FGSM / IGSM-T."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor

from poselab.attacks.targets import camera_swap_target
from poselab.experiments.adversarial import TargetedExperiment
from poselab.experiments.base import AttackConfigError, views_where
from poselab.experiments.registry import register_experiment


@register_experiment
@dataclass
class CameraSwapExperiment(TargetedExperiment):
    """Targeted camera swap (options: :class:`~poselab.experiments.adversarial.AttackExperiment`)."""

    name: ClassVar[str] = "camera_swap"
    axes: ClassVar[tuple[str, ...]] = ("attack", "eps", "iterations", "target")

    def applies_to(self, multiview: bool) -> bool:
        return not multiview

    def check_kind(self) -> None:
        if not self.target_cameras or any(k < 1 for k in self.target_cameras):
            raise AttackConfigError(f"camera_swap: target cameras are 1-based numbers >= 1, "
                                    f"got {self.target_cameras}")
        if self.source_view < 0:
            raise AttackConfigError(f"camera_swap: source_view is a 0-based view index >= 0, "
                                    f"got {self.source_view}")

    def target_names(self) -> list[str]:
        return [f"cam{k}" for k in self.target_cameras]

    def monocular_views(self) -> tuple[str, list[int]]:
        return "source_view", [self.source_view]

    def check_views(self, num_views: int, multiview: bool) -> None:
        super().check_views(num_views, multiview)
        if max(self.target_cameras) > num_views:
            raise AttackConfigError(f"camera_swap: target cameras {self.target_cameras} out of range, "
                                    f"{views_where(num_views)} (cameras 1..{num_views})")

    def targets(self, batch: Mapping[str, Any], sub: Mapping[str, Any], gt: Tensor, multiview: bool
                ) -> list[Tensor]:
        src_pose = sub["joints_cam"][:, 0].float()
        return [camera_swap_target(src_pose, batch["R"][:, self.source_view], batch["R"][:, k - 1])[:, None]
                for k in self.target_cameras]
