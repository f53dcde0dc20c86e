"""Blur corruptions (ImageNet-C parameters): defocus (anti-aliased disk) and motion blur; pixel lengths
times ``scale`` (``base.spatial_scale``), with ``scale=1`` equal to imagecorruptions' to float precision."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from poselab.corruptions.base import check_severity, clip255, reflect_pad

#: (disk radius px, anti-alias Gaussian sigma px) at 224 px
DEFOCUS_BLUR = ((3.0, 0.1), (4.0, 0.5), (6.0, 0.5), (8.0, 0.5), (10.0, 0.5))
#: (radius px, sigma px) of the one-sided Gaussian motion kernel at 224 px
MOTION_BLUR = ((10, 3.0), (15, 5.0), (15, 8.0), (15, 12.0), (20, 15.0))
#: motion direction range (degrees), drawn per image
MOTION_ANGLE = (-45.0, 45.0)


def _gaussian_1d(ksize: int, sigma: float) -> Tensor:
    """OpenCV's ``getGaussianKernel(ksize, sigma)`` for sigma > 0, float64."""
    x = torch.arange(ksize, dtype=torch.float64) - (ksize - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def disk_kernel(radius: float, alias_blur: float) -> Tensor:
    """imagecorruptions' anti-aliased ``disk()`` as float32 (K, K), all-zero border rows/columns trimmed."""
    half = 8 if radius <= 8 else math.ceil(radius)
    ax = torch.arange(-half, half + 1, dtype=torch.float32)
    yy, xx = torch.meshgrid(ax, ax, indexing="ij")
    disk = ((xx**2 + yy**2) <= radius**2).float()
    disk = disk / disk.sum()
    ksize = 3 if radius <= 8 else 5
    g = _gaussian_1d(ksize, max(alias_blur, 1e-12)).float()
    p = ksize // 2
    k = F.pad(disk[None, None], (p, p, p, p), mode="reflect")
    k = F.conv2d(k, g.view(1, 1, 1, -1))
    k = F.conv2d(k, g.view(1, 1, -1, 1))[0, 0]
    nz_rows = (k != 0).any(dim=1).nonzero()
    nz_cols = (k != 0).any(dim=0).nonzero()
    trim = int(min(nz_rows.min(), nz_cols.min(), len(k) - 1 - nz_rows.max(), len(k) - 1 - nz_cols.max()))
    return k[trim: len(k) - trim, trim: len(k) - trim]


def defocus_blur(images: Tensor, severity: int, scale: float = 1.0) -> Tensor:
    """Filter (N, 3, H, W) with ``disk_kernel(r * scale, a * scale)``, (r, a) = DEFOCUS_BLUR[severity-1],
    mirrored borders."""
    radius, alias = DEFOCUS_BLUR[check_severity(severity) - 1]
    k = disk_kernel(radius * scale, alias * scale).to(images)
    return clip255(filter2d(reflect_pad(images, k.shape[-1] // 2), k))


def filter2d(x: Tensor, kernel: Tensor) -> Tensor:
    """Valid correlation of (M, C, H, W) with a kernel, (KH, KW) shared or (M, 1, KH, KW) per image ->
    (M, C, H-KH+1, W-KW+1); through the FFT for kernels of 9 px and more, else ``conv2d``."""
    kh, kw = kernel.shape[-2:]
    if kernel.dim() == 2 and max(kh, kw) < 9:
        m, c, h, w = x.shape
        out = F.conv2d(x.reshape(m * c, 1, h, w), kernel[None, None])
        return out.reshape(m, c, h - kh + 1, w - kw + 1)
    h, w = x.shape[-2:]
    fh, fw = fft_size(h), fft_size(w)  # zero padding to a fast length leaves the valid part unchanged
    flipped = kernel.flip(-2, -1)
    y = torch.fft.irfft2(torch.fft.rfft2(x, s=(fh, fw)) * torch.fft.rfft2(flipped, s=(fh, fw)), s=(fh, fw))
    return y[..., kh - 1:h, kw - 1:w]


def fft_size(n: int) -> int:
    """The smallest length >= n whose prime factors are 2, 3 and 5 (fast for pocketfft and cuFFT)."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


def motion_offsets(angles: Tensor, width: int) -> tuple[Tensor, Tensor]:
    """Integer pixel offsets (dy, dx), each (N, width), of the taps of imagecorruptions' ``_motion_blur``
    for angles (N,) in degrees (tap i samples the image at (y - dy, x - dx))."""
    a = torch.deg2rad(angles.to(torch.float64))[:, None]
    p0, p1 = width * torch.sin(a), width * torch.cos(a)
    hyp = torch.hypot(p0, p1)
    i = torch.arange(width, dtype=torch.float64, device=angles.device)[None]
    dy = -torch.ceil(i * p0 / hyp - 0.5)
    dx = -torch.ceil(i * p1 / hyp - 0.5)
    return dy.long(), dx.long()


def motion_blur(images: Tensor, severity: int, angles: Tensor, scale: float = 1.0) -> Tensor:
    """Blur (N, 3, H, W) towards ``angles`` (N,) degrees: sum over taps i of k_i * image shifted by i px
    (edges repeated), k = one-sided Gaussian of sigma*scale over 2*round(radius*scale)+1 taps; taps from
    the first one that leaves the image on are dropped (as the package)."""
    radius, sigma = MOTION_BLUR[check_severity(severity) - 1]
    radius, sigma = max(0, round(radius * scale)), sigma * scale
    width = 2 * radius + 1
    k = torch.exp(-torch.arange(width, dtype=torch.float64) ** 2 / (2 * sigma**2))
    k = (k / k.sum()).to(images)
    n, c, h, w = images.shape
    dy, dx = motion_offsets(angles.to(images.device), width)
    inside = ((dy.abs() < h) & (dx.abs() < w)).long().cumprod(dim=1).to(images.dtype)  # (N, width)
    # one sparse kernel per image on replicate-padded images (all taps of all images at once)
    top, bottom, left, right = _motion_reach(angles, width)
    kernel = torch.zeros(n, top + bottom + 1, left + right + 1, dtype=images.dtype, device=images.device)
    rows = torch.arange(n, device=images.device)[:, None].expand(n, width)
    kernel.index_put_((rows, top - dy, left - dx), k[None, :] * inside, accumulate=True)
    padded = F.pad(images, (left, right, top, bottom), mode="replicate")
    return clip255(filter2d(padded, kernel[:, None]))


def _motion_reach(angles: Tensor, width: int) -> tuple[int, int, int, int]:
    """How far (px) the taps reach above, below, left and right of a pixel: for angles in MOTION_ANGLE the
    reach at its ends (+1 px row margin; an image's result must not depend on its batch), else
    ``width - 1`` on every side."""
    lo, hi = MOTION_ANGLE
    p = width - 1
    if angles.numel() == 0 or bool((angles < lo).any() | (angles > hi).any()):
        return p, p, p, p
    dy, _ = motion_offsets(torch.tensor([lo, hi], dtype=torch.float64), width)
    rows = min(int(dy.abs().max()) + 1, p)
    return rows, rows, 0, p
