"""JPEG compression (ImageNet-C qualities) as a batched torch codec following libjpeg as Pillow calls it:
baseline JFIF, 4:2:0 chroma, Annex K tables scaled by the quality, float DCT, triangular ("fancy") chroma
up-sampling; about one grey level from libjpeg's integer DCT (docs/CORRUPTIONS.md)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from poselab.corruptions.base import check_severity, clip255

#: JPEG quality (0..100) per severity
JPEG_QUALITY = (25, 18, 15, 10, 7)

_LUMA = (
    (16, 11, 10, 16, 24, 40, 51, 61), (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56), (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77), (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101), (72, 92, 95, 98, 112, 100, 103, 99),
)
_CHROMA = (
    (17, 18, 24, 47, 99, 99, 99, 99), (18, 21, 26, 66, 99, 99, 99, 99),
    (24, 26, 56, 99, 99, 99, 99, 99), (47, 66, 99, 99, 99, 99, 99, 99),
) + ((99,) * 8,) * 4


def quant_tables(quality: int) -> tuple[Tensor, Tensor]:
    """(luminance, chrominance) quantisation tables (8, 8), float64, for a JPEG quality in 1..100."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must lie in 1..100, got {quality}")
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    tables = []
    for base in (_LUMA, _CHROMA):
        t = torch.tensor(base, dtype=torch.int64)
        tables.append(((t * scale + 50) // 100).clamp(1, 255).double())
    return tables[0], tables[1]


def _dct_matrix(device, dtype) -> Tensor:
    """Orthonormal 8-point DCT-II matrix D (8, 8): coefficients = D @ block @ D.T (JPEG's FDCT)."""
    k = torch.arange(8, dtype=torch.float64)
    d = torch.cos(math.pi * (2 * k[None, :] + 1) * k[:, None] / 16) * 0.5
    d[0] /= math.sqrt(2)
    return d.to(device=device, dtype=dtype)


def _quantise(planes: Tensor, table: Tensor) -> Tensor:
    """Round-trip (N, C, H, W) planes (H, W multiples of 8, level-shifted) through DCT and quantisation."""
    n, c, h, w = planes.shape
    d = _dct_matrix(planes.device, planes.dtype)
    q = table.to(planes).view(1, 1, 1, 8, 1, 8)
    blocks = planes.reshape(n, c, h // 8, 8, w // 8, 8)
    coef = torch.einsum("uy,ncaybx,vx->ncaubv", d, blocks, d)
    coef = coef.div_(q).round_().mul_(q)
    return torch.einsum("uy,ncaubv,vx->ncaybx", d, coef, d).reshape(n, c, h, w)


def jpeg_roundtrip(images: Tensor, quality: int) -> Tensor:
    """Encode and decode (N, 3, H, W) 0..255 images as baseline 4:2:0 JPEG at ``quality``; integer-valued."""
    luma_q, chroma_q = quant_tables(quality)
    n, _, h, w = images.shape
    r, g, b = clip255(images).round_().unbind(dim=1)
    ycc = images.new_empty(n, 3, h, w)
    torch.round(0.299 * r + 0.587 * g + 0.114 * b, out=ycc[:, 0])
    torch.round(-0.168735892 * r - 0.331264108 * g + 0.5 * b + 128.0, out=ycc[:, 1])
    torch.round(0.5 * r - 0.418687589 * g - 0.081312411 * b + 128.0, out=ycc[:, 2])
    hp, wp = -(-h // 16) * 16, -(-w // 16) * 16
    if (hp, wp) != (h, w):
        ycc = F.pad(ycc, (0, wp - w, 0, hp - h), mode="replicate")
    y_rec = _quantise(ycc[:, :1] - 128.0, luma_q).add_(128.0).round_().clamp_(0.0, 255.0)
    c = ycc[:, 1:]  # 2x2 means of integers: exact in any order
    chroma = (c[..., 0::2, 0::2] + c[..., 0::2, 1::2]).add_(c[..., 1::2, 0::2]).add_(c[..., 1::2, 1::2])
    chroma.mul_(0.25)
    c_rec = _quantise(chroma.sub_(128.0), chroma_q).add_(128.0).round_().clamp_(0.0, 255.0)
    c_up = F.interpolate(c_rec, scale_factor=2, mode="bilinear", align_corners=False)
    yy, cb, cr = y_rec[:, 0], c_up[:, 0].sub_(128.0), c_up[:, 1].sub_(128.0)
    rgb = torch.empty_like(ycc)
    torch.add(yy, 1.402 * cr, out=rgb[:, 0])
    torch.sub(yy - 0.344136286 * cb, 0.714136286 * cr, out=rgb[:, 1])
    torch.add(yy, 1.772 * cb, out=rgb[:, 2])
    return rgb.round_().clamp_(0.0, 255.0)[..., :h, :w]


def jpeg_compression(images: Tensor, severity: int) -> Tensor:
    """JPEG round trip at quality JPEG_QUALITY[severity-1] (as imagecorruptions via Pillow); (N, 3, H, W)."""
    return jpeg_roundtrip(images, JPEG_QUALITY[check_severity(severity) - 1])
