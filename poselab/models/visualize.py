"""Draw 2D skeletons on crops: predicted (red) and ground truth (green)."""

from __future__ import annotations

import numpy as np
from torch import Tensor

from poselab.skeleton import BONES

RED = (0, 0, 255)  # BGR
GREEN = (0, 200, 0)


def _draw(canvas: np.ndarray, joints: np.ndarray, color: tuple[int, int, int], scale: float) -> None:
    import cv2

    pts = joints * scale
    if not np.isfinite(pts).all():
        return
    for child, parent in BONES:
        a = tuple(int(round(c)) for c in pts[child])
        b = tuple(int(round(c)) for c in pts[parent])
        cv2.line(canvas, a, b, color, 1, cv2.LINE_AA)
    for p in pts:
        cv2.circle(canvas, (int(round(p[0])), int(round(p[1]))), 2, color, -1, cv2.LINE_AA)


def skeleton_panel(images: Tensor, pred_2d: Tensor, gt_2d: Tensor, size: int = 192) -> np.ndarray:
    """A horizontal strip of crops with skeletons, RGB uint8 (size, N * size, 3).

    Args:
        images: (N, 3, H, W) 0..255.
        pred_2d, gt_2d: (N, J, 2) crop pixels.
    """
    import cv2

    tiles = []
    for img, pred, gt in zip(images, pred_2d, gt_2d):
        h, w = img.shape[-2:]
        scale = size / max(h, w)
        rgb = img.detach().float().clamp(0, 255).byte().permute(1, 2, 0).cpu().numpy()
        bgr = cv2.resize(np.ascontiguousarray(rgb[..., ::-1]), (round(w * scale), round(h * scale)),
                         interpolation=cv2.INTER_NEAREST)
        # pixel centres at integers: scale about -0.5 so points land on the upsampled pixels
        _draw(bgr, gt.detach().cpu().numpy() + 0.5 - 0.5 / scale, GREEN, scale)
        _draw(bgr, pred.detach().cpu().numpy() + 0.5 - 0.5 / scale, RED, scale)
        tiles.append(bgr[..., ::-1])
    return np.ascontiguousarray(np.concatenate(tiles, axis=1))
