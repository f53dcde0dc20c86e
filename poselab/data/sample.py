"""The one multi-view sample contract that every poselab dataset returns.

A sample is a ``dict`` with these keys (V views, J = 17 joints, H x W crop):

=================  =====================  =====================================================
key                shape / type           meaning
=================  =====================  =====================================================
``images``         uint8 (V, 3, H, W)     RGB crops, 0..255 (models cast to float and normalise)
``K``              float32 (V, 3, 3)      intrinsics of the crop (pixels)
``R``              float32 (V, 3, 3)      world->camera rotation
``t``              float32 (V, 3)         world->camera translation (mm): X_c = R X_w + t
``dist``           float32 (V, 5)         OpenCV distortion (k1, k2, p1, p2, k3)
``joints_world``   float32 (J, 3)         3D joints in world coordinates (mm)
``joints_cam``     float32 (V, J, 3)      3D joints in each camera's coordinates (mm)
``joints_2d``      float32 (V, J, 2)      2D joints in crop pixels (distorted, as in the image)
``bbox``           float32 (V, 4)         crop box (x0, y0, x1, y1) in full-image pixels
``camera_ids``     int64 (V,)             index of each view's camera in the dataset's rig
``view_valid``     bool (V,), optional    False for a view missing from the recording (black crop);
                                          Human3.6M only, absent means every view is present
``subject``        str                    subject name, e.g. "S9"
``action``         str                    action name, e.g. "walking"
``frame``          int                    frame index within the (subject, action) sequence
``index``          int                    dataset index of the sample
=================  =====================  =====================================================

After default collation every tensor gains a leading batch dim B; strings become lists.
Pixel coordinates follow OpenCV's convention (pixel centres at integer coordinates).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from poselab.skeleton import NUM_JOINTS

TENSOR_KEYS: dict[str, tuple[str, ...]] = {
    "images": ("V", 3, "H", "W"),
    "K": ("V", 3, 3),
    "R": ("V", 3, 3),
    "t": ("V", 3),
    "dist": ("V", 5),
    "joints_world": (NUM_JOINTS, 3),
    "joints_cam": ("V", NUM_JOINTS, 3),
    "joints_2d": ("V", NUM_JOINTS, 2),
    "bbox": ("V", 4),
    "camera_ids": ("V",),
}
#: Per-view keys a sample may carry (bool (V,)).
OPTIONAL_KEYS = ("view_valid",)


def select_views(batch: Mapping[str, Any], views: list[int] | torch.Tensor) -> dict[str, Any]:
    """A batch (or sample) restricted to the given view indices along the view dim.

    Works on batched dicts (view dim 1) for every per-view tensor key; other keys are shared.
    """
    per_view = (*(k for k, spec in TENSOR_KEYS.items() if spec[0] == "V"), *OPTIONAL_KEYS)
    idx = torch.as_tensor(views, dtype=torch.long)
    out = dict(batch)
    for key in per_view:
        if key in out and isinstance(out[key], torch.Tensor):
            out[key] = out[key].index_select(1, idx.to(out[key].device))
    return out
