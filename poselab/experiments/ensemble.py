"""The ``ensemble`` attack's results cells: one ``worst:<member>`` row per member (the fraction of samples
whose worst case it gave), and P-MPJPE rows from the pose selected by P-MPJPE (:func:`metric_inputs`)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor
from torchmetrics import Metric

from poselab.attacks.ensemble import WINNER_KEY, Ensemble, member_labels, worst_key
from poselab.experiments.keys import worst_member, worst_metric
from poselab.metrics import PerSampleValues, sample_keys


def extra_metrics(attack: str, targeted: bool, loss: str) -> tuple[str, ...]:
    """The ``worst:<member>`` metrics of an attack's cells: the default members' (``ensemble``), else ()."""
    if attack != Ensemble.name:
        return ()
    return tuple(worst_metric(label) for label in member_labels(targeted, loss))


class WorstShare(PerSampleValues, Metric):
    """Fraction of samples for which one member of the ensemble gave the worst case, and their dataset
    indices (``samples``, gathered across processes); ``per_sample``: each sample's 1 or 0."""

    full_state_update = False

    def __init__(self, per_sample: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self._add_sample_states(per_sample)
        self.add_state("hits", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("total", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("samples", [], dist_reduce_fx="cat")
        #: the (synchronised) dataset indices of the won samples, set by :meth:`compute`
        self.won: list[int] = []

    @property
    def count(self) -> Tensor:
        return self.total

    def update(self, is_worst: Tensor, index: Tensor | None = None) -> None:
        """is_worst: bool (N,), the samples this member won; index: dataset indices (N,) or None."""
        self.hits += is_worst.sum()
        self.total += is_worst.numel()
        if index is not None:
            idx = torch.as_tensor(index).reshape(-1).to(is_worst.device)
            self.samples.append(idx[is_worst].to(device=self.hits.device, dtype=torch.int64))
        if self.per_sample:
            self._record(*sample_keys(tuple(is_worst.shape), index, self.hits.device), is_worst.reshape(-1))

    def compute(self) -> Tensor:
        self._keep_samples()
        won = [s.reshape(-1) for s in (self.samples if isinstance(self.samples, list) else [self.samples])]
        self.won = sorted(int(i) for i in torch.cat(won).tolist()) if won else []
        return self.hits / self.total if self.total > 0 else torch.tensor(float("nan"), dtype=torch.float64)


def metric_inputs(out: Mapping[str, Tensor], metric: str) -> tuple[Tensor, Tensor | None]:
    """(pose, valid) of an output for ``metric``: the per-sample worst by that metric where the ensemble
    selected one (``pose@pmpjpe``), else the output's own."""
    pose = out.get(worst_key("pose", metric), out["pose"])
    return pose, out.get(worst_key("valid", metric), out.get("valid"))


def worst_flags(out: Mapping[str, Tensor], metric: str, targeted: bool, loss: str) -> Tensor:
    """bool (N,): the samples whose worst case came from the member of a ``worst:<member>`` metric."""
    labels = member_labels(targeted, loss)
    return out[WINNER_KEY] == labels.index(worst_member(metric) or "")
