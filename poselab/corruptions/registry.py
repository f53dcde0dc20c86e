"""The one home of the corruption names, families, severities and parameter tables, and ``corrupt()``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

import poselab.corruptions.blur as blur
import poselab.corruptions.digital as digital
import poselab.corruptions.jpeg as jpeg
import poselab.corruptions.noise as noise
import poselab.corruptions.occlusion as occlusion
import poselab.corruptions.weather as weather
from poselab.corruptions.base import (
    REFERENCE_SIZE,
    check_images,
    check_severity,
    spatial_scale,
)
from poselab.corruptions.rng import ImageRNG


@dataclass(frozen=True)
class Context:
    """What a corruption may use besides the images: per-image RNG, pixel-length scale, 2D joints."""

    rng: ImageRNG
    scale: float = 1.0
    joints_2d: Tensor | None = None


@dataclass(frozen=True)
class CorruptionSpec:
    """One corruption kind: ``apply(images (N, 3, H, W) 0..255, severity 1..5, Context)``, its ``family``
    (noise, blur, weather, digital, occlusion), the five severities' ``parameters``, whether it is
    ``random`` (depends on the seed) and ``needs_joints``, and the imagecorruptions function it follows
    (``reference``; "" for poselab's own)."""

    name: str
    family: str
    apply: Callable[[Tensor, int, Context], Tensor]
    parameters: tuple
    random: bool
    needs_joints: bool = False
    reference: str = ""


def _motion(images: Tensor, severity: int, ctx: Context) -> Tensor:
    lo, hi = blur.MOTION_ANGLE
    angles = lo + (hi - lo) * ctx.rng.rand(dtype=torch.float64)
    return blur.motion_blur(images, severity, angles, ctx.scale)


def _occlusion(images: Tensor, severity: int, ctx: Context) -> Tensor:
    if ctx.joints_2d is None:
        raise ValueError("corruption 'occlusion' needs joints_2d (N, J, 2) px of every image")
    return occlusion.occlusion(images, severity, ctx.joints_2d, ctx.rng)


_SPECS = (
    CorruptionSpec("gaussian_noise", "noise", lambda x, s, c: noise.gaussian_noise(x, s, c.rng),
                   noise.GAUSSIAN_NOISE, True, reference="gaussian_noise"),
    CorruptionSpec("shot_noise", "noise", lambda x, s, c: noise.shot_noise(x, s, c.rng),
                   noise.SHOT_NOISE, True, reference="shot_noise"),
    CorruptionSpec("impulse_noise", "noise", lambda x, s, c: noise.impulse_noise(x, s, c.rng),
                   noise.IMPULSE_NOISE, True, reference="impulse_noise"),
    CorruptionSpec("defocus_blur", "blur", lambda x, s, c: blur.defocus_blur(x, s, c.scale),
                   blur.DEFOCUS_BLUR, False, reference="defocus_blur"),
    CorruptionSpec("motion_blur", "blur", _motion, blur.MOTION_BLUR, True, reference="motion_blur"),
    CorruptionSpec("fog", "weather", lambda x, s, c: weather.fog(x, s, c.rng), weather.FOG, True,
                   reference="fog"),
    CorruptionSpec("brightness", "digital", lambda x, s, c: digital.brightness(x, s), digital.BRIGHTNESS,
                   False, reference="brightness"),
    CorruptionSpec("contrast", "digital", lambda x, s, c: digital.contrast(x, s), digital.CONTRAST, False,
                   reference="contrast"),
    CorruptionSpec("pixelate", "digital", lambda x, s, c: digital.pixelate(x, s), digital.PIXELATE, False,
                   reference="pixelate"),
    CorruptionSpec("jpeg_compression", "digital", lambda x, s, c: jpeg.jpeg_compression(x, s),
                   jpeg.JPEG_QUALITY, False, reference="jpeg_compression"),
    CorruptionSpec("occlusion", "occlusion", _occlusion, occlusion.OCCLUSION, True, needs_joints=True),
)

#: name -> spec, in the order of the tables (noise, blur, weather, digital, occlusion)
CORRUPTIONS: dict[str, CorruptionSpec] = {s.name: s for s in _SPECS}
CORRUPTION_NAMES: tuple[str, ...] = tuple(CORRUPTIONS)


def get_corruption(name: str) -> CorruptionSpec:
    """The spec of ``name``; ValueError listing the valid names otherwise."""
    try:
        return CORRUPTIONS[name]
    except KeyError:
        raise ValueError(f"unknown corruption {name!r}; expected one of {', '.join(CORRUPTION_NAMES)}") \
            from None


def _ids(values: Sequence[int] | Tensor | None, n: int, default: Tensor, what: str) -> list[int]:
    if values is None:
        return default.tolist()
    out = torch.as_tensor(values).reshape(-1).tolist()
    if len(out) != n:
        raise ValueError(f"{what} must have {n} entries, got {len(out)}")
    return [int(v) for v in out]


def corrupt(
    images: Tensor,
    name: str,
    severity: int,
    *,
    seed: int = 0,
    samples: Sequence[int] | Tensor | None = None,
    views: Sequence[int] | Tensor | None = None,
    joints_2d: Tensor | None = None,
    view_mask: Sequence[bool] | Tensor | None = None,
    reference_size: int | None = REFERENCE_SIZE,
) -> Tensor:
    """Corrupt float 0..255 images (N, 3, H, W) or multi-view (B, V, 3, H, W), each deterministically from
    (seed, name, sample, view); the same shape, dtype and device, not quantised.

    Args:
        name: a key of :data:`CORRUPTIONS`; severity: 1..5.
        samples: dataset index of each image (N,) or each sample (B,); default 0..N-1 / 0..B-1.
        views: camera index of each image (N,), of each view (V,) or per sample and view (B, V); default
            0 / 0..V-1.
        joints_2d: (N, J, 2) or (B, V, J, 2) px (needed by ``occlusion``).
        view_mask: multi-view only, bool (V,): corrupt only these views, the others returned unchanged.
        reference_size: image side the pixel-length parameters refer to (None: unscaled).
    """
    spec = get_corruption(name)
    severity = check_severity(severity)
    if isinstance(images, Tensor) and images.dim() == 5:
        b, v = images.shape[:2]
        sample_ids = _ids(samples, b, torch.arange(b), "samples")
        if views is not None and torch.as_tensor(views).numel() == b * v and b > 1:
            per_image = torch.as_tensor(views).reshape(b, v)  # (B, V): each sample's own camera ids
        else:
            per_image = torch.tensor(_ids(views, v, torch.arange(v), "views")).expand(b, v)
        keep = torch.ones(v, dtype=torch.bool) if view_mask is None else torch.as_tensor(view_mask).bool()
        if keep.shape != (v,):
            raise ValueError(f"view_mask must be a bool per view ({v},), got shape {tuple(keep.shape)}")
        sel = keep.nonzero().reshape(-1).tolist()
        if joints_2d is not None and joints_2d.shape[:2] != (b, v):
            raise ValueError(f"joints_2d must be (B, V, J, 2) = ({b}, {v}, J, 2), "
                             f"got {tuple(joints_2d.shape)}")
        out = images.clone()
        if not sel:
            return out
        flat = images[:, sel].reshape(b * len(sel), *images.shape[2:])
        jts = None if joints_2d is None else joints_2d[:, sel].reshape(b * len(sel), *joints_2d.shape[2:])
        corrupted = corrupt(flat, name, severity, seed=seed, samples=[s for s in sample_ids for _ in sel],
                            views=per_image[:, sel].reshape(-1).tolist(), joints_2d=jts,
                            reference_size=reference_size)
        out[:, sel] = corrupted.reshape(b, len(sel), *images.shape[2:])
        return out
    if view_mask is not None:
        raise ValueError("view_mask needs multi-view images (B, V, 3, H, W)")
    check_images(images)
    n = images.shape[0]
    sample_ids = _ids(samples, n, torch.arange(n), "samples")
    view_ids = _ids(views, n, torch.zeros(n, dtype=torch.long), "views")
    if spec.needs_joints and joints_2d is None:
        raise ValueError(f"corruption {name!r} needs joints_2d (N, J, 2) px of every image")
    ctx = Context(ImageRNG.for_images(seed, name, sample_ids, view_ids, images.device),
                  spatial_scale(images, reference_size), joints_2d)
    work = images if images.dtype in (torch.float32, torch.float64) else images.float()
    return spec.apply(work, severity, ctx).to(images.dtype)
