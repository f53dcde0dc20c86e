"""A resumable training loader: epoch order from (seed, epoch); restarts skip what was already trained.

Lightning saves ``state_dict()`` of a training DataLoader into the checkpoint (``fit_loop``
``combined_loader``) and hands it back through ``load_state_dict()`` on resume.

* :class:`EpochSampler`: a ``DistributedSampler`` (so Lightning keeps it under DDP) whose order in epoch
  ``e`` is a permutation drawn from ``(seed, e)`` only, sharded by rank, optionally starting ``start``
  samples into this rank's shard.
* :class:`ResumableLoader`: counts the batches yielded in the current epoch (state ``{"epoch", "batches"}``);
  after ``load_state_dict`` the next iteration of that epoch skips them. Lightning does not fetch ahead for
  a loader with a length and checkpoints a step after training its batch, so yielded == trained (worker
  prefetches are not yielded). The epoch is read at the first ``next()``, after Lightning's ``set_epoch``.

Lightning drops these states when the train loader was created before the restore, which
``configure_optimizers`` does (``trainer.estimated_stepping_batches``); ``PoseDataModule`` therefore also
keeps the state in its own ``state_dict`` (restored before ``configure_optimizers``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from poselab.hashing import mix


class EpochSampler(DistributedSampler):
    """Per-epoch permutation of ``range(len(dataset))`` drawn from (seed, epoch), sharded by rank.

    Args:
        dataset: the sized dataset.
        seed: order seed (the permutation of epoch ``e`` depends on ``(seed, e)`` only).
        shuffle: permute (else the natural order).
        num_replicas, rank: world size and rank (this rank takes every ``num_replicas``-th sample of the
            padded permutation, as ``DistributedSampler``).

    ``len()`` is always the full epoch of this rank; ``start`` (set by :class:`ResumableLoader`) skips that
    many samples of this rank's shard in the next ``iter()`` only.
    """

    def __init__(self, dataset: Dataset, seed: int = 0, shuffle: bool = True, num_replicas: int = 1,
                 rank: int = 0) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=int(seed),
                         drop_last=False)
        self.start = 0

    def indices(self, epoch: int) -> list[int]:
        """This rank's sample indices of ``epoch`` (in order)."""
        n = len(self.dataset)  # type: ignore[arg-type]
        if self.shuffle:
            g = torch.Generator().manual_seed(mix(self.seed, epoch, 23))
            order = torch.randperm(n, generator=g).tolist()
        else:
            order = list(range(n))
        if n and len(order) < self.total_size:  # pad (as DistributedSampler) so every rank has num_samples
            order += (order * (self.total_size // n + 1))[: self.total_size - len(order)]
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        start, self.start = self.start, 0
        return iter(self.indices(self.epoch)[start:])


class ResumableLoader(DataLoader):
    """A DataLoader over an :class:`EpochSampler` that Lightning can checkpoint and resume mid-epoch.

    Takes DataLoader's arguments (``sampler`` must be an :class:`EpochSampler`, ``batch_size`` set).
    """

    def __init__(self, dataset: Dataset, *args: Any, **kwargs: Any) -> None:
        super().__init__(dataset, *args, **kwargs)
        if not isinstance(self.sampler, EpochSampler) or self.batch_size is None:
            raise TypeError("ResumableLoader needs an EpochSampler and a batch_size")
        self._epoch = self.sampler.epoch
        self._batches = 0
        self._resume: dict[str, int] | None = None

    def __iter__(self) -> Iterator[Any]:
        return self._iterate()

    def _iterate(self) -> Iterator[Any]:
        sampler = self.sampler
        assert isinstance(sampler, EpochSampler) and self.batch_size is not None
        epoch, skip = sampler.epoch, 0
        if self._resume is not None and self._resume["epoch"] == epoch:
            skip = self._resume["batches"]
        self._resume = None
        self._epoch, self._batches = epoch, skip
        sampler.start = skip * self.batch_size  # every batch before the last one is full
        for batch in super().__iter__():
            self._batches += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        """``{"epoch": e, "batches": n}``: n batches of epoch e were handed out (and trained)."""
        if self._resume is not None:  # loaded but not iterated yet: keep the loaded position
            return dict(self._resume)
        return {"epoch": int(self._epoch), "batches": int(self._batches)}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        """Resume: the next iteration of epoch ``state_dict["epoch"]`` skips its first ``batches``."""
        self._resume = {"epoch": int(state_dict["epoch"]), "batches": int(state_dict["batches"])}
