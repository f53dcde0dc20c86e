"""Pose metrics: pure per-sample functions and their torchmetrics accumulators.

All accumulators keep sum/count states (``dist_reduce_fx="sum"``) so they reduce exactly across
processes. Samples flagged invalid (``valid=False``) or with non-finite predictions are skipped by
the error metrics and counted in ``n_invalid`` (the paper prints "-" for failed triangulations).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric

from poselab.geometry.procrustes import procrustes_align
from poselab.skeleton import HEAD_TOP, NECK, NUM_JOINTS, PELVIS

# ----------------------------------------------------------------------------- pure functions


def root_align(pose: Tensor, root: int = PELVIS) -> Tensor:
    """Subtract the root joint: (..., J, 3) -> (..., J, 3) root-relative."""
    return pose - pose[..., root : root + 1, :]


def joint_errors(pred: Tensor, target: Tensor, root: int | None = PELVIS) -> Tensor:
    """Per-joint Euclidean errors (..., J) in mm, after root alignment unless ``root`` is None."""
    if root is not None:
        pred, target = root_align(pred, root), root_align(target, root)
    return (pred - target).norm(dim=-1)


def mpjpe(pred: Tensor, target: Tensor, root: int | None = PELVIS) -> Tensor:
    """Protocol 1: mean per-joint position error after root alignment, (...,) mm."""
    return joint_errors(pred, target, root).mean(dim=-1)


def pmpjpe(pred: Tensor, target: Tensor) -> Tensor:
    """Protocol 2: MPJPE after similarity (Procrustes) alignment of ``pred`` to ``target``, (...,) mm."""
    return joint_errors(procrustes_align(pred, target), target, root=None).mean(dim=-1)


def head_size(joints_2d: Tensor, head: int = HEAD_TOP, neck: int = NECK) -> Tensor:
    """Head size |head_top - neck| in pixels, (...,) from (..., J, 2)."""
    return (joints_2d[..., head, :] - joints_2d[..., neck, :]).norm(dim=-1)


def joints_detected(pred_2d: Tensor, target_2d: Tensor, threshold: Tensor | float | None = None) -> Tensor:
    """Bool (..., J): 2D error below ``threshold`` px (default: half the target's head size)."""
    if threshold is None:
        threshold = 0.5 * head_size(target_2d)
    threshold = torch.as_tensor(threshold, dtype=pred_2d.dtype, device=pred_2d.device)
    if threshold.dim() > 0:
        threshold = threshold.unsqueeze(-1)
    return (pred_2d - target_2d).norm(dim=-1) < threshold


# ----------------------------------------------------------------------------- accumulators


def _flatten(pred: Tensor, target: Tensor, valid: Tensor | None, dims: int) -> tuple[Tensor, Tensor, Tensor]:
    """Flatten leading dims to N samples; return (pred, target, sample_valid (N,))."""
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
    if pred.dim() < 2 or pred.shape[-1] != dims:
        raise ValueError(f"expected poses shaped (..., J, {dims}), got {tuple(pred.shape)}")
    lead = pred.shape[:-2]
    pred = pred.reshape(-1, *pred.shape[-2:])
    target = target.reshape(-1, *target.shape[-2:])
    ok = torch.isfinite(pred).all(dim=(-1, -2)) & torch.isfinite(target).all(dim=(-1, -2))
    if valid is not None:
        valid = torch.as_tensor(valid, device=pred.device).bool()
        if valid.shape == lead + pred.shape[-2:-1]:  # per joint -> a sample is valid if all joints are
            valid = valid.all(dim=-1)
        if valid.shape != lead:
            raise ValueError(f"valid must be shaped {tuple(lead)} or {tuple(lead + pred.shape[-2:-1])}")
        ok = ok & valid.reshape(-1)
    return pred, target, ok


class _JointAverage(Metric):
    """Mean of a per-joint quantity over valid samples, with per-joint breakdown and failure count."""

    is_differentiable = False
    higher_is_better = False
    full_state_update = False
    dims = 3

    def __init__(self, num_joints: int = NUM_JOINTS, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_joints = num_joints
        self.add_state("sum_per_joint", torch.zeros(num_joints, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("n_invalid", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def _per_joint(self, pred: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError

    def update(self, pred: Tensor, target: Tensor, valid: Tensor | None = None) -> None:
        """pred, target: (..., J, D); valid: optional bool (...,) or (..., J)."""
        pred, target, ok = _flatten(pred.detach(), target.detach(), valid, self.dims)
        if pred.shape[-2] != self.num_joints:
            raise ValueError(f"expected {self.num_joints} joints, got {pred.shape[-2]}")
        self.n_invalid += (~ok).sum()
        if ok.any():
            values = self._per_joint(pred[ok].double(), target[ok].double())
            self.sum_per_joint += values.sum(dim=0)
            self.count += ok.sum()

    def compute(self) -> Tensor:
        """Average over all valid samples and joints (NaN if there were none)."""
        return self.sum_per_joint.sum() / (self.count * self.num_joints)

    def compute_per_joint(self) -> Tensor:
        """Average per joint, (J,); synchronised across processes like :meth:`compute`."""
        with self.sync_context(
            dist_sync_fn=self.dist_sync_fn, should_sync=self._to_sync, should_unsync=self._should_unsync
        ):
            return (self.sum_per_joint / self.count).clone()


class MPJPE(_JointAverage):
    """Protocol 1: root-aligned mean per-joint position error (mm)."""

    def __init__(self, root: int | None = PELVIS, **kwargs) -> None:
        super().__init__(**kwargs)
        self.root = root

    def _per_joint(self, pred: Tensor, target: Tensor) -> Tensor:
        return joint_errors(pred, target, self.root)


class TargetMPJPE(MPJPE):
    """Distance (root-aligned MPJPE, mm) of a prediction to an attack target pose."""


class PMPJPE(_JointAverage):
    """Protocol 2: MPJPE after a Procrustes similarity alignment (mm)."""

    def _per_joint(self, pred: Tensor, target: Tensor) -> Tensor:
        return joint_errors(procrustes_align(pred, target), target, root=None)


class JDR(_JointAverage):
    """Joint detection rate: fraction of 2D joints closer than a threshold to the ground truth.

    The threshold is ``threshold`` px if given, else half the head size |head_top - neck| of each
    target sample.
    """

    higher_is_better = True
    dims = 2

    def __init__(self, threshold: float | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if threshold is not None and threshold <= 0:
            raise ValueError(f"JDR threshold must be positive pixels, got {threshold}")
        self.threshold = threshold

    def _per_joint(self, pred: Tensor, target: Tensor) -> Tensor:
        return joints_detected(pred, target, self.threshold).double()


class FailureCount(Metric):
    """Number of failed (invalid or non-finite) predictions, e.g. triangulations, and the total seen."""

    is_differentiable = False
    higher_is_better = False
    full_state_update = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state("failed", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("total", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, valid: Tensor, pred: Tensor | None = None) -> None:
        """Count failures.

        Args:
            valid: bool per sample (...,); with ``pred`` it may also be per joint (..., J), and a
                sample then fails if any of its joints does.
            pred: optional poses (..., J, 3); a sample with a non-finite coordinate fails too.
        """
        valid = torch.as_tensor(valid).bool()
        if pred is not None:
            if valid.shape == pred.shape[:-1]:
                valid = valid.all(dim=-1)
            if valid.shape != pred.shape[:-2]:
                raise ValueError(f"valid {tuple(valid.shape)} does not match poses {tuple(pred.shape)}")
            valid = valid & torch.isfinite(pred).all(dim=(-1, -2))
        self.failed += (~valid).sum()
        self.total += valid.numel()

    def compute(self) -> Tensor:
        return self.failed
