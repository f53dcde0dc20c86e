"""Running one experiment on one batch: attacks through eps-batched sweeps, every cell reported.

:func:`run_experiment` turns a spec's attack plan into registered attacks (:func:`make_attack`), runs each
as one eps sweep per attacked-view choice (targeted kinds: every target stacked into the batch) and
hands each results cell's metric arguments to ``ctx.update(key, *args)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from poselab.attacks.base import Attack
from poselab.attacks.losses import get_loss
from poselab.attacks.registry import get_attack
from poselab.attacks.sweep import MakeFn, MaxBatch, eps_sweep, index_batch
from poselab.attacks.targets import camera_swap_target, rotation_target, vertical_axis
from poselab.data.sample import select_views
from poselab.evaluation.ensemble import WorstShare, extra_metrics, metric_inputs, worst_flags
from poselab.evaluation.specs import AttackConfigError, ExperimentSpec, ViewChoice, check_views, view_setting
from poselab.results.schema import (
    CLEAN,
    CORRUPTION_EXPERIMENT,
    FAILED,
    JDR,
    MPJPE,
    PMPJPE,
    TARGET_MPJPE,
    ResultKey,
    clean_views,
    worst_member,
)

#: ``update(key, *metric_args)``: one metric update of one results cell.
Update = Callable[..., None]


def make_metric(name: str, jdr_definition: str | None = None) -> nn.Module:
    """A fresh torchmetrics accumulator for a metric name of :data:`~poselab.results.schema.METRICS` (JDR
    under ``jdr_definition``, one of :data:`poselab.metrics.JDR_DEFINITIONS`; default the published one)."""
    from poselab import metrics as M

    factory: dict[str, Callable[[], nn.Module]] = {
        MPJPE: M.MPJPE, PMPJPE: M.PMPJPE, TARGET_MPJPE: M.TargetMPJPE, FAILED: M.FailureCount,
        JDR: lambda: M.JDR(definition=jdr_definition or M.DEFAULT_JDR),
    }
    return WorstShare() if worst_member(name) else factory[name]()


def view_mask(choice: ViewChoice, num_views: int, device: torch.device | None = None) -> Tensor:
    """bool (num_views,): the views an ``attacked_views`` entry perturbs (the first k, or the listed ones)."""
    if isinstance(choice, int):
        return torch.arange(num_views, device=device) < choice
    mask = torch.zeros(num_views, dtype=torch.bool, device=device)
    mask[list(choice)] = True
    return mask


@dataclass
class Example:
    """One example for the image panel: float images (V, 3, H, W) 0..255 and 2D joints (V, J, 2) px."""

    title: str
    clean: Tensor
    adversarial: Tensor
    pred_2d: Tensor
    gt_2d: Tensor


@dataclass
class RunContext:
    """What a run needs besides the spec: the model and how to report."""

    model: nn.Module
    update: Update
    alpha_ratio: float = 0.125
    max_batch: MaxBatch = None
    examples: int = 0
    example_sink: list[Example] | None = None
    random_start: bool = False


def make_attack(name: str, record: Sequence[int], targeted: bool, ctx: RunContext, loss: str) -> Attack:
    """The registered attack ``name`` sized for the recorded iteration counts (fixed-step attacks: theirs)."""
    cls = get_attack(name)
    if cls.fixed_steps is not None:
        return cls(targeted=targeted, loss=loss, alpha_ratio=ctx.alpha_ratio)
    start = {"random_start": True} if ctx.random_start else {}  # else the attack's own default (PGD: on)
    return cls(steps=max(max(record), 1), alpha_ratio=ctx.alpha_ratio, targeted=targeted, loss=loss, **start)


def _model_fn(model: nn.Module) -> MakeFn:
    return lambda b: (lambda x: model(x, b))


def _loss_reference(spec: ExperimentSpec, sub: Mapping[str, Any], pose_ref: Tensor) -> Tensor:
    return sub["joints_2d"] if get_loss(spec.loss)[1] == "joints_2d" else pose_ref


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


def update_metrics(update: Update, cells: Sequence[ResultKey], out: Mapping[str, Tensor], truth: Tensor,
                   target: Tensor | None, rows: Mapping[str, Any], image_size: int) -> None:
    """Hand one model output to the metric of each cell (its ``metric`` says which arguments): ``truth``
    and ``target`` poses as the output's ``pose``, ``rows`` the batch rows (2D joints, ``view_valid``),
    ``image_size`` the crop side in px (qiu2019 JDR). JDR is skipped for outputs without ``joints_2d``."""
    pose = out["pose"]
    valid = out.get("valid")
    for cell in cells:
        m = cell.metric
        if m in (MPJPE, PMPJPE):
            pose_m, valid_m = metric_inputs(out, m)  # the ensemble's per-sample worst by m, else the output's
            update(cell, pose_m, truth, valid_m)
        elif m == TARGET_MPJPE:
            update(cell, pose, target, valid)
        elif m == JDR and out.get("joints_2d") is not None:  # (pred, target, valid views, crop px)
            update(cell, out["joints_2d"], rows["joints_2d"], rows.get("view_valid"), image_size)
        elif m == FAILED:
            update(cell, valid, pose)


def run_experiment(spec: ExperimentSpec, batch: Mapping[str, Any], ctx: RunContext) -> None:
    """Run one experiment on a (cloned, grad-ready) batch and report every cell through ``ctx.update``."""
    if spec.kind == CORRUPTION_EXPERIMENT:  # common corruptions: poselab.evaluation.corruption
        from poselab.evaluation.corruption import run_corruption

        return run_corruption(spec, batch, ctx)  # type: ignore[arg-type]
    model = ctx.model
    multiview = bool(getattr(model, "multiview", False))
    num_views = batch["images"].shape[1]
    check_views(spec, num_views, multiview)
    if multiview or spec.kind == "multiview":
        sub = dict(batch)
    else:
        sub = select_views(batch, [spec.source_view] if spec.kind == "camera_swap" else spec.input_views)
    images = sub["images"].float()
    gt = model.pose_target(sub)
    metrics = spec.metric_names(multiview)
    want_images = ctx.example_sink is not None and ctx.examples > 0

    def report(key: tuple, out: Mapping[str, Tensor], truth: Tensor, target: Tensor | None,
               rows: Mapping[str, Any], view_set: str = "") -> None:
        keys = [ResultKey(*key, m, view_set=view_set)
                for m in (*metrics, *extra_metrics(key[1], spec.targeted, spec.loss))]
        update_metrics(ctx.update, keys, out, truth, target, rows, images.shape[-1])
        for cell in keys:  # the ensemble's share of per-sample worst cases per member
            if worst_member(cell.metric):  # (flags, the samples' dataset indices: worst_samples.csv)
                ctx.update(cell, worst_flags(out, cell.metric, spec.targeted, spec.loss), rows.get("index"))

    if not spec.targeted:
        with torch.no_grad():
            clean = model(images, sub)
        report((spec.kind, CLEAN, 0.0, 0, clean_views(spec.kind), ""), clean, gt, None, sub)
        eps = [e for e in spec.eps if e > 0]
        views = spec.attacked_views if spec.kind == "multiview" else [1]
        ref = _loss_reference(spec, sub, gt)
        last = None
        for choice in views if eps else []:
            k, view_set = view_setting(choice)
            mask = view_mask(choice, images.shape[1]) if spec.kind == "multiview" else None
            for name, record in spec.attack_plan():
                attack = make_attack(name, record, False, ctx, spec.loss)
                res = eps_sweep(attack, _model_fn(model), images, sub, ref, eps, record=record,
                                view_mask=mask, max_batch=ctx.max_batch, keep_images=want_images)
                for t in record:
                    for i, e in enumerate(eps):
                        out = {key: val[i] for key, val in res.outputs[t].items()}
                        report((spec.kind, name, e, t, k, ""), out, gt, None, sub, view_set)
                last = (res, name, max(record), view_set or (str(k) if k > 1 else ""))
        if want_images and last is not None:
            res, name, t, shown = last
            ie = _example_eps(eps)
            title = f"{spec.kind} {name} eps={eps[ie]:g} it={t}" + (f" views={shown}" if shown else "")
            _add_examples(ctx, title, images, res.adversarial[ie],
                          {kk: v[ie] for kk, v in res.outputs[t].items()}, sub)
        return

    # targeted: stack every target of the experiment into the batch (rows target-major)
    b = images.shape[0]
    if spec.kind == "camera_swap":
        R = batch["R"]
        src_pose = sub["joints_cam"][:, 0].float()
        tgts = [camera_swap_target(src_pose, R[:, spec.source_view], R[:, k - 1])[:, None]
                for k in spec.target_cameras]
    elif multiview:
        up = torch.as_tensor(spec.up, dtype=gt.dtype, device=gt.device)
        tgts = [rotation_target(gt, a, up) for a in spec.angles]
    else:
        up_cam = vertical_axis(sub["R"], spec.up)  # (B, V', 3)
        tgts = [rotation_target(gt, a, up_cam) for a in spec.angles]
    names = spec.target_names()
    n_t = len(tgts)
    rows_idx = torch.arange(n_t * b, device=images.device) % b
    big = index_batch(sub, rows_idx, b)
    big_images = images.index_select(0, rows_idx)
    big_gt = gt.index_select(0, rows_idx)
    target = torch.cat(tgts)
    if get_loss(spec.loss)[1] == "joints_2d":  # rejected by ExperimentSpec; kept for specs changed later
        raise AttackConfigError(f"{spec.kind}: targeted experiments need a 3D target, use loss 'mpjpe'")
    attacked_views = spec.single_views(multiview, num_views)
    for name, record in spec.attack_plan():
        attack = make_attack(name, record, True, ctx, spec.loss)
        res = eps_sweep(attack, _model_fn(model), big_images, big, target, spec.eps, record=record,
                        max_batch=ctx.max_batch, keep_images=want_images)
        for t in record:
            for i, e in enumerate(spec.eps):
                for j, target_name in enumerate(names):
                    sl = slice(j * b, (j + 1) * b)
                    out = {key: val[i, sl] for key, val in res.outputs[t].items()}
                    rows = index_batch(big, torch.arange(j * b, (j + 1) * b), n_t * b)
                    report((spec.kind, name, e, t, attacked_views, target_name), out, big_gt[sl], target[sl],
                           rows)
        if want_images:
            t, ie = max(record), _example_eps(spec.eps)
            _add_examples(ctx, f"{spec.kind} {name} eps={spec.eps[ie]:g} it={t} target={names[-1]}",
                          big_images[-b:], res.adversarial[ie, -b:],
                          {kk: v[ie, -b:] for kk, v in res.outputs[t].items()},
                          index_batch(big, torch.arange((n_t - 1) * b, n_t * b), n_t * b))


def _example_eps(eps: Sequence[float], preferred: float = 8.0) -> int:
    """Index of the eps shown in example panels: the largest <= ``preferred`` px, else the smallest."""
    below = [i for i, e in enumerate(eps) if e <= preferred]
    return max(below, key=lambda i: eps[i]) if below else min(range(len(eps)), key=lambda i: eps[i])


def _add_examples(ctx: RunContext, title: str, clean: Tensor, adv: Tensor, out: Mapping[str, Tensor],
                  sub: Mapping[str, Any]) -> None:
    assert ctx.example_sink is not None
    pred_2d = _joints_2d_for_drawing(out, sub)
    for i in range(min(ctx.examples, clean.shape[0])):
        ctx.example_sink.append(Example(title=f"{title} #{i}", clean=clean[i].detach().cpu(),
                                        adversarial=adv[i].detach().cpu(), pred_2d=pred_2d[i].detach().cpu(),
                                        gt_2d=sub["joints_2d"][i].detach().cpu()))
