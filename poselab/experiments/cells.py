"""One torchmetrics accumulator per results cell, and the rows they give (synchronised across ranks)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from poselab.experiments.base import Experiment
from poselab.experiments.keys import (
    COUNT_METRICS,
    JDR,
    MPJPE,
    NEAR_DEGENERATE,
    ResultKey,
    row_of,
    worst_member,
)
from poselab.experiments.runner import make_metric
from poselab.metrics import PerSample


class CellMetrics(nn.Module):
    """The results cells of the experiments that apply to a model, each with its metric (``metrics`` keyed
    ``m0, m1, ...`` in the order of the results rows)."""

    def __init__(self, specs: Sequence[Experiment] = (), multiview: bool = False, num_views: int = 1,
                 jdr_definition: str | None = None) -> None:
        super().__init__()
        self.metrics = nn.ModuleDict()
        self.cells: dict[str, ResultKey] = {}
        for spec in specs:
            if not spec.applies_to(multiview):
                continue
            for cell in spec.cells(multiview, num_views):
                key = f"m{len(self.cells)}"
                self.cells[key] = cell
                self.metrics[key] = make_metric(cell.metric, jdr_definition)
        self._key_of = {cell: key for key, cell in self.cells.items()}
        #: (row, per-sample values over all ranks) of the rows of the last :meth:`collect`
        self._samples: list[tuple[dict[str, Any], PerSample]] = []

    def update(self, cell: ResultKey, *args: Any, **kwargs: Any) -> None:
        """Add one batch to a cell's metric (arguments as the metric's ``update``)."""
        self.metrics[self._key_of[cell]].update(*args, **kwargs)

    def reset(self) -> None:
        with torch.inference_mode(False):  # Lightning tests in inference mode: keep normal tensors
            for metric in self.metrics.values():
                metric.reset()

    @staticmethod
    def _count(cell: ResultKey, metric: nn.Module) -> Tensor:
        return metric.total if cell.metric in COUNT_METRICS else metric.count

    def local_rows(self, model: str, dataset: str) -> list[dict[str, Any]]:
        """This rank's rows so far (no collective, no cached result): the progress view."""
        rows = []
        for key, cell in self.cells.items():
            metric = self.metrics[key]
            value = float(type(metric).compute(metric))  # unwrapped: no sync, no cache
            rows.append(row_of(model, dataset, cell, value, int(float(self._count(cell, metric)))))
        return _given(rows)

    def collect(self, strategy: Any, world_size: int, model: str, dataset: str
                ) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], Tensor]]]:
        """Rows of every cell over all ranks (collective: every rank calls it), and the per-joint MPJPE
        (J,) mm of each ``mpjpe`` row; the metrics are reset."""
        values, local_n, per_joint, samples = [], [], [], []
        for key, cell in self.cells.items():
            metric = self.metrics[key]
            with warnings.catch_warnings():  # a JDR cell of a model without 2D joints is never updated
                warnings.filterwarnings("ignore", message=".*before the ``update`` method.*")
                values.append(float(metric.compute()))  # torchmetrics syncs across processes here
            kept = getattr(metric, "sorted_samples", None)  # set by compute: all ranks, sorted
            samples.append(PerSample(*(t.cpu() for t in kept)) if kept is not None else None)
            metric.sorted_samples = None
            local_n.append(self._count(cell, metric))
            if cell.metric == MPJPE:
                per_joint.append(metric.sum_per_joint.clone())
            metric.reset()
        n = torch.stack(local_n).to(torch.float64) if local_n else torch.zeros(0, dtype=torch.float64)
        n = strategy.reduce(n, reduce_op="sum") if world_size > 1 else n
        if per_joint:
            pj = torch.stack(per_joint)
            pj = strategy.reduce(pj, reduce_op="sum") if world_size > 1 else pj
        rows = [row_of(model, dataset, cell, value, int(count))
                for cell, value, count in zip(self.cells.values(), values, n.tolist())]
        joints = []
        for row, count in zip(rows, n.tolist()):
            if row["metric"] == MPJPE:
                joints.append((row, pj[len(joints)] / max(count, 1)))
        given = _given(rows)
        kept = {id(r) for r in given}
        self._samples = [(r, s) for r, s in zip(rows, samples) if s is not None and id(r) in kept]
        return given, joints

    def sample_values(self) -> list[tuple[dict[str, Any], PerSample]]:
        """After :meth:`collect`: (row, its per-sample values over all ranks) of each row it returned."""
        return list(self._samples)

    def worst_samples(self, model: str, dataset: str) -> list[dict[str, Any]]:
        """After :meth:`collect`: per ``ensemble`` setting and sample (dataset index, all ranks), the member
        attack that gave its worst case (rows of ``worst_samples.csv``), sorted by setting and index."""
        order = ("experiment", "attack", "eps", "iterations", "attacked_views", "view_set", "target", "index")
        out = []
        for key, cell in self.cells.items():
            if member := worst_member(cell.metric):
                setting = {"model": model, "dataset": dataset, **{c: getattr(cell, c) for c in order[:-1]}}
                won = getattr(self.metrics[key], "won", [])
                out += [{**setting, "index": i, "worst": member} for i in won]
        return sorted(out, key=lambda r: tuple((isinstance(r[c], str), r[c]) for c in order))


def _given(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without the cells no batch updated: JDR of a model without 2D joints, near-degenerate counts of
    a multi-view model that does not report its DLT's rounding shift."""
    return [r for r in rows if not (r["metric"] in (JDR, NEAR_DEGENERATE) and r["n"] == 0)]
