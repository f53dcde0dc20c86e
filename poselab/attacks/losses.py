"""Attack losses: (N, ..., J, D) poses -> per-sample loss (N,), so that the gradient of ``loss.sum()`` gives
each sample exactly the gradient it would get alone."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from poselab.attacks.targets import root_relative
from poselab.metrics import pmpjpe

LossFn = Callable[[Tensor, Tensor], Tensor]


def mpjpe_loss(pred: Tensor, reference: Tensor) -> Tensor:
    """Root-aligned mean per-joint L2 distance (mm), (N, ..., J, 3) -> (N,)."""
    return joint_l2_loss(root_relative(pred), root_relative(reference))


def joint_l2_loss(pred: Tensor, reference: Tensor) -> Tensor:
    """Mean per-joint L2 distance without alignment, e.g. 2D joints in pixels, (N, ..., J, D) -> (N,)."""
    return (pred - reference).norm(dim=-1).flatten(1).mean(dim=1)


def pmpjpe_loss(pred: Tensor, reference: Tensor) -> Tensor:
    """Scale-, rotation- and translation-invariant: MPJPE (mm) after the Procrustes similarity that best maps
    each pose (..., J, 3) onto its reference, (N, ..., J, 3) -> (N,) (P-MPJPE, Protocol 2)."""
    return pmpjpe(pred, reference).reshape(pred.shape[0], -1).mean(dim=1)


def nmpjpe_loss(pred: Tensor, reference: Tensor) -> Tensor:
    """Scale-invariant, rotation-sensitive: root-aligned MPJPE (mm) after the least-squares scale
    s = <p, r> / <p, p> per pose (N-MPJPE, Rhodin et al. 2018), (N, ..., J, 3) -> (N,)."""
    pred, reference = root_relative(pred), root_relative(reference)
    scale = (pred * reference).sum(dim=(-1, -2), keepdim=True) / (pred * pred).sum(
        dim=(-1, -2), keepdim=True).clamp_min(1e-12)
    return (scale * pred - reference).norm(dim=-1).flatten(1).mean(dim=1)


#: Loss name -> (function, model output key it reads).
LOSSES: dict[str, tuple[LossFn, str]] = {
    "mpjpe": (mpjpe_loss, "pose"),
    "pmpjpe": (pmpjpe_loss, "pose"),
    "nmpjpe": (nmpjpe_loss, "pose"),
    "joints_2d": (joint_l2_loss, "joints_2d"),
}


def get_loss(name: str) -> tuple[LossFn, str]:
    """Loss function and the model output key it reads; clear error for unknown names."""
    if name not in LOSSES:
        raise ValueError(f"unknown attack loss {name!r}; expected one of {sorted(LOSSES)}")
    return LOSSES[name]
