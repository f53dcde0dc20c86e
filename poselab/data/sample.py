"""The one multi-view sample contract that every poselab dataset returns.

A sample is a ``dict`` holding :data:`TENSOR_KEYS` (shapes below: V views, J = 17 joints, H x W crop), the
optional :data:`OPTIONAL_KEYS` and ``subject`` (str, e.g. "S9"), ``action`` (str), ``frame`` (int, within the
(subject, action) sequence) and ``index`` (int, dataset index). After default collation every tensor gains a
leading batch dim B; strings become lists. Pixel coordinates follow OpenCV (pixel centres at integers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from poselab.skeleton import NUM_JOINTS

TENSOR_KEYS: dict[str, tuple[str, ...]] = {
    "images": ("V", 3, "H", "W"),  # uint8 RGB crops, 0..255 (models cast to float and normalise)
    "K": ("V", 3, 3),  # float32 intrinsics of the crop (pixels)
    "R": ("V", 3, 3),  # float32 world->camera rotation
    "t": ("V", 3),  # float32 world->camera translation (mm): X_c = R X_w + t
    "dist": ("V", 5),  # float32 OpenCV distortion (k1, k2, p1, p2, k3)
    "joints_world": (NUM_JOINTS, 3),  # float32 3D joints in world coordinates (mm)
    "joints_cam": ("V", NUM_JOINTS, 3),  # float32 3D joints in each camera's coordinates (mm)
    "joints_2d": ("V", NUM_JOINTS, 2),  # float32 2D joints in crop pixels (distorted, as in the image)
    "bbox": ("V", 4),  # float32 crop box (x0, y0, x1, y1) in full-image pixels
    "camera_ids": ("V",),  # int64 index of each view's camera in the dataset's rig
}
#: Per-view keys a sample may carry: ``view_valid`` bool (V,), False for a view missing from the recording
#: (black crop; Human3.6M only, absent means every view is present).
OPTIONAL_KEYS = ("view_valid",)


def select_views(batch: Mapping[str, Any], views: list[int] | torch.Tensor) -> dict[str, Any]:
    """A batched dict restricted to the given view indices along the view dim (1); other keys are shared."""
    per_view = (*(k for k, spec in TENSOR_KEYS.items() if spec[0] == "V"), *OPTIONAL_KEYS)
    idx = torch.as_tensor(views, dtype=torch.long)
    out = dict(batch)
    for key in per_view:
        if key in out and isinstance(out[key], torch.Tensor):
            out[key] = out[key].index_select(1, idx.to(out[key].device))
    return out
