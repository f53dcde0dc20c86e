"""Draw 2D skeletons on crops: predicted and ground truth (colours of :mod:`poselab.style`), with a legend."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import Tensor

from poselab.skeleton import BONES
from poselab.style import put_label, skeleton_rgb

PRED = skeleton_rgb("prediction")  # RGB
GT = skeleton_rgb("ground truth")
#: Height (px) of the strip above the tiles that carries the caption and the legend.
STRIP = 34


def _draw(canvas: np.ndarray, joints: np.ndarray, color: tuple[int, int, int], scale: float) -> None:
    import cv2

    pts = joints * scale
    if not np.isfinite(pts).all():
        return
    xy = [(int(round(x)), int(round(y))) for x, y in pts]
    for child, parent in BONES:
        cv2.line(canvas, xy[child], xy[parent], color, 1, cv2.LINE_AA)
    for p in xy:
        cv2.circle(canvas, p, 2, color, -1, cv2.LINE_AA)


def _strip(width: int, caption: str) -> np.ndarray:
    """A dark strip (STRIP, width, 3): ``caption`` on the first line, the skeleton legend on the second."""
    import cv2

    strip = np.zeros((STRIP, width, 3), np.uint8)
    put_label(strip, caption, (0, 0))
    x = 4
    for text, color in (("ground truth", GT), ("predicted", PRED)):
        cv2.line(strip, (x, 26), (x + 14, 26), color, 2, cv2.LINE_AA)
        cv2.putText(strip, text, (x + 18, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.4, color, 1, cv2.LINE_AA)
        x += 18 + cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)[0][0] + 12
    return strip


def skeleton_panel(images: Tensor, pred_2d: Tensor, gt_2d: Tensor, size: int = 192,
                   caption: str | None = None, tile_labels: Sequence[str] | None = None) -> np.ndarray:
    """Crops ``images`` (N, 3, H, W) 0..255 with skeletons ``pred_2d``, ``gt_2d`` (N, J, 2) crop px, side by
    side: RGB uint8 (size, N * size, 3), each with its ``tile_labels`` entry in its top-left corner; a
    ``caption`` goes with the colour legend on a strip of :data:`STRIP` px above."""
    import cv2

    tiles = []
    for k, (img, pred, gt) in enumerate(zip(images, pred_2d, gt_2d)):
        h, w = img.shape[-2:]
        scale = size / max(h, w)
        rgb = img.detach().float().clamp(0, 255).byte().permute(1, 2, 0).cpu().numpy()
        tile = cv2.resize(np.ascontiguousarray(rgb), (round(w * scale), round(h * scale)),
                          interpolation=cv2.INTER_NEAREST)
        # pixel centres at integers: scale about -0.5 so points land on the upsampled pixels
        _draw(tile, gt.detach().cpu().numpy() + 0.5 - 0.5 / scale, GT, scale)
        _draw(tile, pred.detach().cpu().numpy() + 0.5 - 0.5 / scale, PRED, scale)
        if tile_labels is not None:
            put_label(tile, tile_labels[k], (0, 0))
        tiles.append(tile)
    panel = np.concatenate(tiles, axis=1)
    if caption is not None:
        panel = np.concatenate([_strip(panel.shape[1], caption), panel], axis=0)
    return np.ascontiguousarray(panel)
