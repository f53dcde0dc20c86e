"""What every experiment's run shares: the run context, metric factories, attack construction, reporting
model outputs to results cells (``ctx.update(key, *args)``, :func:`update_metrics`), and example panels."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from poselab.attacks.sweep import MaxBatch
from poselab.experiments.ensemble import WorstShare, metric_inputs
from poselab.experiments.keys import (
    FAILED,
    JDR,
    MPJPE,
    NEAR_DEGENERATE,
    PMPJPE,
    TARGET_MPJPE,
    ResultKey,
    worst_member,
)
from poselab.geometry.triangulation import near_degenerate

#: ``update(key, *metric_args, index=...)``: one metric update of one results cell (``index``: sample ids).
Update = Callable[..., None]


def make_metric(name: str, jdr_definition: str | None = None) -> nn.Module:
    """A fresh torchmetrics accumulator keeping per-sample values for a metric name (JDR under
    ``jdr_definition``, one of :data:`poselab.metrics.JDR_DEFINITIONS`; default the published one)."""
    from poselab import metrics as M

    factory: dict[str, Callable[..., nn.Module]] = {
        MPJPE: M.MPJPE, PMPJPE: M.PMPJPE, TARGET_MPJPE: M.TargetMPJPE, FAILED: M.FailureCount,
        NEAR_DEGENERATE: M.FailureCount,
        JDR: lambda **kw: M.JDR(definition=jdr_definition or M.DEFAULT_JDR, **kw),
    }
    return (WorstShare if worst_member(name) else factory[name])(per_sample=True)


def view_mask(choice: int | list[int], num_views: int) -> Tensor:
    """bool (num_views,): the views an ``attacked_views`` entry perturbs (the first k, or the listed ones)."""
    views = torch.arange(num_views)
    return views < choice if isinstance(choice, int) else torch.isin(views, torch.tensor(choice))


@dataclass
class Example:
    """One example for the image panel: float images (V, 3, H, W) 0..255, 2D joints (V, J, 2) px and
    ``mpjpe``: (clean, adversarial) MPJPE of this sample in mm."""

    title: str
    clean: Tensor
    adversarial: Tensor
    pred_2d: Tensor
    gt_2d: Tensor
    clean_2d: Tensor | None = None
    target_2d: Tensor | None = None
    mpjpe: tuple[float, float] | None = None


@dataclass
class RunContext:
    """What a run needs besides the experiment: the model and how to report."""

    model: nn.Module
    update: Update
    alpha_ratio: float = 0.125
    max_batch: MaxBatch = None
    examples: int = 0
    example_sink: list[Example] | None = None
    random_start: bool = False

    @property
    def want_images(self) -> bool:
        return self.example_sink is not None and self.examples > 0


def update_metrics(update: Update, cells: Sequence[ResultKey], out: Mapping[str, Tensor], truth: Tensor,
                   target: Tensor | None, rows: Mapping[str, Any], image_size: int) -> None:
    """Hand one model output to the metric of each cell: ``truth`` and ``target`` poses like the output's
    ``pose``, ``rows`` the batch rows (2D joints, ``view_valid``, ``index``), ``image_size`` the crop side in
    px (qiu2019 JDR). JDR is skipped for outputs without ``joints_2d``."""
    pose = out["pose"]
    valid = out.get("valid")
    index = rows.get("index")
    for cell in cells:
        m = cell.metric
        if m in (MPJPE, PMPJPE):
            pose_m, valid_m = metric_inputs(out, m)  # the ensemble's per-sample worst by m, else the output's
            update(cell, pose_m, truth, valid_m, index=index)
        elif m == TARGET_MPJPE:
            update(cell, pose, target, valid, index=index)
        elif m == JDR and out.get("joints_2d") is not None:  # (pred, target, valid views, crop px)
            update(cell, out["joints_2d"], rows["joints_2d"], rows.get("view_valid"), image_size, index=index)
        elif m == FAILED:
            update(cell, valid, pose, index=index)
        elif m == NEAR_DEGENERATE and (shift := out.get("sensitivity")) is not None and valid is not None \
                and valid.shape == shift.shape:  # (B, J) each
            update(cell, ~near_degenerate(shift, valid), index=index)


def example_eps(eps: Sequence[float], preferred: float = 8.0) -> int:
    """Index of the eps shown in example panels: the largest <= ``preferred`` px, else the smallest."""
    below = [i for i, e in enumerate(eps) if e <= preferred]
    return max(below, key=lambda i: eps[i]) if below else min(range(len(eps)), key=lambda i: eps[i])


def _joints_2d_for_drawing(out: Mapping[str, Tensor], sub: Mapping[str, Any]) -> Tensor:
    """2D joints (B, V, J, 2) of an output: the model's own, else its pose projected (GT root for mono)."""
    from poselab.geometry import project, project_world

    if "joints_2d" in out and out["joints_2d"] is not None:
        return out["joints_2d"]
    pose = out["pose"]
    if pose.dim() == 3:  # world pose of a multi-view model
        return project_world(pose[:, None], sub["R"], sub["t"], sub["K"], sub["dist"])
    root = sub["joints_cam"][:, :, :1, :]
    return project(pose + root, sub["K"], sub["dist"])


def _sample_mpjpe(pose: Tensor, truth: Tensor) -> Tensor:
    """(B,) MPJPE (mm) per sample of poses (B, [V,] J, 3): the mean joint distance over joints and views."""
    return (pose.double() - truth.double()).norm(dim=-1).flatten(1).mean(1)


def add_examples(ctx: RunContext, title: str, clean: Tensor, adv: Tensor, out: Mapping[str, Tensor],
                 sub: Mapping[str, Any], clean_out: Mapping[str, Tensor] | None = None,
                 truth: Tensor | None = None, target: Tensor | None = None) -> None:
    """Append the first ``ctx.examples`` samples of a batch to the example panels (``out``: the model's output
    on ``adv``, ``clean_out`` on ``clean``)."""
    assert ctx.example_sink is not None
    pred_2d = _joints_2d_for_drawing(out, sub)
    clean_2d = _joints_2d_for_drawing(clean_out, sub) if clean_out is not None else None
    target_2d = _joints_2d_for_drawing({"pose": target}, sub) if target is not None else None
    errors = None
    if truth is not None and clean_out is not None:
        errors = torch.stack([_sample_mpjpe(clean_out["pose"], truth), _sample_mpjpe(out["pose"], truth)], 1)
    for i in range(min(ctx.examples, clean.shape[0])):
        ctx.example_sink.append(Example(
            title=f"{title} #{i}", clean=clean[i].detach().cpu(), adversarial=adv[i].detach().cpu(),
            pred_2d=pred_2d[i].detach().cpu(), gt_2d=sub["joints_2d"][i].detach().cpu(),
            clean_2d=None if clean_2d is None else clean_2d[i].detach().cpu(),
            target_2d=None if target_2d is None else target_2d[i].detach().cpu(),
            mpjpe=None if errors is None else (float(errors[i, 0]), float(errors[i, 1]))))


def run_experiment(experiment: Any, batch: Mapping[str, Any], ctx: RunContext) -> None:
    """Run one experiment (:class:`~poselab.experiments.base.Experiment`) on a batch: ``experiment.run``."""
    experiment.run(batch, ctx)
