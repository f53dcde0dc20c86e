"""Attack targets: camera-swap and pelvis rotation. Pure batched functions, mm and radians/degrees."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from poselab.geometry.rotation import rotate_about_pelvis
from poselab.skeleton import PELVIS


def root_relative(pose: Tensor) -> Tensor:
    """Subtract the pelvis: (..., J, 3) -> (..., J, 3)."""
    return pose - pose[..., PELVIS : PELVIS + 1, :]


def camera_swap_target(pose_src: Tensor, R_src: Tensor, R_tgt: Tensor) -> Tensor:
    """Pose (..., J, 3) mm in camera ``src`` coordinates -> the same pose in camera ``tgt``'s axes,
    root-relative: ``R_tgt R_src^T`` applied (world->camera rotations (..., 3, 3))."""
    rel = R_tgt @ R_src.transpose(-1, -2)
    return root_relative(pose_src) @ rel.transpose(-1, -2)


def vertical_axis(R: Tensor, up: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> Tensor:
    """World ``up`` direction in camera coordinates, (..., 3) from world->camera R (..., 3, 3)."""
    return R @ torch.as_tensor(up, dtype=R.dtype, device=R.device)


def rotation_target(pose: Tensor, angle_deg: float | Tensor, axis: Tensor) -> Tensor:
    """Pose (..., J, 3) rotated by ``angle_deg`` degrees about ``axis`` (..., 3) through the pelvis."""
    angle = torch.as_tensor(angle_deg, dtype=pose.dtype, device=pose.device) * (math.pi / 180.0)
    return rotate_about_pelvis(pose, angle, axis)
