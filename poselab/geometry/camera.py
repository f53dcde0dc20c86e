"""Pinhole camera model with optional OpenCV distortion.

Conventions: world->camera is ``X_cam = R @ X_world + t`` with R (..., 3, 3), t (..., 3) in mm.
Intrinsics K (..., 3, 3) in pixels. Distortion ``dist`` (..., 5) in OpenCV order
(k1, k2, p1, p2, k3). All functions are batched over arbitrary leading dims, differentiable and
device/dtype agnostic; leading dims of points and cameras broadcast.
"""

from __future__ import annotations

import torch
from torch import Tensor


def world_to_camera(points: Tensor, R: Tensor, t: Tensor) -> Tensor:
    """World (..., J, 3) mm -> camera (..., J, 3) mm with R (..., 3, 3), t (..., 3)."""
    return points @ R.transpose(-1, -2) + t.unsqueeze(-2)


def camera_to_world(points: Tensor, R: Tensor, t: Tensor) -> Tensor:
    """Camera (..., J, 3) mm -> world (..., J, 3) mm; inverse of :func:`world_to_camera`."""
    return (points - t.unsqueeze(-2)) @ R


def distort(xy: Tensor, dist: Tensor) -> Tensor:
    """Apply OpenCV radial/tangential distortion to normalised coords xy (..., J, 2); dist (..., 5)."""
    k1, k2, p1, p2, k3 = (dist[..., i, None] for i in range(5))
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2 * r2 + k3 * r2 * r2 * r2
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return torch.stack([xd, yd], dim=-1)


def undistort(xy_d: Tensor, dist: Tensor, iterations: int = 10) -> Tensor:
    """Invert :func:`distort` by fixed-point iteration (as cv2.undistortPoints). xy (..., J, 2)."""
    xy = xy_d
    k1, k2, p1, p2, k3 = (dist[..., i, None] for i in range(5))
    for _ in range(iterations):
        x, y = xy[..., 0], xy[..., 1]
        r2 = x * x + y * y
        radial = 1 + k1 * r2 + k2 * r2 * r2 + k3 * r2 * r2 * r2
        dx = 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        dy = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        xy = torch.stack([(xy_d[..., 0] - dx) / radial, (xy_d[..., 1] - dy) / radial], dim=-1)
    return xy


def project(points_cam: Tensor, K: Tensor, dist: Tensor | None = None, eps: float = 1e-6) -> Tensor:
    """Project camera-space points (..., J, 3) mm to pixels (..., J, 2) with K (..., 3, 3); depths are
    clamped to ``eps`` mm from below so points behind the camera stay finite."""
    z = points_cam[..., 2:3].clamp(min=eps)
    xy = points_cam[..., :2] / z
    if dist is not None:
        xy = distort(xy, dist)
    return pixels_from_normalized(xy, K)


def _intrinsics(K: Tensor) -> tuple[Tensor, ...]:
    """fx, fy, cx, cy, skew of K (..., 3, 3), each (..., 1) to broadcast over joints."""
    return tuple(K[..., r, c, None] for r, c in ((0, 0), (1, 1), (0, 2), (1, 2), (0, 1)))


def pixels_from_normalized(xy: Tensor, K: Tensor) -> Tensor:
    """Normalised image coords (..., J, 2) -> pixels (..., J, 2)."""
    fx, fy, cx, cy, skew = _intrinsics(K)
    u = fx * xy[..., 0] + skew * xy[..., 1] + cx
    v = fy * xy[..., 1] + cy
    return torch.stack([u, v], dim=-1)


def normalized_from_pixels(uv: Tensor, K: Tensor, dist: Tensor | None = None) -> Tensor:
    """Pixels (..., J, 2) -> undistorted normalised coords (..., J, 2)."""
    fx, fy, cx, cy, skew = _intrinsics(K)
    y = (uv[..., 1] - cy) / fy
    x = (uv[..., 0] - cx - skew * y) / fx
    xy = torch.stack([x, y], dim=-1)
    return undistort(xy, dist) if dist is not None else xy


def undistort_pixels(uv: Tensor, K: Tensor, dist: Tensor) -> Tensor:
    """Remove lens distortion from pixel coords (..., J, 2), staying in pixels of the same K."""
    return pixels_from_normalized(normalized_from_pixels(uv, K, dist), K)


def backproject(uv: Tensor, depth: Tensor, K: Tensor, dist: Tensor | None = None) -> Tensor:
    """Pixels (..., J, 2) with depths (..., J) mm -> camera-space points (..., J, 3) mm."""
    xy = normalized_from_pixels(uv, K, dist)
    return torch.cat([xy * depth.unsqueeze(-1), depth.unsqueeze(-1)], dim=-1)


def project_world(points: Tensor, R: Tensor, t: Tensor, K: Tensor, dist: Tensor | None = None) -> Tensor:
    """World points (..., J, 3) mm -> pixels (..., J, 2) through camera (R, t, K, dist)."""
    return project(world_to_camera(points, R, t), K, dist)


def projection_matrix(K: Tensor, R: Tensor, t: Tensor) -> Tensor:
    """P = K [R | t], shape (..., 3, 4)."""
    return K @ torch.cat([R, t.unsqueeze(-1)], dim=-1)


def crop_intrinsics(K: Tensor, bbox: Tensor, out_size: tuple[int, int]) -> Tensor:
    """Intrinsics after cropping box ``(x0, y0, x1, y1)`` px (..., 4) and resizing to out_size (H, W):
    ``u' = (u - x0) * W / (x1 - x0)``, as ``cv2.warpAffine`` with that scale (pixel centres at integers)."""
    out_h, out_w = out_size
    x0, y0, x1, y1 = bbox.unbind(-1)
    sx = out_w / (x1 - x0)
    sy = out_h / (y1 - y0)
    new = torch.zeros_like(K)
    new[..., 0, 0] = K[..., 0, 0] * sx
    new[..., 0, 1] = K[..., 0, 1] * sx
    new[..., 0, 2] = (K[..., 0, 2] - x0) * sx
    new[..., 1, 1] = K[..., 1, 1] * sy
    new[..., 1, 2] = (K[..., 1, 2] - y0) * sy
    new[..., 2, 2] = 1.0
    return new
