"""Shared conventions of the corruption functions: checks, the image-size rule (docs/CORRUPTIONS.md,
"Image size"), clipping, padding. Every corruption maps float images (N, 3, H, W) 0..255 (any device and
float dtype) to a new tensor of the same shape, dtype and device, clipped to 0..255 but not quantised.
"""

from __future__ import annotations

import torch
from torch import Tensor

#: image side (px) the imagecorruptions parameters are tuned for (ImageNet-C crops)
REFERENCE_SIZE = 224
SEVERITIES = (1, 2, 3, 4, 5)
#: smallest image side accepted (as imagecorruptions)
MIN_SIZE = 32


def check_images(images: Tensor) -> None:
    """Raise ValueError unless ``images`` is a float tensor (N, 3, H, W) with H, W >= 32."""
    if not isinstance(images, Tensor) or images.dim() != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ValueError(f"images must be a float tensor (N, 3, H, W) in 0..255, got {shape}")
    if not images.is_floating_point():
        raise ValueError(f"images must be floating point 0..255 (call .float()), got {images.dtype}")
    if min(images.shape[-2:]) < MIN_SIZE:
        raise ValueError(f"images must be at least {MIN_SIZE} px high and wide, "
                         f"got {tuple(images.shape[-2:])}")


def check_severity(severity: int) -> int:
    """``severity`` as an int in 1..5, else ValueError naming the valid range."""
    if isinstance(severity, bool) or int(severity) != severity or int(severity) not in SEVERITIES:
        raise ValueError(f"severity must be an integer in 1..5, got {severity!r}")
    return int(severity)


def spatial_scale(images: Tensor, reference_size: int | None = REFERENCE_SIZE) -> float:
    """Factor for pixel-length parameters: min(H, W) / reference_size (1 when reference_size is None)."""
    if reference_size is None:
        return 1.0
    if reference_size <= 0:
        raise ValueError(f"reference_size must be a positive number of pixels or None, got {reference_size}")
    return min(images.shape[-2:]) / float(reference_size)


def clip255(x: Tensor) -> Tensor:
    """Clamp to the 0..255 pixel range."""
    return x.clamp(0.0, 255.0)


def reflect_pad(x: Tensor, pad: int) -> Tensor:
    """Pad (N, C, H, W) by ``pad`` px on every side, mirroring without repeating the edge (OpenCV's
    BORDER_REFLECT_101, its filters' default)."""
    if pad == 0:
        return x
    return torch.nn.functional.pad(x, (pad, pad, pad, pad), mode="reflect")
