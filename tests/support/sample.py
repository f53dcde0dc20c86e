"""A check of a sample (or batch) against the sample contract of :mod:`poselab.data.sample`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from poselab.data.sample import OPTIONAL_KEYS, TENSOR_KEYS

META_KEYS = ("subject", "action", "frame", "index")


def validate_sample(sample: Mapping[str, Any], batched: bool = False) -> None:
    """Raise ``ValueError`` naming the first key whose presence, shape or dtype breaks the contract."""
    sizes: dict[str, int] = {}
    for key, spec in TENSOR_KEYS.items():
        if key not in sample:
            raise ValueError(f"sample is missing key {key!r}")
        value = sample[key]
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"sample[{key!r}] must be a tensor, got {type(value).__name__}")
        shape = tuple(value.shape[1:] if batched else value.shape)
        if len(shape) != len(spec):
            raise ValueError(f"sample[{key!r}] has shape {tuple(value.shape)}, expected {spec}")
        for dim, want in zip(shape, spec):
            if isinstance(want, str):
                if sizes.setdefault(want, dim) != dim:
                    raise ValueError(f"sample[{key!r}] dim {want}={dim} disagrees with {sizes[want]}")
            elif dim != want:
                raise ValueError(f"sample[{key!r}] has shape {tuple(value.shape)}, expected {spec}")
    if sample["images"].dtype != torch.uint8:
        raise ValueError(f"sample['images'] must be uint8, got {sample['images'].dtype}")
    for key in META_KEYS:
        if key not in sample:
            raise ValueError(f"sample is missing key {key!r}")
    for key in OPTIONAL_KEYS:
        if key in sample:
            value = sample[key]
            want = (sample["images"].shape[0], sizes["V"]) if batched else (sizes["V"],)
            if not isinstance(value, torch.Tensor) or value.dtype != torch.bool or tuple(value.shape) != want:
                raise ValueError(f"sample[{key!r}] must be a bool tensor shaped {want}")
