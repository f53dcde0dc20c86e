"""Digital corruptions (ImageNet-C parameters): brightness, contrast and pixelation; deterministic, equal
to imagecorruptions' up to float rounding (pixelate: Pillow's uint8 rounding, <= 1 level)."""

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
    """Raise the HSV value V = max(R, G, B) of (N, 3, H, W) by 255 c (clipped), c = BRIGHTNESS[severity-1],
    as skimage's HSV round trip: every channel scales by V'/V (black pixels become grey V')."""
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
    return (images - m).mul_(c).add_(m).clamp_(0.0, 255.0)


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


@functools.lru_cache(maxsize=64)
def box_segments(size_in: int, size_out: int) -> tuple[Tensor, Tensor] | None:
    """Pillow's BOX down-sampling along one axis as segment means: the box (0..size_out-1) each input pixel
    falls in (size_in,), size_out for a pixel that rounding leaves out of every box, and 1 / the pixel
    count of each box (size_out,), float64; None when rounding puts a pixel in two boxes."""
    m = _box_matrix(size_in, size_out)
    covered = (m != 0).sum(dim=0)
    if int(covered.max()) > 1:
        return None
    box = torch.where(covered == 1, m.argmax(dim=0), size_out)
    return box, 1.0 / (m != 0).sum(dim=1).double()


def pixelate(images: Tensor, severity: int) -> Tensor:
    """Box-average (N, 3, H, W) to int(c H) x int(c W) (Pillow's BOX), then Pillow's NEAREST back to H x W;
    c = PIXELATE[severity-1]."""
    c = PIXELATE[check_severity(severity) - 1]
    n, ch, h, w = images.shape
    oh, ow = int(h * c), int(w * c)
    rows, cols = box_segments(h, oh), box_segments(w, ow)
    dev = images.device
    if dev.type == "cpu" and rows is not None and cols is not None:
        # one extra box collects the pixels in no box, then is dropped
        tall = images.new_zeros(n, ch, oh + 1, w).index_add_(2, rows[0].to(dev), images)[:, :, :oh]
        small = tall.new_zeros(n, ch, oh, ow + 1).index_add_(3, cols[0].to(dev), tall)[..., :ow]
        small = small * (rows[1][:, None] * cols[1][None, :]).to(small)
    else:  # index_add_ adds atomically (in any order) on a GPU: the resize matrices keep it deterministic
        mh = box_resize_matrix(h, oh, dev, images.dtype)
        mw = box_resize_matrix(w, ow, dev, images.dtype)
        small = torch.einsum("ih,nchw,jw->ncij", mh, images, mw)
    # nearest-neighbour copies pixels: clipping the small image first gives the same result
    return nearest_exact(small.clamp_(0.0, 255.0), h, w)


def nearest_exact(small: Tensor, h: int, w: int) -> Tensor:
    """Resize (N, C, h', w') to (N, C, h, w) by Pillow's NEAREST rule (source pixel floor((i + 0.5) h' / h),
    torch's 'nearest-exact'); on a CPU up to 128 x 128 px by index copies (faster there)."""
    if small.device.type != "cpu" or h * w > 128 * 128:
        return F.interpolate(small, size=(h, w), mode="nearest-exact")
    n, c, sh, sw = small.shape
    cols, rows = _nearest_index(sw, w), _nearest_index(sh, h)
    return small.gather(3, cols.expand(n, c, sh, w)).index_select(2, rows)


@functools.lru_cache(maxsize=64)
def _nearest_index(size_in: int, size_out: int) -> Tensor:
    """The source index of each output pixel, float32 rounding included (the indices resized)."""
    ramp = torch.arange(size_in, dtype=torch.float32).view(1, 1, -1)
    return F.interpolate(ramp, size=size_out, mode="nearest-exact").view(-1).long()
