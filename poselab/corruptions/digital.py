"""Digital corruptions (ImageNet-C parameters): brightness, contrast and pixelation.

All are scale-free (per pixel, per image or a ratio of the image size) and deterministic; they equal
imagecorruptions' functions up to float rounding (pixelate: up to Pillow's uint8 rounding, <= 1 level).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor

from poselab.corruptions.base import check_severity, clip255

#: increase of the HSV value channel (fraction of 0..255)
BRIGHTNESS = (0.1, 0.2, 0.3, 0.4, 0.5)
#: factor on the deviation from each channel's mean
CONTRAST = (0.4, 0.3, 0.2, 0.1, 0.05)
#: ratio of the intermediate (box-averaged) size to the image size
PIXELATE = (0.6, 0.5, 0.4, 0.3, 0.25)


def brightness(images: Tensor, severity: int) -> Tensor:
    """Raise the HSV value V = max(R, G, B) by 255 c (clipped at 255), keeping hue and saturation, as
    skimage's rgb2hsv -> V + c -> hsv2rgb: every channel scales by V'/V (black pixels become grey V');
    c = BRIGHTNESS[severity-1]; (N, 3, H, W)."""
    c = BRIGHTNESS[check_severity(severity) - 1]
    x = clip255(images)
    v = x.amax(dim=1, keepdim=True)
    v_new = (v + 255.0 * c).clamp(max=255.0)
    ratio = torch.where(v > 0, v_new / v.clamp_min(1e-12), torch.zeros_like(v))
    return clip255(torch.where(v > 0, x * ratio, v_new.expand_as(x)))


def contrast(images: Tensor, severity: int) -> Tensor:
    """``(x - m) c + m`` with m the per-image, per-channel mean, c = CONTRAST[severity-1]; (N, 3, H, W)."""
    c = CONTRAST[check_severity(severity) - 1]
    m = images.mean(dim=(-2, -1), keepdim=True)
    return clip255((images - m) * c + m)


def box_resize_matrix(size_in: int, size_out: int, device=None, dtype=torch.float32) -> Tensor:
    """(size_out, size_in) weights of Pillow's BOX down-sampling along one axis: output pixel j averages
    the input pixels whose centres lie in its box ((j + 0.5) s +- s / 2, s = size_in / size_out)."""
    return _box_matrix(size_in, size_out).to(device=device, dtype=dtype)


@functools.lru_cache(maxsize=64)
def _box_matrix(size_in: int, size_out: int) -> Tensor:
    s = size_in / size_out
    support = 0.5 * max(s, 1.0)
    m = torch.zeros(size_out, size_in, dtype=torch.float64)
    for j in range(size_out):
        center = (j + 0.5) * s
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), size_in)
        for i in range(lo, hi):
            t = (i - center + 0.5) / max(s, 1.0)
            if -0.5 < t <= 0.5:
                m[j, i] = 1.0
        m[j] /= m[j].sum()
    return m


def box_segments(size_in: int, size_out: int) -> tuple[Tensor, Tensor]:
    """Pillow's BOX down-sampling along one axis as segment means (size_in >= size_out): the box
    (0..size_out-1) each input pixel falls in (size_in,), and 1 / the pixel count of each box (size_out,),
    float64 (the boxes of ``box_resize_matrix`` partition the axis)."""
    m = _box_matrix(size_in, size_out)
    return m.argmax(dim=0), 1.0 / (m != 0).sum(dim=1).double()


def pixelate(images: Tensor, severity: int) -> Tensor:
    """Box-average to int(c H) x int(c W) (Pillow's BOX), then nearest-neighbour back to H x W (Pillow's
    NEAREST = pixel-centre rule, torch 'nearest-exact'); c = PIXELATE[severity-1]; (N, 3, H, W). The box
    sums are segment sums on a CPU (each input row and column is added once into its box), products with
    the resize matrices elsewhere."""
    c = PIXELATE[check_severity(severity) - 1]
    n, ch, h, w = images.shape
    rows, inv_h = box_segments(h, int(h * c))
    cols, inv_w = box_segments(w, int(w * c))
    dev = images.device
    if dev.type == "cpu":
        tall = images.new_zeros(n, ch, len(inv_h), w).index_add_(2, rows.to(dev), images)
        small = tall.new_zeros(n, ch, len(inv_h), len(inv_w)).index_add_(3, cols.to(dev), tall)
        small *= (inv_h[:, None] * inv_w[None, :]).to(small)
    else:  # index_add_ adds atomically (in any order) on a GPU: the resize matrices keep it deterministic
        mh = box_resize_matrix(h, len(inv_h), dev, images.dtype)
        mw = box_resize_matrix(w, len(inv_w), dev, images.dtype)
        small = torch.einsum("ih,nchw,jw->ncij", mh, images, mw)
    return clip255(F.interpolate(small, size=(h, w), mode="nearest-exact"))
