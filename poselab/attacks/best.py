"""Best iterate per sample (APGD, Square, the ensemble): images, objective and model outputs of that point."""

from __future__ import annotations

import torch
from torch import Tensor

from poselab.attacks.base import Output


def where_rows(take: Tensor, new: Tensor, old: Tensor) -> Tensor:
    """Rows of ``new`` where ``take`` (N,) bool, else rows of ``old`` (tensors with leading dim N)."""
    return torch.where(take.reshape(-1, *([1] * (new.dim() - 1))), new, old)


def merge_outputs(take: Tensor, new: Output, old: Output) -> Output:
    """Model outputs with the rows of ``new`` where ``take`` (N,) bool; non-tensor values from ``new``."""
    if isinstance(new, Tensor):
        return where_rows(take, new, old)
    n = take.shape[0]
    return {k: (where_rows(take, v, old[k]) if isinstance(v, Tensor) and v.dim() > 0 and v.shape[0] == n
                else v) for k, v in new.items()}


def gather_rows(index: Tensor, candidates: list[Tensor]) -> Tensor:
    """Row i of ``candidates[index[i]]`` for each i: (N, ...) from M tensors (N, ...) and an (N,) index."""
    stacked = torch.stack(candidates)  # (M, N, ...)
    idx = index.reshape(1, -1, *([1] * (stacked.dim() - 2))).expand(1, *stacked.shape[1:])
    return stacked.gather(0, idx.to(stacked.device)).squeeze(0)


class BestIterate:
    """The best point per sample of a maximisation: images ``x`` (N, ...), objective (N,), outputs."""

    def __init__(self, x: Tensor, objective: Tensor, out: Output, grad: Tensor | None = None) -> None:
        self.x, self.objective, self.out, self.grad = x, objective, out, grad

    def update(self, x: Tensor, objective: Tensor, out: Output, grad: Tensor | None = None) -> None:
        """Keep the new point where its objective is strictly higher (ties keep the earlier point, like
        AutoAttack's ``y1 > loss_best``)."""
        take = objective > self.objective
        self.x = where_rows(take, x, self.x)
        self.objective = torch.where(take, objective, self.objective)
        self.out = merge_outputs(take, out, self.out)
        if grad is not None and self.grad is not None:
            self.grad = where_rows(take, grad, self.grad)
