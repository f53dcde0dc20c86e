"""Heads (deconvolution heat maps, pooled regression) and pure soft-argmax functions; heat-map cell ``i`` of
stride ``s`` is centred at image pixel ``s * i + (s - 1) / 2`` (pixel centres at integers)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def _soft_argmax(maps: Tensor, beta: float) -> tuple[Tensor, Tensor]:
    """Integral soft-argmax over the spatial dims of logits (N, J, *S): coordinates (N, J, len(S)) in cells,
    the last spatial dim first (x, y[, z]), and the probabilities (N, J, *S)."""
    n, j, *size = maps.shape
    logits = maps.float() if maps.dtype in (torch.float16, torch.bfloat16) else maps  # coordinates need fp32
    probs = torch.softmax(beta * logits.reshape(n, j, -1), dim=-1).reshape(n, j, *size)
    spatial = range(2, maps.dim())
    coords = []
    for axis in reversed(spatial):
        steps = torch.arange(size[axis - 2], dtype=probs.dtype, device=probs.device)
        coords.append((probs.sum(dim=tuple(d for d in spatial if d != axis)) * steps).sum(dim=-1))
    return torch.stack(coords, dim=-1), probs


def soft_argmax_2d(heatmaps: Tensor, beta: float = 1.0) -> tuple[Tensor, Tensor]:
    """Integral 2D soft-argmax of logits (N, J, h, w) at inverse temperature ``beta``: coords (N, J, 2) as
    (x, y) in heat-map cells, and the probabilities (N, J, h, w)."""
    if heatmaps.dim() != 4:
        raise ValueError(f"heatmaps must be (N, J, h, w), got {tuple(heatmaps.shape)}")
    return _soft_argmax(heatmaps, beta)


def soft_argmax_3d(volumes: Tensor, beta: float = 1.0) -> tuple[Tensor, Tensor]:
    """Integral 3D soft-argmax of logits (N, J, D, h, w): coords (N, J, 3) as (x, y, z) in cells (z = depth
    bin index), and the probabilities (N, J, D, h, w)."""
    if volumes.dim() != 5:
        raise ValueError(f"volumes must be (N, J, D, h, w), got {tuple(volumes.shape)}")
    return _soft_argmax(volumes, beta)


def cells_to_pixels(coords: Tensor, stride: int) -> Tensor:
    """Heat-map cell coordinates (..., 2) -> image pixels (..., 2): ``s * c + (s - 1) / 2``."""
    return coords * stride + (stride - 1) / 2.0


def bins_to_depth(z: Tensor, num_bins: int, depth_range: float) -> Tensor:
    """Depth-bin coordinate in [0, D-1] -> root-relative depth in [-range, +range] mm."""
    return (z / max(num_bins - 1, 1) * 2.0 - 1.0) * depth_range


class DeconvHead(nn.Module):
    """``num_deconv`` x (4x4 transposed conv stride 2 + BN + ReLU), then a 1x1 conv to ``out_channels``:
    (N, C, h, w) -> (N, out_channels, h * 2**num_deconv, w * 2**num_deconv)."""

    def __init__(self, in_channels: int, out_channels: int, num_deconv: int = 3, channels: int = 256):
        super().__init__()
        if num_deconv < 0:
            raise ValueError(f"num_deconv must be >= 0, got {num_deconv}")
        layers: list[nn.Module] = []
        cin = in_channels
        for _ in range(num_deconv):
            layers += [
                nn.ConvTranspose2d(cin, channels, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(True),
            ]
            cin = channels
        if num_deconv == 0:
            layers += [
                nn.Conv2d(cin, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(True)
            ]
            cin = channels
        self.body = nn.Sequential(*layers)
        self.final = nn.Conv2d(cin, out_channels, 1)
        nn.init.normal_(self.final.weight, std=1e-2)
        nn.init.zeros_(self.final.bias)

    def forward(self, features: Tensor) -> Tensor:
        return self.final(self.body(features))


def num_deconv_for(backbone_stride: int, heatmap_stride: int) -> int:
    """Number of x2 upsamplings from the backbone's stride to the heat-map stride."""
    ratio = backbone_stride / heatmap_stride
    n = round(math.log2(ratio)) if ratio >= 1 else -1
    if n < 0 or 2**n != ratio:
        raise ValueError(
            f"heatmap_stride {heatmap_stride} must be the backbone stride {backbone_stride} / 2**k"
        )
    return n


class RegressionHead(nn.Module):
    """Global average pooling + MLP: (N, C, h, w) -> (N, out_features)."""

    def __init__(self, in_channels: int, out_features: int, hidden: int = 512):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.mlp = nn.Sequential(
            nn.Flatten(), nn.Linear(in_channels, hidden), nn.ReLU(True), nn.Linear(hidden, out_features)
        )

    def forward(self, features: Tensor) -> Tensor:
        return self.mlp(self.pool(features))
