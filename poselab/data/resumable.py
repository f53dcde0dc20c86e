"""A resumable training loader: epoch order from (seed, epoch); restarts skip what was already trained.

Lightning drops the train loader's checkpointed ``state_dict()`` when the loader was created before the
restore (``configure_optimizers`` reads ``trainer.estimated_stepping_batches``), so ``PoseDataModule`` keeps
it too. Lightning does not fetch ahead for a sized loader, so batches yielded == batches trained.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from poselab.hashing import mix


class EpochSampler(DistributedSampler):
    """Per-epoch permutation of ``range(len(dataset))`` drawn from (seed, epoch), sharded by rank as
    ``DistributedSampler`` (so Lightning keeps it under DDP); ``start`` (set by :class:`ResumableLoader`)
    skips that many samples of this rank's shard in the next ``iter()`` only."""

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
    """A DataLoader over an :class:`EpochSampler` (``batch_size`` set) that resumes mid-epoch."""

    def __init__(self, dataset: Dataset, *args: Any, **kwargs: Any) -> None:
        super().__init__(dataset, *args, **kwargs)
        if not isinstance(self.sampler, EpochSampler) or self.batch_size is None:
            raise TypeError("ResumableLoader needs an EpochSampler and a batch_size")
        self._epoch = self.sampler.epoch
        self._batches = 0
        self._resume: dict[str, int] | None = None

    def __iter__(self) -> Iterator[Any]:
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
