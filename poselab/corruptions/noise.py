"""Noise corruptions (ImageNet-C parameters): Gaussian, shot (Poisson) and impulse (salt & pepper), drawn
from an :class:`~poselab.corruptions.rng.ImageRNG`: equal to imagecorruptions' in distribution only."""

from __future__ import annotations

import torch
from torch import Tensor

from poselab.corruptions.base import check_severity
from poselab.corruptions.rng import ImageRNG

#: standard deviation of the additive noise, as a fraction of the 0..255 range
GAUSSIAN_NOISE = (0.08, 0.12, 0.18, 0.26, 0.38)
#: photons per unit intensity (fewer = noisier)
SHOT_NOISE = (60.0, 25.0, 12.0, 5.0, 3.0)
#: fraction of pixel channels replaced by 0 or 255 (half each)
IMPULSE_NOISE = (0.03, 0.06, 0.09, 0.17, 0.27)


def gaussian_noise(images: Tensor, severity: int, rng: ImageRNG) -> Tensor:
    """``clip(x + 255 c z)``, z ~ N(0, 1) per pixel channel, c = GAUSSIAN_NOISE[severity-1]; (N, 3, H, W)."""
    c = GAUSSIAN_NOISE[check_severity(severity) - 1]
    z = rng.randn(*images.shape[1:], dtype=images.dtype)
    return z.mul_(255.0 * c).add_(images).clamp_(0.0, 255.0)


def shot_noise(images: Tensor, severity: int, rng: ImageRNG) -> Tensor:
    """``clip(Poisson(c x / 255) / c) * 255``, c = SHOT_NOISE[severity-1] photons; (N, 3, H, W)."""
    c = SHOT_NOISE[check_severity(severity) - 1]
    counts = rng.poisson((images * (c / 255.0)).clamp_min_(0.0))
    return counts.mul_(255.0 / c).clamp_(0.0, 255.0)


def impulse_noise(images: Tensor, severity: int, rng: ImageRNG) -> Tensor:
    """Salt and pepper as skimage's ``random_noise(mode='s&p')``: each pixel channel of (N, 3, H, W) is set,
    with probability c = IMPULSE_NOISE[severity-1], to 255 or 0 (equally likely)."""
    c = IMPULSE_NOISE[check_severity(severity) - 1]
    draws = rng.rand(2, *images.shape[1:])  # per image: the flip draws, then the salt draws
    salt = draws[:, 1].le_(0.5).mul_(255.0).to(images.dtype)  # 255 or 0
    return torch.where(draws[:, 0] <= c, salt, images).clamp_(0.0, 255.0)
