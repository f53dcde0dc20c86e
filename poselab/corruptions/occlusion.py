"""Occlusion of body parts (poselab's own): solid boxes of random colour centred on random projected joints,
their side a fraction of the person's 2D extent (the larger side of the joints' bounding box)."""

from __future__ import annotations

import torch
from torch import Tensor

from poselab.corruptions.base import check_severity
from poselab.corruptions.rng import ImageRNG

#: (number of occluded joints, box side as a fraction of the person's 2D extent)
OCCLUSION = ((1, 0.15), (2, 0.2), (3, 0.25), (4, 0.3), (5, 0.35))


def occlusion_boxes(joints_2d: Tensor, severity: int, order: Tensor) -> Tensor:
    """Boxes (N, k, 4) as (x0, y0, x1, y1) px, centred on the joints ``order[:, :k]`` of ``joints_2d``
    (N, J, 2) px; ``order`` (N, J) is a permutation of the joints per image."""
    k, frac = OCCLUSION[check_severity(severity) - 1]
    if joints_2d.dim() != 3 or joints_2d.shape[-1] != 2:
        raise ValueError(f"joints_2d must be (N, J, 2) pixels, got {tuple(joints_2d.shape)}")
    if k > joints_2d.shape[1]:
        raise ValueError(f"occlusion severity {severity} needs {k} joints, got {joints_2d.shape[1]}")
    extent = (joints_2d.amax(dim=1) - joints_2d.amin(dim=1)).amax(dim=-1)  # (N,)
    centers = torch.gather(joints_2d, 1, order[:, :k, None].expand(-1, -1, 2))  # (N, k, 2)
    half = (0.5 * frac * extent)[:, None, None]
    return torch.cat([centers - half, centers + half], dim=-1)


def fill_boxes(images: Tensor, boxes: Tensor, colors: Tensor) -> Tensor:
    """Paint boxes (N, k, 4) (x0, y0, x1, y1) px with colours (N, k, 3) 0..255, later boxes on top; a pixel
    (centre x + 0.5, y + 0.5) is covered when its centre lies inside the box. (N, 3, H, W)."""
    h, w = images.shape[-2:]
    ys = torch.arange(h, device=images.device, dtype=images.dtype) + 0.5
    xs = torch.arange(w, device=images.device, dtype=images.dtype) + 0.5
    out = images.clone()
    b = boxes.to(images)
    for i in range(boxes.shape[1]):
        inside_x = (xs[None, :] >= b[:, i, 0:1]) & (xs[None, :] < b[:, i, 2:3])  # (N, W)
        inside_y = (ys[None, :] >= b[:, i, 1:2]) & (ys[None, :] < b[:, i, 3:4])  # (N, H)
        mask = (inside_y[:, :, None] & inside_x[:, None, :])[:, None]  # (N, 1, H, W)
        out = torch.where(mask, colors[:, i, :, None, None].to(images), out)
    return out


def occlusion(images: Tensor, severity: int, joints_2d: Tensor, rng: ImageRNG) -> Tensor:
    """Occlude random joints of ``joints_2d`` (N, J, 2) px in (N, 3, H, W) with boxes of random colour."""
    if joints_2d.shape[0] != images.shape[0]:
        raise ValueError(f"joints_2d has {joints_2d.shape[0]} images, images {images.shape[0]}")
    order = rng.rand(joints_2d.shape[1]).argsort(dim=1).to(images.device)
    colors = rng.rand(OCCLUSION[-1][0], 3) * 255.0
    boxes = occlusion_boxes(joints_2d.to(images.device).float(), severity, order)
    return fill_boxes(images, boxes, colors)
