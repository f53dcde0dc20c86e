"""Shared conventions of the corruption functions: image checks and the image-size rule.

Every corruption takes float images ``(N, 3, H, W)`` in 0..255 (any device, any float dtype) and returns
a new tensor of the same shape, dtype and device, clipped to 0..255. Outputs are *not* quantised to
uint8 (imagecorruptions' ``corrupt()`` floors its float result to uint8; call ``.floor()`` for that).

**Image size.** imagecorruptions' parameters are tuned for 224 px ImageNet crops. Parameters that are
lengths in pixels (the defocus disk radius and its anti-alias sigma, the motion-blur radius and sigma)
are multiplied by ``spatial_scale = min(H, W) / reference_size`` (``REFERENCE_SIZE`` = 224), so that a
severity blurs the same *fraction of the crop* at 64 px as at 224 px (a 20 px motion blur would smear a
third of a 64 px crop). At 224 px, or with ``reference_size=None``, the package's pixel values are used
unchanged. All other parameters are scale-free and never scaled: noise is per pixel, brightness,
contrast and JPEG quality act per pixel or per 8x8 block, pixelation is a ratio of the image size, fog's
fractal is drawn at the image's own size (next power of two), and occlusion boxes scale with the person.
"""

from __future__ import annotations

import torch
from torch import Tensor

#: image side (px) the imagecorruptions parameters are tuned for (ImageNet-C crops)
REFERENCE_SIZE = 224
#: the five ImageNet-C severities
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
