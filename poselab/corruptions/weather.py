"""Fog (ImageNet-C parameters): a plasma fractal (diamond-square) added to the image, then rescaled.

The fractal is drawn at the next power of two of the image's larger side and cropped, as in
imagecorruptions, so its structure spans the image at any resolution (no size scaling needed).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from poselab.corruptions.base import check_severity
from poselab.corruptions.rng import ImageRNG

#: (fog strength, wibble decay per octave: smaller = rougher) per severity
FOG = ((1.5, 2.0), (2.0, 2.0), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4))

#: draws U[0, 1) of shape (N, *shape), float64
Uniform = Callable[..., Tensor]


def plasma_fractal(n: int, mapsize: int, wibbledecay: float, uniform: Uniform, device=None) -> Tensor:
    """N height maps (N, mapsize, mapsize) in 0..1 by the diamond-square algorithm of imagecorruptions'
    ``plasma_fractal`` (same steps, same order and shapes of random draws: one per square step, two per
    diamond step, each ``wibble * U(-wibble, wibble)``). ``mapsize`` must be a power of two."""
    if mapsize < 2 or mapsize & (mapsize - 1):
        raise ValueError(f"mapsize must be a power of two >= 2, got {mapsize}")
    # the grid of the current step (n, k, k), k = mapsize / step, grows to (n, 2k, 2k) per level by
    # interleaving the new points with it (contiguous arrays instead of strided writes into the map)
    grid = torch.zeros(n, 1, 1, dtype=torch.float64, device=device)
    step, wibble = mapsize, 100.0

    def wibbled_mean(a: Tensor) -> Tensor:
        u = uniform(*a.shape[1:]).to(a)
        return a / 4 + wibble * (-wibble + 2 * wibble * u)

    while step >= 2:
        ul = grid
        square = ul + torch.roll(ul, -1, dims=1)
        square = square + torch.roll(square, -1, dims=2)
        dr = wibbled_mean(square)
        lt = wibbled_mean(dr + torch.roll(dr, 1, dims=1) + ul + torch.roll(ul, -1, dims=2))
        tt = wibbled_mean(dr + torch.roll(dr, 1, dims=2) + ul + torch.roll(ul, -1, dims=1))
        k = ul.shape[-1]
        # point (2i + a, 2j + b) of the finer grid: a, b = 0, 0: ul; 0, 1: lt; 1, 0: tt; 1, 1: dr
        grid = torch.stack([torch.stack([ul, lt], dim=-1), torch.stack([tt, dr], dim=-1)], dim=2)
        grid = grid.reshape(n, 2 * k, 2 * k)
        step //= 2
        wibble /= wibbledecay
    m = grid - grid.amin(dim=(1, 2), keepdim=True)
    return m / m.amax(dim=(1, 2), keepdim=True)


def fog_from_fractal(images: Tensor, severity: int, fractal: Tensor) -> Tensor:
    """``clip((x + 255 s F) M / (M + s))`` with F the fractal cropped to H x W, M the image's maximum
    (0..1 scale) and s = FOG[severity-1][0]; (N, 3, H, W)."""
    strength = FOG[check_severity(severity) - 1][0]
    h, w = images.shape[-2:]
    x = images / 255.0
    top = x.amax(dim=(1, 2, 3), keepdim=True)
    x += strength * fractal[:, None, :h, :w].to(x)
    return x.mul_(top).div_(top + strength).mul_(255.0).clamp_(0.0, 255.0)


def fog(images: Tensor, severity: int, rng: ImageRNG) -> Tensor:
    """Fog of severity 1..5 with a fractal per image drawn from ``rng``; (N, 3, H, W)."""
    decay = FOG[check_severity(severity) - 1][1]
    size = 1 << (max(images.shape[-2:]) - 1).bit_length()
    # all of an image's uniforms in one draw: a generator's stream does not depend on how it is split
    draws = rng.rand(fractal_draws(size), dtype=torch.float64)
    start = 0

    def uniform(*shape: int) -> Tensor:
        nonlocal start
        count = shape[0] * shape[1]
        start += count
        return draws[:, start - count:start].view(-1, *shape)

    fractal = plasma_fractal(images.shape[0], size, decay, uniform, images.device)
    return fog_from_fractal(images, severity, fractal)


def fractal_draws(mapsize: int) -> int:
    """Uniforms one ``plasma_fractal`` map of side ``mapsize`` consumes: 3 k^2 per level, k = 1, 2, 4, ..."""
    return sum(3 * (mapsize // step) ** 2 for step in (1 << i for i in range(1, mapsize.bit_length())))
