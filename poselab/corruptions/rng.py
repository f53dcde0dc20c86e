"""Per-image random streams: one ``torch.Generator`` per image seeded from (seed, corruption, sample, view)
only, not the severity (common random numbers; docs/CORRUPTIONS.md, "Use")."""

from __future__ import annotations

import functools
import os
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import Tensor

from poselab.hashing import splitmix64


def image_seed(seed: int, corruption: str, sample: int, view: int) -> int:
    """A 63-bit seed of one image from (seed, corruption name, sample index, view index)."""
    h = splitmix64(int(seed))
    for part in (zlib.crc32(corruption.encode()), int(sample), int(view)):
        h = splitmix64(h ^ part)  # splitmix64 takes its state modulo 2^64
    return h >> 1


class ImageRNG:
    """Random draws for a batch of N images on ``device``, one generator per seed (:func:`image_seed`)."""

    def __init__(self, seeds: Sequence[int], device: torch.device | str = "cpu") -> None:
        self.seeds = [int(s) for s in seeds]
        self.device = torch.device(device)
        self.generators = [torch.Generator(device=self.device).manual_seed(s) for s in self.seeds]

    @classmethod
    def for_images(cls, seed: int, corruption: str, samples: Sequence[int], views: Sequence[int],
                   device: torch.device | str = "cpu") -> ImageRNG:
        if len(samples) != len(views):
            raise ValueError(f"samples ({len(samples)}) and views ({len(views)}) must have one entry "
                             "per image")
        return cls([image_seed(seed, corruption, s, v) for s, v in zip(samples, views)], device)

    def __len__(self) -> int:
        return len(self.seeds)

    def rand(self, *shape: int, dtype: torch.dtype = torch.float32) -> Tensor:
        """Uniform [0, 1) draws (N, *shape); successive calls continue each image's stream."""
        return self._fill(torch.rand, shape, dtype)

    def randn(self, *shape: int, dtype: torch.dtype = torch.float32) -> Tensor:
        """Standard normal draws (N, *shape)."""
        return self._fill(torch.randn, shape, dtype)

    def _fill(self, draw: Callable[..., Tensor], shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
        out = torch.empty(len(self), *shape, dtype=dtype, device=self.device)
        self._each(lambda i: draw(shape, generator=self.generators[i], out=out[i]))
        return out

    def poisson(self, rates: Tensor) -> Tensor:
        """Poisson draws with the given rates (N, ...), same shape."""
        if rates.shape[0] != len(self):
            raise ValueError(f"rates has {rates.shape[0]} images, the RNG {len(self)}")
        out = torch.empty_like(rates)
        self._each(lambda i: out[i].copy_(torch.poisson(rates[i], generator=self.generators[i])))
        return out

    def _each(self, draw: Callable[[int], object]) -> None:
        """Run ``draw(i)`` for every image: on a CPU in up to ``torch.get_num_threads()`` threads (each image
        keeps its own stream, so the numbers do not depend on the thread count), on a GPU in turn."""
        workers = min(torch.get_num_threads(), len(self)) if self.device.type == "cpu" else 1
        if workers <= 1:
            for i in range(len(self)):
                draw(i)
            return
        chunks = [range(k, len(self), workers) for k in range(workers)]
        list(_pool(workers, os.getpid()).map(lambda idx: [draw(i) for i in idx], chunks))


@functools.lru_cache(maxsize=4)
def _pool(workers: int, pid: int) -> ThreadPoolExecutor:
    """A thread pool per worker count and process (a forked child does not inherit its parent's threads)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poselab-rng")
