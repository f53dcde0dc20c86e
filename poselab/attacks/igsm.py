"""IGSM (iterative FGSM / BIM, Kurakin et al.): untargeted IGSM-U and targeted IGSM-T.

With ``random_start=True`` this is PGD (Madry et al.).
"""

from __future__ import annotations

from poselab.attacks.base import Attack


class IGSM(Attack):
    """``steps`` gradient-sign steps of ``alpha`` pixels (default eps/8) inside the eps-ball."""

    name = "igsm"


class IGSMU(IGSM):
    """IGSM-U: ascend the loss to the ground truth."""

    name = "igsm_u"

    def __init__(self, eps: float = 8.0, steps: int = 10, alpha: float | None = None,
                 alpha_ratio: float = 0.125, **kwargs) -> None:
        super().__init__(eps, steps, alpha, alpha_ratio, targeted=False, **kwargs)


class IGSMT(IGSM):
    """IGSM-T: descend the loss to a target pose."""

    name = "igsm_t"

    def __init__(self, eps: float = 8.0, steps: int = 10, alpha: float | None = None,
                 alpha_ratio: float = 0.125, **kwargs) -> None:
        super().__init__(eps, steps, alpha, alpha_ratio, targeted=True, **kwargs)
