"""Fog (ImageNet-C parameters): a plasma fractal (diamond-square), drawn at the next power of two of the
image's larger side and cropped as in imagecorruptions, added to the image, then rescaled."""

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
    """N height maps (N, mapsize, mapsize) in 0..1 by imagecorruptions' ``plasma_fractal`` (same steps, order
    and shapes of random draws); ``mapsize`` a power of two, else ValueError."""
    if mapsize < 2 or mapsize & (mapsize - 1):
        raise ValueError(f"mapsize must be a power of two >= 2, got {mapsize}")
    # the grid (n, k, k) grows to (n, 2k, 2k) per level, written into the finer grid (n, k, 2, k, 2): point
    # (2i + a, 2j + b) is the old grid for a, b = 0, 0, the square step's for 1, 1, the diamond steps'
    # for 0, 1 and 1, 0; the arithmetic is the package's, operation for operation.
    grid = torch.zeros(n, 1, 1, dtype=torch.float64, device=device)
    step, wibble = mapsize, 100.0

    def wibbled_mean(a: Tensor, out: Tensor) -> Tensor:
        """out = a / 4 + wibble * (-wibble + 2 wibble u) (a / 4 is exact: one fused add)."""
        r = uniform(*a.shape[1:]).to(a) * (2 * wibble)
        r.add_(-wibble).mul_(wibble)
        return torch.add(r, a, alpha=0.25, out=out)

    while step >= 2:
        ul = grid
        k = ul.shape[-1]
        finer = ul.new_empty(n, k, 2, k, 2)
        finer[:, :, 0, :, 0] = ul
        square = _add_rolled(ul, ul, -1, 1, torch.empty_like(ul))
        square = _add_rolled(square, square, -1, 2, torch.empty_like(ul))
        dr = wibbled_mean(square, finer[:, :, 1, :, 1])
        lt = _add_rolled(dr, dr, 1, 1, torch.empty_like(ul)).add_(ul)
        wibbled_mean(_add_rolled(lt, ul, -1, 2, lt), finer[:, :, 0, :, 1])
        tt = _add_rolled(dr, dr, 1, 2, torch.empty_like(ul)).add_(ul)
        wibbled_mean(_add_rolled(tt, ul, -1, 1, tt), finer[:, :, 1, :, 0])
        grid = finer.view(n, 2 * k, 2 * k)
        step //= 2
        wibble /= wibbledecay
    m = grid - grid.amin(dim=(1, 2), keepdim=True)
    return m / m.amax(dim=(1, 2), keepdim=True)


def _add_rolled(a: Tensor, b: Tensor, shift: int, dim: int, out: Tensor) -> Tensor:
    """``out = a + torch.roll(b, shift, dim)`` for shift +-1, without materialising the roll; ``out`` may
    be ``a`` (in place) but not ``b``."""
    size = a.shape[dim]
    lo, hi = (0, 1) if shift == -1 else (1, 0)  # where the bulk of out and of b start along dim
    torch.add(a.narrow(dim, lo, size - 1), b.narrow(dim, hi, size - 1), out=out.narrow(dim, lo, size - 1))
    edge, wrap = (size - 1, 0) if shift == -1 else (0, size - 1)
    torch.add(a.narrow(dim, edge, 1), b.narrow(dim, wrap, 1), out=out.narrow(dim, edge, 1))
    return out


def fog_from_fractal(images: Tensor, severity: int, fractal: Tensor) -> Tensor:
    """``clip((x + 255 s F) M / (M + s))`` of (N, 3, H, W), F the fractal cropped to H x W, M the image's
    maximum (0..1 scale), s = FOG[severity-1][0]."""
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
