"""``rotation`` (any model): the ground truth rotated by ``angles`` degrees about the pelvis around the
vertical (world ``up``) axis; FGSM / IGSM-T."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from poselab.attacks.targets import rotation_target, vertical_axis
from poselab.experiments.adversarial import TargetedExperiment
from poselab.experiments.base import AttackConfigError
from poselab.experiments.registry import register_experiment


@register_experiment
@dataclass
class RotationExperiment(TargetedExperiment):
    """Targeted rotation (options: :class:`~poselab.experiments.adversarial.AttackExperiment`)."""

    name: ClassVar[str] = "rotation"
    axes: ClassVar[tuple[str, ...]] = ("attack", "eps", "iterations", "target")

    def check_kind(self) -> None:
        if not self.angles:
            raise AttackConfigError("rotation: angles must be a non-empty list of degrees")

    def target_names(self) -> list[str]:
        return [f"rot{a:g}" for a in self.angles]

    def targets(self, batch: Mapping[str, Any], sub: Mapping[str, Any], gt: Tensor, multiview: bool
                ) -> list[Tensor]:
        up = (torch.as_tensor(self.up, dtype=gt.dtype, device=gt.device) if multiview
              else vertical_axis(sub["R"], self.up))  # world (3,), or per camera (B, V', 3)
        return [rotation_target(gt, a, up) for a in self.angles]
