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
    """The pose seen from camera ``src`` expressed in camera ``tgt``'s axes, root-relative.

    Args:
        pose_src: pose in source-camera coordinates (..., J, 3) mm (absolute or root-relative).
        R_src, R_tgt: world->camera rotations (..., 3, 3).

    Returns:
        (..., J, 3) mm: ``R_tgt R_src^T`` applied to the root-relative source pose, i.e. the same
        frame's ground truth in camera ``tgt`` coordinates, root-relative.
    """
    rel = R_tgt @ R_src.transpose(-1, -2)
    return root_relative(pose_src) @ rel.transpose(-1, -2)


def vertical_axis(R: Tensor, up: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> Tensor:
    """World ``up`` direction in camera coordinates, (..., 3) from world->camera R (..., 3, 3)."""
    up_t = torch.as_tensor(up, dtype=R.dtype, device=R.device)
    return R @ up_t


def rotation_target(pose: Tensor, angle_deg: float | Tensor, axis: Tensor) -> Tensor:
    """Pose (..., J, 3) rotated by ``angle_deg`` degrees about ``axis`` (..., 3) through the pelvis.

    Bone lengths and the pelvis position are preserved.
    """
    angle = torch.as_tensor(angle_deg, dtype=pose.dtype, device=pose.device) * (math.pi / 180.0)
    return rotate_about_pelvis(pose, angle, axis)
