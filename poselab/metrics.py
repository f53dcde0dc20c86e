"""Pose metrics: pure per-sample functions and their torchmetrics accumulators.

Accumulators keep sum/count states, so they reduce exactly across processes; invalid (``valid=False``) or
non-finite samples are skipped and counted in ``n_invalid``. ``per_sample=True`` also keeps each sample's
value keyed by (dataset index, view), sorted by that key, so the order is the same on any number of processes.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor
from torchmetrics import Metric

from poselab.geometry.procrustes import procrustes_align
from poselab.skeleton import HEAD_TOP, NECK, NUM_JOINTS, PELVIS


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


#: The joint detection rate definitions (the one home of their names; configs and tables import them);
#: ``qiu2019`` is the published multi-view one (microsoft/multiview-human-pose-estimation-pytorch).
JDR_DEFINITIONS: dict[str, str] = {
    "qiu2019": "error <= 0.5 x image_size/10 px (Qiu et al. 2019)",
    "head_thorax": "error < 0.5 x |head_top - thorax| px per sample",
}
DEFAULT_JDR = "qiu2019"


def check_jdr_definition(definition: str) -> str:
    """Return ``definition`` or raise one line naming the valid values."""
    if definition not in JDR_DEFINITIONS:
        raise ValueError(f"jdr_definition must be one of {', '.join(JDR_DEFINITIONS)}, got {definition!r}")
    return definition


def _qiu2019_size(image_size: float | None) -> float:
    """``image_size`` (px) as float, or raise: the ``qiu2019`` definition needs it."""
    if image_size is None or not image_size > 0:
        raise ValueError(f"JDR definition 'qiu2019' needs the image size in pixels (> 0), got {image_size!r}")
    return float(image_size)


class PerSample(NamedTuple):
    """Per-sample values of one accumulator, sorted by (index, view, value): float64 tensors (N,) each;
    ``index``: dataset index (-1 when the batch had none); ``view``: position among the leading dims after
    the batch dim (0 for a per-sample pose); ``value``: mean over joints (0/1 for failure flags)."""

    index: torch.Tensor
    view: torch.Tensor
    value: torch.Tensor


#: The ``cat`` states holding :class:`PerSample` fields (the partial state saves them like the sums).
SAMPLE_STATES = ("sample_index", "sample_view", "sample_value")


def sample_keys(lead: tuple[int, ...], index: Tensor | None, device: torch.device | None = None
                ) -> tuple[Tensor, Tensor]:
    """(index, view) float64 (N,) of the N = prod(lead) samples of poses shaped (*lead, J, D), flattened in
    order: the dataset index of each leading row (``index`` (lead[0],); -1 everywhere when None) repeated over
    the other leading dims, and the position within them (the view)."""
    rows = lead[0] if lead else 1
    rest = math.prod(lead[1:]) if len(lead) > 1 else 1
    if index is None:
        idx = torch.full((rows,), -1.0, dtype=torch.float64, device=device)
    else:
        idx = torch.as_tensor(index).reshape(-1).to(device=device, dtype=torch.float64)
        if idx.numel() != rows:
            raise ValueError(f"index has {idx.numel()} entries for {rows} batch rows")
    view = torch.arange(rest, dtype=torch.float64, device=device).repeat(rows)
    return idx.repeat_interleave(rest), view


def sort_samples(index: Tensor, view: Tensor, value: Tensor) -> PerSample:
    """:class:`PerSample` sorted by (index, view, value): one order whatever the processes' split."""
    order = torch.argsort(value, stable=True)
    order = order[torch.argsort(view[order], stable=True)]
    order = order[torch.argsort(index[order], stable=True)]
    return PerSample(index[order], view[order], value[order])


def _cat(state: Tensor | list[Tensor]) -> Tensor:
    """A ``cat`` state as one float64 tensor (a list before synchronisation, a tensor after)."""
    parts = state if isinstance(state, list) else [state]
    parts = [p.reshape(-1).to(torch.float64) for p in parts]
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.float64)


class PerSampleValues:
    """Mixin of a torchmetrics ``Metric``: optional per-sample ``cat`` states (:data:`SAMPLE_STATES`);
    :meth:`_keep_samples` in ``compute`` (run on synchronised states) sets :attr:`sorted_samples`."""

    per_sample: bool = False
    sorted_samples: PerSample | None = None

    def _add_sample_states(self, per_sample: bool) -> None:
        self.per_sample = per_sample
        if per_sample:
            for name in SAMPLE_STATES:
                self.add_state(name, [], dist_reduce_fx="cat")  # type: ignore[attr-defined]

    def _record(self, index: Tensor, view: Tensor, value: Tensor) -> None:
        """Append samples (float64 (N,) each; empty tensors too, so every process holds a state)."""
        if self.per_sample:
            for name, t in zip(SAMPLE_STATES, (index, view, value)):
                getattr(self, name).append(t.detach().reshape(-1).to(torch.float64))

    def _keep_samples(self) -> None:
        if self.per_sample:
            self.sorted_samples = sort_samples(*(_cat(getattr(self, name)) for name in SAMPLE_STATES))


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


class _JointAverage(PerSampleValues, Metric):
    """Mean of a per-joint quantity over valid samples, with per-joint breakdown and failure count, and
    (``per_sample``) each valid sample's mean over joints keyed by (dataset index, view)."""

    is_differentiable = False
    higher_is_better = False
    full_state_update = False
    dims = 3

    def __init__(self, num_joints: int = NUM_JOINTS, per_sample: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_joints = num_joints
        self.add_state("sum_per_joint", torch.zeros(num_joints, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("n_invalid", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self._add_sample_states(per_sample)

    def _per_joint(self, pred: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError

    def update(self, pred: Tensor, target: Tensor, valid: Tensor | None = None, *,
               index: Tensor | None = None) -> None:
        """pred, target: (..., J, D); valid: optional bool (...,) or (..., J); index: the dataset index of
        each row of the first dim (per-sample values; None: -1)."""
        lead = tuple(pred.shape[:-2])
        pred, target, ok = _flatten(pred.detach(), target.detach(), valid, self.dims)
        if pred.shape[-2] != self.num_joints:
            raise ValueError(f"expected {self.num_joints} joints, got {pred.shape[-2]}")
        self.n_invalid += (~ok).sum()
        if ok.any():
            values = self._per_joint(pred[ok].double(), target[ok].double())
            self.sum_per_joint += values.sum(dim=0)
            self.count += ok.sum()
        if self.per_sample:
            idx, view = sample_keys(lead, index, ok.device)
            empty = torch.zeros(0, dtype=torch.float64, device=ok.device)
            self._record(idx[ok], view[ok], values.mean(dim=-1) if ok.any() else empty)

    def compute(self) -> Tensor:
        """Average over all valid samples and joints (NaN if there were none)."""
        self._keep_samples()
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
    """Joint detection rate: fraction of 2D joints close enough to the ground truth. ``definition``: one of
    :data:`JDR_DEFINITIONS` (``"qiu2019"`` needs ``image_size`` px at construction or per :meth:`update`); a
    fixed ``threshold`` (px, ``<``) overrides it."""

    higher_is_better = True
    dims = 2

    def __init__(self, threshold: float | None = None, definition: str = DEFAULT_JDR,
                 image_size: float | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if threshold is not None and threshold <= 0:
            raise ValueError(f"JDR threshold must be positive pixels, got {threshold}")
        self.threshold = threshold
        self.definition = check_jdr_definition(definition)
        self.image_size = image_size
        self._update_size: float | None = None

    def update(self, pred: Tensor, target: Tensor, valid: Tensor | None = None,
               image_size: float | None = None, *, index: Tensor | None = None) -> None:
        """pred, target (..., J, 2) px; valid: optional bool (...,), e.g. present views; image_size: px;
        index: dataset index per row of the first dim."""
        size = image_size if image_size is not None else self.image_size
        if self.threshold is None and self.definition == "qiu2019":
            _qiu2019_size(size)
        self._update_size = size
        super().update(pred, target, valid, index=index)

    def _per_joint(self, pred: Tensor, target: Tensor) -> Tensor:
        """1.0 per detected joint (..., J): error ``< threshold``, ``< 0.5 x |head_top - neck|`` of the
        target (head_thorax) or ``<= 0.5 x image_size / 10`` px (qiu2019)."""
        error = (pred - target).norm(dim=-1)
        if self.threshold is not None:
            return (error < self.threshold).double()
        if self.definition == "head_thorax":
            head = (target[..., HEAD_TOP, :] - target[..., NECK, :]).norm(dim=-1)
            return (error < 0.5 * head.unsqueeze(-1)).double()
        return (error <= 0.5 * _qiu2019_size(self._update_size) / 10.0).double()


class FailureCount(PerSampleValues, Metric):
    """Number of failed (invalid or non-finite) predictions, e.g. triangulations, and the total seen;
    (``per_sample``) each sample's 1 (failed) or 0 keyed by (dataset index, view)."""

    is_differentiable = False
    higher_is_better = False
    full_state_update = False

    def __init__(self, per_sample: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state("failed", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("total", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self._add_sample_states(per_sample)

    def update(self, valid: Tensor, pred: Tensor | None = None, *, index: Tensor | None = None) -> None:
        """Count failures: ``valid`` bool (...,), or (..., J) with ``pred`` (a sample fails if any joint
        does); poses ``pred`` (..., J, 3) fail where non-finite; ``index``: per row of the first dim."""
        valid = torch.as_tensor(valid).bool()
        if pred is not None:
            if valid.shape == pred.shape[:-1]:
                valid = valid.all(dim=-1)
            if valid.shape != pred.shape[:-2]:
                raise ValueError(f"valid {tuple(valid.shape)} does not match poses {tuple(pred.shape)}")
            valid = valid & torch.isfinite(pred).all(dim=(-1, -2))
        self.failed += (~valid).sum()
        self.total += valid.numel()
        if self.per_sample:
            self._record(*sample_keys(tuple(valid.shape), index, valid.device), (~valid).reshape(-1))

    def compute(self) -> Tensor:
        self._keep_samples()
        return self.failed
