"""Rotations: axis-angle to matrix, rotating a pose about its pelvis, numpy rotations about x, y or z."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def axis_rotation(axis: str, radians: np.ndarray | float) -> np.ndarray:
    """Right-handed numpy rotation matrices (..., 3, 3) about ``axis`` ("X", "Y" or "Z") by ``radians``."""
    a = np.asarray(radians, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    one, zero = np.ones_like(a), np.zeros_like(a)
    rows = {
        "X": ((one, zero, zero), (zero, c, -s), (zero, s, c)),
        "Y": ((c, zero, s), (zero, one, zero), (-s, zero, c)),
        "Z": ((c, -s, zero), (s, c, zero), (zero, zero, one)),
    }[axis]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def axis_angle_to_matrix(axis: Tensor, angle: Tensor) -> Tensor:
    """Rodrigues' formula. axis (..., 3) (any length, normalised here), angle (...) radians -> (..., 3, 3)."""
    axis = axis / axis.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(axis.dtype).tiny)
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    skew = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(*axis.shape[:-1], 3, 3)
    angle = angle[..., None, None]
    eye = torch.eye(3, dtype=axis.dtype, device=axis.device).expand_as(skew)
    return eye + torch.sin(angle) * skew + (1 - torch.cos(angle)) * (skew @ skew)


def rotate_about_pelvis(pose: Tensor, angle: Tensor | float, axis: Tensor) -> Tensor:
    """Rotate pose (..., 17, 3) by ``angle`` radians about ``axis`` (..., 3) through the pelvis (joint 0)."""
    angle = torch.as_tensor(angle, dtype=pose.dtype, device=pose.device)
    axis = torch.as_tensor(axis, dtype=pose.dtype, device=pose.device)
    angle = angle.expand(pose.shape[:-2]) if angle.dim() == 0 else angle
    axis = axis.expand(*pose.shape[:-2], 3)
    rot = axis_angle_to_matrix(axis, angle)
    pivot = pose[..., :1, :]
    return (pose - pivot) @ rot.transpose(-1, -2) + pivot
