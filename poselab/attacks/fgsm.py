"""FGSM: one gradient-sign step of size eps (Goodfellow et al.)."""

from __future__ import annotations

from torch import Tensor

from poselab.attacks.base import Attack
from poselab.attacks.registry import register_attack


@register_attack
class FGSM(Attack):
    """One step x' = clip(x0 ± eps * sign(grad L)); eps in pixels (0..255 scale); either goal."""

    name = "fgsm"
    fixed_steps = 1

    def step_size(self, alpha: Tensor, eps: Tensor) -> Tensor:
        return eps
