"""IGSM (iterative FGSM / BIM, Kurakin et al.): untargeted IGSM-U, targeted IGSM-T, and PGD (Madry et al.):
the base class's update rule, differing in goal and start."""

from __future__ import annotations

from poselab.attacks.base import Attack
from poselab.attacks.registry import register_attack


class IGSM(Attack):
    """``steps`` gradient-sign steps of ``alpha`` pixels (default eps/8) inside the eps-ball; either goal."""

    name = "igsm"


@register_attack
class IGSMU(IGSM):
    """IGSM-U: ascend the loss to the ground truth."""

    name = "igsm_u"
    goal = False


@register_attack
class IGSMT(IGSM):
    """IGSM-T: descend the loss to a target pose."""

    name = "igsm_t"
    goal = True


@register_attack
class PGD(IGSM):
    """PGD: IGSM from a uniform random point of the eps-ball (``random_start`` on by default)."""

    name = "pgd"

    def __init__(self, *args, random_start: bool = True, **kwargs) -> None:
        super().__init__(*args, random_start=random_start, **kwargs)
