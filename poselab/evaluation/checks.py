"""Sanity checks of an attack evaluation (after AutoAttack's): flags in results.json's meta
(:mod:`poselab.results.meta`), printed at the end of the run and shown in its report.

First attacked batch, rank 0, in attack mode: two forward and one backward pass (:func:`start_checks`):

* ``zero_gradients``: the first adversarial experiment's loss gradient at the clean images is zero or not
  finite for some sample (rounding/argmax op, detached output, saturated network).
* ``randomness``: two clean passes differ, or a submodule is still in training mode in eval mode.
* ``non_finite`` (clean part): non-finite pose values where the model says they are valid.

Final rows, no model pass (:func:`row_checks`):

* ``gradient_free_wins``: a gradient-free ensemble member (Square) gave some sample's worst case.
* ``non_monotonic``: an untargeted kind's attacked MPJPE falls as eps or iterations grow, per series, by
  more than :data:`REL_TOL` and :data:`ABS_TOL_MM` between points of the same n (eps 0: the clean row).
* ``non_finite`` (rows part): a monocular cell counts fewer samples than its experiment's clean row.
* ``failed_triangulations``: failed triangulations summed over the multi-view cells.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from poselab.attacks.losses import get_loss
from poselab.data.sample import select_views
from poselab.experiments.adversarial import AttackExperiment
from poselab.experiments.base import Experiment
from poselab.experiments.keys import CLEAN, FAILED, MPJPE, worst_member
from poselab.experiments.registry import experiment_names, get_experiment
from poselab.results.meta import Flag

#: Flag names, in the order they are recorded and printed.
FLAG_NAMES = ("zero_gradients", "randomness", "non_finite", "gradient_free_wins", "non_monotonic",
              "failed_triangulations")
#: Registered attacks that use no gradient (ensemble members whose wins say the gradient attacks fall short).
GRADIENT_FREE = ("square",)
#: Relative drop of an attacked MPJPE along a series (eps or iterations growing) that is flagged.
REL_TOL = 0.01
#: Absolute drop (mm) below which a fall is never flagged (float noise on tiny errors).
ABS_TOL_MM = 0.1
#: Layers whose output depends on the training flag (named first when left in training mode).
MODE_DEPENDENT = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._NormBase)
#: Two clean passes differ when some pose coordinate differs by more than this (mm) + relative 1e-5.
PASS_TOL_MM = 1e-3


def _first3(items: Sequence[str], sep: str = "; ") -> str:
    """The first three ``items`` joined by ``sep``, then ``...`` when there are more."""
    return sep.join(items[:3]) + (f"{sep}..." if len(items) > 3 else "")


# ---------------------------------------------------------------------------------------------- start
def start_checks(model: nn.Module, batch: Mapping[str, Any], specs: Sequence[Experiment]) -> list[Flag]:
    """The first batch's flags; call in attack mode with the batch as the attacks see it (cloned, sliced)."""
    multiview = bool(getattr(model, "multiview", False))
    specs = [s for s in specs if s.applies_to(multiview)]
    attack = next((s for s in specs if isinstance(s, AttackExperiment)), None)
    if attack is not None:
        sub = attack.model_input(batch, multiview)
    else:
        sub = dict(batch) if multiview else select_views(batch, [0])
    images = sub["images"].float().detach().requires_grad_(True)
    first = model(images, sub)
    gradient = _gradient_flag(model, first, images, sub, attack)
    with torch.no_grad():
        second = model(images.detach(), sub)
    return [gradient, _randomness_flag(model, first, second), _clean_finite_flag(second)]


def _gradient_flag(model: nn.Module, out: Mapping[str, Tensor], images: Tensor, sub: Mapping[str, Any],
                   attack: AttackExperiment | None) -> Flag:
    name = "zero_gradients"
    if attack is None:
        return Flag(name, False, "not checked: no adversarial experiment in the grid")
    loss_fn, key = get_loss(attack.loss)
    ref = sub["joints_2d"] if key == "joints_2d" else model.pose_target(sub)
    n = images.shape[0]
    grad = None
    pred = out.get(key)
    if pred is not None and pred.requires_grad:
        loss = loss_fn(pred, ref.to(pred.dtype))
        (grad,) = torch.autograd.grad(loss.sum(), images, allow_unused=True)
    if grad is None:  # the loss does not reach the pixels through autograd (detached, argmax, numpy)
        grad = torch.zeros_like(images)
    grad = grad.detach()
    pose, valid = out["pose"], out.get("valid")  # bool (N,): samples valid everywhere (all without ``valid``)
    valid = (torch.ones(pose.shape[0], dtype=torch.bool, device=pose.device) if valid is None
             else valid.detach().bool().reshape(pose.shape[0], -1).all(dim=1))
    flat = grad.reshape(n, -1)[valid]
    samples = max(int(valid.sum()), 1)
    finite = torch.isfinite(flat)
    zero = (flat == 0) & finite
    zero_samples = int(zero.all(dim=1).sum())
    bad_samples = int((~finite).any(dim=1).sum())
    values = {"samples": int(valid.sum()), "zero_sample_share": zero_samples / samples,
              "non_finite_sample_share": bad_samples / samples,
              "zero_pixel_share": float(zero.double().mean()) if flat.numel() else 0.0,
              "non_finite_pixel_share": float((~finite).double().mean()) if flat.numel() else 0.0}
    triggered = zero_samples > 0 or bad_samples > 0
    detail = (f"{attack.loss} loss gradient at the clean images: zero for {zero_samples} and non-finite for "
              f"{bad_samples} of {int(valid.sum())} samples; {values['zero_pixel_share']:.1%} of pixels zero")
    if triggered:
        detail += " (gradient attacks cannot move those samples: the model looks more robust than it is)"
    return Flag(name, triggered, detail, values)


def _randomness_flag(model: nn.Module, first: Mapping[str, Tensor], second: Mapping[str, Tensor]) -> Flag:
    a, b = first["pose"].detach(), second["pose"].detach()
    diff = (a - b).abs().nan_to_num(0.0)
    differ = not torch.allclose(a, b, rtol=1e-5, atol=PASS_TOL_MM, equal_nan=True)
    leaves = [(name, m) for name, m in model.named_modules()
              if m.training and next(m.children(), None) is None]
    leaves.sort(key=lambda item: not isinstance(item[1], MODE_DEPENDENT))  # dropout, batch norm first
    training = [f"{name} ({type(m).__name__})" for name, m in leaves]
    detail = (f"two clean passes {'differ' if differ else 'agree'} (max {float(diff.max()):.3g} mm); "
              f"{len(training)} layer(s) in training mode while evaluating")
    if training:
        detail += f" ({_first3(training, ', ')})"
    return Flag("randomness", differ or bool(training), detail,
                {"max_pass_difference_mm": float(diff.max()), "training_modules": len(training)})


def _clean_finite_flag(out: Mapping[str, Tensor]) -> Flag:
    pose = out["pose"].detach()
    valid = out.get("valid")
    mask = torch.ones_like(pose, dtype=torch.bool) if valid is None else valid.detach().bool()
    while mask.dim() < pose.dim():
        mask = mask[..., None]
    bad = (~torch.isfinite(pose)) & mask
    samples = int(bad.reshape(pose.shape[0], -1).any(dim=1).sum())
    return Flag("non_finite", samples > 0, f"clean pass: {samples} of {pose.shape[0]} samples with "
                "non-finite pose values where valid", {"clean_non_finite_samples": samples})


# ---------------------------------------------------------------------------------------------- rows
def row_checks(rows: Sequence[Mapping[str, Any]]) -> list[Flag]:
    """The flags of the final rows (no model pass)."""
    return [_gradient_free_flag(rows), _monotonic_flag(rows), _rows_finite_flag(rows), _failed_flag(rows)]


def _setting(row: Mapping[str, Any]) -> str:
    parts = [row["experiment"], row["attack"], f"eps={float(row['eps']):g}", f"it={int(row['iterations'])}"]
    if int(row.get("attacked_views") or 0) > 1:
        parts.append(f"views={row['attacked_views']}")
    parts += [str(row[k]) for k in ("view_set", "target", "corruption") if row.get(k)]
    return " ".join(parts)


def _gradient_free_flag(rows: Sequence[Mapping[str, Any]]) -> Flag:
    won, total, where = 0, 0, []
    for row in rows:
        member = worst_member(str(row["metric"]))
        if member is None:
            continue
        if any(member == g or member.startswith(f"{g}_") for g in GRADIENT_FREE):
            n = int(row["n"])
            count = round(float(row["value"]) * n) if n and math.isfinite(float(row["value"])) else 0
            won, total = won + count, total + n
            if count:
                where.append(f"{_setting(row)}: {count}/{n}")
    if not total:
        return Flag("gradient_free_wins", False, "not checked: no ensemble with a gradient-free member")
    detail = f"a gradient-free attack ({', '.join(GRADIENT_FREE)}) gave the worst case of {won} of {total} " \
             "ensemble samples"
    if where:
        detail += f" ({_first3(where)}): the white-box attacks fall short there (masked or obfuscated " \
                  "gradients?)"
    return Flag("gradient_free_wins", won > 0, detail, {"samples": won, "of": total})


def _monotonic_flag(rows: Sequence[Mapping[str, Any]]) -> Flag:
    kinds = {name for name in experiment_names() if not get_experiment(name).targeted}
    clean: dict[str, tuple[float, int]] = {}
    series: dict[str, dict[tuple[float, int], tuple[float, int]]] = defaultdict(dict)
    for row in rows:
        if row["experiment"] not in kinds or row["metric"] != MPJPE or row.get("corruption"):
            continue
        point = (float(row["value"]), int(row["n"]))
        if row["attack"] == CLEAN:
            clean[row["experiment"]] = point
        else:  # one series per experiment, attack, attacked views (and target)
            views = row.get("view_set") or (f"views={row['attacked_views']}"
                                             if int(row["attacked_views"]) > 1 else "")
            parts = (row["experiment"], row["attack"], views, row.get("target"))
            label = " ".join(str(x) for x in parts if x)
            series[label][(float(row["eps"]), int(row["iterations"]))] = point
    falls, pairs = [], 0
    for label, points in series.items():
        base = clean.get(label.split(" ", 1)[0])
        for axis, what in ((0, "eps"), (1, "it")):  # along eps at each iteration count, along iterations
            for fixed in sorted({p[1 - axis] for p in points}):
                line = sorted((p[axis], v) for p, v in points.items() if p[1 - axis] == fixed)
                if axis == 0 and base is not None:
                    line = [(0.0, base), *line]
                for (x0, (v0, n0)), (x1, (v1, n1)) in zip(line, line[1:]):
                    if n0 != n1 or not (math.isfinite(v0) and math.isfinite(v1)):
                        continue
                    pairs += 1
                    if v0 - v1 > max(REL_TOL * abs(v0), ABS_TOL_MM):
                        at = f"it={fixed}" if axis == 0 else f"eps={fixed:g}"
                        falls.append(f"{label} {at}: {v0:.4g} mm at {what}={x0:g} -> {v1:.4g} mm at "
                                     f"{what}={x1:g}")
    if not pairs:
        return Flag("non_monotonic", False, "not checked: no untargeted series of two or more points")
    detail = f"the attacked MPJPE falls as eps or iterations grow in {len(falls)} of {pairs} steps"
    if falls:
        detail += f" ({_first3(falls)}): the attack does not converge (step size, masked gradients)"
    return Flag("non_monotonic", bool(falls), detail, {"falls": len(falls), "steps": pairs})


def _rows_finite_flag(rows: Sequence[Mapping[str, Any]]) -> Flag:
    failed = {_key(r) for r in rows if r["metric"] == FAILED}
    full: dict[str, int] = {}
    for row in rows:
        if row["metric"] == MPJPE and row["attack"] == CLEAN:
            full[row["experiment"]] = max(full.get(row["experiment"], 0), int(row["n"]))
    short = [r for r in rows if r["metric"] == MPJPE and _key(r) not in failed
             and int(r["n"]) < full.get(r["experiment"], 0)]
    detail = f"{len(short)} attacked cell(s) count fewer samples than their clean row (non-finite outputs " \
             "dropped)"
    if short:
        detail += ": " + _first3([f"{_setting(r)} n={r['n']}" for r in short])
    return Flag("non_finite", bool(short), detail, {"short_cells": len(short)})


def _key(row: Mapping[str, Any]) -> tuple:
    return tuple(row.get(k) for k in ("experiment", "attack", "eps", "iterations", "attacked_views",
                                      "view_set", "target", "corruption", "severity"))


def _failed_flag(rows: Sequence[Mapping[str, Any]]) -> Flag:
    cells = [r for r in rows if r["metric"] == FAILED]
    if not cells:
        return Flag("failed_triangulations", False, "not applicable: no multi-view cells")
    values = [float(r["value"]) for r in cells]
    total = int(sum(v for v in values if math.isfinite(v)))
    with_failures = sum(1 for v in values if v > 0)
    clean = sum(int(float(r["value"])) for r in cells if r["attack"] == CLEAN)
    detail = f"{total} failed triangulations in {with_failures} of {len(cells)} multi-view cells (clean " \
             f"rows: {clean}); marked '*' in the tables, counted per cell in Table 2c"
    return Flag("failed_triangulations", total > 0, detail, {
        "failed": total, "cells_with_failures": with_failures, "cells": len(cells), "clean_failed": clean})


# ---------------------------------------------------------------------------------------------- merge
def sanity_flags(start: Sequence[Flag] | None, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The results.json records of :data:`FLAG_NAMES`, in order, the two parts of ``non_finite`` merged
    (``start`` None: no batch was attacked in this run, e.g. all resumed)."""
    by_name: dict[str, Flag] = {}
    for flag in [*(start or []), *row_checks(rows)]:
        if flag.flag in by_name:  # non_finite: clean pass + rows
            old = by_name[flag.flag]
            by_name[flag.flag] = Flag(flag.flag, old.triggered or flag.triggered,
                                      f"{old.detail}; {flag.detail}", {**old.values, **flag.values})
        else:
            by_name[flag.flag] = flag
    for name in FLAG_NAMES:
        by_name.setdefault(name, Flag(name, False, "not checked: no batch was attacked in this run"))
    return [by_name[name].to_dict() for name in FLAG_NAMES]
