"""FGSM: one gradient-sign step of size eps (Goodfellow et al.)."""

from __future__ import annotations

from torch import Tensor

from poselab.attacks.base import Attack


class FGSM(Attack):
    """One step x' = clip(x0 ± eps * sign(grad L)); eps in pixels (0..255 scale).

    Untargeted (default) ascends the loss to the ground truth; ``targeted=True`` descends it to a target.
    """

    name = "fgsm"

    def __init__(self, eps: float = 8.0, *, targeted: bool = False, loss: str = "mpjpe",
                 output_key: str | None = None) -> None:
        super().__init__(eps, steps=1, alpha=None, alpha_ratio=1.0, targeted=targeted, loss=loss,
                         output_key=output_key)

    def step_size(self, alpha: Tensor, eps: Tensor) -> Tensor:
        return eps
