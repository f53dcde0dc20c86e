"""The engine without Lightning: experiments on a model over batches, to results rows (one process)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from poselab.experiments.base import Experiment
from poselab.experiments.cells import CellMetrics
from poselab.experiments.runner import RunContext
from poselab.metrics import DEFAULT_JDR, PerSample


def evaluate(model: nn.Module, batches: Iterable[Mapping[str, Any]], experiments: Sequence[Experiment], *,
             name: str, dataset: str = "", jdr_definition: str = DEFAULT_JDR,
             samples: list[tuple[dict[str, Any], PerSample]] | None = None
             ) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], Tensor]]]:
    """Results rows of ``model`` (eval mode, no gradients: ``corruption``) under ``experiments`` on
    ``batches``, the per-joint MPJPE (J,) mm of each ``mpjpe`` row; ``samples`` gets (row, values) pairs."""
    metrics: CellMetrics | None = None
    with torch.no_grad():
        for batch in batches:
            if metrics is None:
                multiview = bool(getattr(model, "multiview", False))
                metrics = CellMetrics(experiments, multiview, batch["images"].shape[1], jdr_definition)
                specs = [s for s in experiments if s.applies_to(multiview)]
            ctx = RunContext(model=model, update=metrics.update)
            for spec in specs:
                spec.run(batch, ctx)
    if metrics is None:
        raise ValueError("no test batch to evaluate")
    rows, joints = metrics.collect(None, 1, name, dataset)
    if samples is not None:
        samples.extend(metrics.sample_values())
    return rows, joints
