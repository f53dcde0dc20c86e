"""The four experiment kinds of the paper as data (cells, metrics) and as runs on one batch.

A *cell* is one (experiment, attack, eps, iterations, attacked_views, target, metric) combination,
i.e. one row of ``results.csv`` (see docs/ARCHITECTURE.md). Each experiment:

- ``untargeted`` (monocular models): FGSM for 1 iteration, IGSM-U otherwise; MPJPE P1/P2 to ground truth.
- ``multiview`` (multi-view models): the first k of the views attacked (k in ``views``), or an explicit
  subset of view indices (``[0, 2]`` in ``views``; results column ``view_set`` "0+2", attacked_views 2);
  JDR of the per-view 2D joints (all views), MPJPE P1/P2 of the triangulation, failed triangulations.
- ``camera_swap`` (monocular): the image of camera 1 (``source_view``) pushed towards the same frame's
  ground truth in camera k (``targets``, 1-based camera numbers), root-relative; IGSM-T.
- ``rotation`` (any model): the ground truth rotated by ``angles`` degrees about the pelvis around the
  vertical (world ``up``) axis; IGSM-T.

Iteration counts of one experiment share a single run: the state after t steps of a long run equals a
t-step run (same alpha), so outputs are recorded at every requested t. Iteration 0 is the clean input.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from poselab.attacks.base import Attack
from poselab.attacks.fgsm import FGSM
from poselab.attacks.igsm import IGSMT, IGSMU
from poselab.attacks.losses import get_loss
from poselab.attacks.sweep import MakeFn, MaxBatch, eps_sweep, index_batch
from poselab.attacks.targets import camera_swap_target, rotation_target, vertical_axis
from poselab.data.sample import select_views

KINDS = ("untargeted", "multiview", "camera_swap", "rotation")
METRICS = ("mpjpe", "pmpjpe", "jdr", "target_mpjpe", "failed")


class AttackConfigError(ValueError):
    """A bad attack-evaluation setting (experiment kind, eps, views, ...); the message names it.

    ``poselab test`` reports it as one ``poselab test: error: ...`` line (exit status 2).
    """


class Cell(NamedTuple):
    """One results row key (``metric`` in :data:`METRICS`).

    ``view_set``: the attacked view indices joined by "+" ("0+2") for an explicit subset of a
    ``multiview`` experiment, "" otherwise (then the first ``attacked_views`` views were attacked).
    """

    experiment: str
    attack: str
    eps: float
    iterations: int
    attacked_views: int
    target: str
    metric: str
    view_set: str = ""


#: One entry of ``ExperimentSpec.views``: a number k of views (the first k) or a list of view indices.
ViewChoice = int | list[int]


def view_setting(choice: ViewChoice) -> tuple[int, str]:
    """(attacked_views, view_set) of a ``views`` entry: k -> (k, ""); [0, 2] -> (2, "0+2")."""
    if isinstance(choice, int):
        return choice, ""
    return len(choice), "+".join(str(i) for i in choice)


def view_mask(choice: ViewChoice, num_views: int, device: torch.device | None = None) -> Tensor:
    """bool (num_views,): the views a ``views`` entry perturbs (the first k, or the listed indices)."""
    if isinstance(choice, int):
        return torch.arange(num_views, device=device) < choice
    mask = torch.zeros(num_views, dtype=torch.bool, device=device)
    mask[list(choice)] = True
    return mask


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _normalise_views(views: Any, kind: str, n: int) -> list[ViewChoice]:
    """``views`` checked and normalised (subsets sorted); :class:`AttackConfigError` naming the problem."""
    err = AttackConfigError
    if isinstance(views, (str, bytes)) or not isinstance(views, Sequence):
        raise err(f"{kind}: views must be a list of view counts or of view-index lists, got {views!r}")
    out: list[ViewChoice] = []
    for v in views:
        if _is_int(v):
            out.append(int(v))
        elif isinstance(v, numbers.Real) and not isinstance(v, bool) and float(v).is_integer():
            out.append(int(v))
        elif isinstance(v, Sequence) and not isinstance(v, (str, bytes)):
            if not all(_is_int(i) for i in v):
                raise err(f"{kind}: a view subset must list integer view indices (0-based), got {list(v)!r}")
            idx = [int(i) for i in v]
            if not idx:
                raise err(f"{kind}: view subset [] is empty; list at least one view index (0-based)")
            if len(set(idx)) != len(idx):
                raise err(f"{kind}: view subset {idx} repeats a view index")
            if kind == "multiview" and any(not 0 <= i < n for i in idx):
                raise err(f"multiview: view subset {idx} has indices outside 0..{n - 1} ({n} views, 0-based)")
            out.append(sorted(idx))
        else:
            raise err(f"{kind}: views entries must be a number of views (first k) or a list of view "
                      f"indices like [0, 2], got {v!r}")
    settings = [view_setting(v) for v in out]
    dup = sorted({s for s in settings if settings.count(s) > 1})
    if dup:
        raise err(f"{kind}: views lists the same attacked views more than once: "
                  f"{', '.join(vs or str(k) for k, vs in dup)}")
    return out


#: Largest accepted budget (pixels, 0..255 images: a larger eps can change nothing more).
MAX_EPS = 255.0
#: Largest accepted iteration count: 100x the paper's longest run (100); one IGSM step costs a forward and a
#: backward pass per image row, so 10000 steps of the quick grid already take hours on a CPU.
MAX_ITERATIONS = 10_000


@dataclass
class ExperimentSpec:
    """One experiment of the sweep; validated on construction (one :class:`AttackConfigError` per problem).

    Args:
        kind: one of :data:`KINDS`.
        eps: budgets in pixels (0 = clean), each >= 0.
        iterations: attack iterations to report (0 = clean input, 1 = FGSM when untargeted).
        views: attacked views (``multiview``): each a number k in 1..num_views (the first k views) or a
            list of distinct 0-based view indices (``[0, 2]``: views 0 and 2; the others stay unchanged).
        targets: target camera numbers (``camera_swap``), 1-based, in 1..num_views.
        angles: rotation angles in degrees (``rotation``).
        source_view: view index (0-based) of the attacked camera for ``camera_swap``.
        mono_views: view indices fed to monocular models (``untargeted``, ``rotation``).
        loss: attack loss, "mpjpe" (3D, mm) or "joints_2d" (2D joints, pixels; multi-view models).
        up: world vertical axis for ``rotation``.
        num_views: views in the test batches, used to check ranges.
    """

    kind: str
    eps: list[float] = field(default_factory=lambda: [0.0, 1.0, 4.0, 16.0])
    iterations: list[int] = field(default_factory=lambda: [1, 10])
    views: list[ViewChoice] = field(default_factory=lambda: [1, 2, 4])
    targets: list[int] = field(default_factory=lambda: [2, 3, 4])
    angles: list[float] = field(default_factory=lambda: [10.0, 30.0])
    source_view: int = 0
    mono_views: list[int] = field(default_factory=lambda: [0])
    loss: str = "mpjpe"
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    num_views: int = 4

    def __post_init__(self) -> None:
        err = AttackConfigError
        if self.kind not in KINDS:
            raise err(f"unknown experiment kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        kind, n = self.kind, self.num_views
        self.views = _normalise_views(self.views, kind, n)
        for name in ("eps", "iterations", "targets", "mono_views", "angles"):
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not all(
                    isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value):
                raise err(f"{kind}: {name} must be a list of numbers, got {value!r}")
        self.eps = [float(e) for e in self.eps]
        if not self.eps or any(not 0 <= e <= MAX_EPS for e in self.eps):  # also refuses NaN and inf
            raise err(f"{kind}: eps must be a non-empty list of values in 0..{MAX_EPS:g} px, got {self.eps}")
        if not self.iterations or any(not math.isfinite(i) or i != int(i) or not 0 <= i <= MAX_ITERATIONS
                                      for i in self.iterations):
            raise err(f"{kind}: iterations must be whole numbers in 0..{MAX_ITERATIONS}, "
                      f"got {list(self.iterations)}")
        self.iterations = sorted({int(i) for i in self.iterations})
        if kind in ("untargeted", "multiview") and (self.iterations[-1] < 1 or max(self.eps) <= 0):
            raise err(f"{kind}: nothing to attack: iterations need a value in 1..{MAX_ITERATIONS} and eps "
                      f"a value in (0, {MAX_EPS:g}] px (0 alone is the clean row), got iterations "
                      f"{self.iterations}, eps {self.eps}")
        if any(not math.isfinite(a) for a in self.angles):
            raise err(f"{kind}: angles must be finite degrees, got {self.angles}")
        try:
            get_loss(self.loss)
        except ValueError as e:
            raise err(f"{kind}: {e}") from None
        if kind in ("camera_swap", "rotation") and get_loss(self.loss)[1] == "joints_2d":
            raise err(f"{kind}: targeted experiments need a 3D target, use loss 'mpjpe'")
        counts = [k for k in self.views if isinstance(k, int)]
        if kind == "multiview" and (not self.views or any(not 1 <= k <= n for k in counts)):
            raise err(f"multiview: attacked views must lie in 1..{n}, got {self.views}")
        if kind == "camera_swap":
            if not self.targets or any(not 1 <= k <= n for k in self.targets):
                raise err(f"camera_swap: target cameras must lie in 1..{n}, got {self.targets}")
            if not 0 <= self.source_view < n:
                raise err(f"camera_swap: source_view must lie in 0..{n - 1}, got {self.source_view}")
        if any(not 0 <= v < n for v in self.mono_views) or not self.mono_views:
            raise err(f"{kind}: mono_views must lie in 0..{n - 1}, got {self.mono_views}")
        if kind == "rotation" and not self.angles:
            raise err("rotation: angles must be a non-empty list of degrees")

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | ExperimentSpec, num_views: int = 4) -> ExperimentSpec:
        if isinstance(cfg, ExperimentSpec):
            return cfg
        if not isinstance(cfg, Mapping) or "kind" not in cfg:
            raise AttackConfigError(f"each experiment must be a mapping with a 'kind' ({', '.join(KINDS)}), "
                                    f"got {cfg!r}")
        known = set(cls.__dataclass_fields__)
        unknown = set(cfg) - known
        if unknown:
            raise AttackConfigError(f"unknown experiment option(s) {sorted(unknown)}; "
                                    f"expected {sorted(known)}")
        return cls(**{"num_views": num_views, **cfg})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def applies_to(self, multiview: bool) -> bool:
        """Whether the experiment is defined for a (multi-view or monocular) model."""
        if self.kind in ("untargeted", "camera_swap"):
            return not multiview
        if self.kind == "multiview":
            return multiview
        return True

    # --------------------------------------------------------------------------------- cells
    def single_views(self, multiview: bool) -> int:
        """attacked_views of the non-``multiview`` kinds: all views of a multi-view model, else 1."""
        return self.num_views if multiview else 1

    def target_names(self) -> list[str]:
        if self.kind == "camera_swap":
            return [f"cam{k}" for k in self.targets]
        if self.kind == "rotation":
            return [f"rot{a:g}" for a in self.angles]
        return [""]

    def metric_names(self, multiview: bool) -> tuple[str, ...]:
        base: tuple[str, ...]
        if self.kind in ("untargeted", "multiview"):
            base = ("mpjpe", "pmpjpe")
        else:
            base = ("target_mpjpe", "mpjpe")
        if self.kind == "multiview":
            base = ("jdr", *base)
        return (*base, "failed") if multiview else base

    def cells(self, multiview: bool) -> list[Cell]:
        """Every results row this experiment produces for a model."""
        out: list[Cell] = []
        metrics = self.metric_names(multiview)
        targeted = self.kind in ("camera_swap", "rotation")
        if not targeted:
            out += [Cell(self.kind, "clean", 0.0, 0, 0 if self.kind == "multiview" else 1, "", m)
                    for m in metrics]
        views = self.views if self.kind == "multiview" else [self.single_views(multiview)]
        for choice in views:
            k, view_set = view_setting(choice)
            for target in self.target_names():
                for e in self.eps:
                    for it in self.iterations:
                        if not targeted and (e == 0 or it == 0):
                            continue  # the clean row covers them
                        attack = _attack_name(it, targeted)
                        out += [Cell(self.kind, attack, e, it, k, target, m, view_set) for m in metrics]
        return out


def _attack_name(iterations: int, targeted: bool) -> str:
    if iterations == 1:
        return "fgsm"
    return "igsm_t" if targeted else "igsm_u"


def make_metric(name: str, jdr_definition: str | None = None) -> nn.Module:
    """A fresh torchmetrics accumulator for a metric name of :data:`METRICS` (JDR under ``jdr_definition``,
    one of :data:`poselab.metrics.JDR_DEFINITIONS`; default the published one)."""
    from poselab import metrics as M

    factory: dict[str, Callable[[], nn.Module]] = {
        "mpjpe": M.MPJPE, "pmpjpe": M.PMPJPE, "target_mpjpe": M.TargetMPJPE, "failed": M.FailureCount,
        "jdr": lambda: M.JDR(definition=jdr_definition or M.DEFAULT_JDR),
    }
    return factory[name]()


# ------------------------------------------------------------------------------------- running
Update = Callable[[Cell, tuple], None]


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


def _runs(spec: ExperimentSpec, targeted: bool, alpha_ratio: float, random_start: bool
          ) -> list[tuple[Attack, list[int]]]:
    """(attack, recorded iteration counts) covering ``spec.iterations`` with as few runs as possible."""
    loss = spec.loss
    runs: list[tuple[Attack, list[int]]] = []
    its = spec.iterations
    if 1 in its:
        runs.append((FGSM(targeted=targeted, loss=loss), [1]))
    long = [i for i in its if i > 1]
    if long or (targeted and 0 in its):
        cls = IGSMT if targeted else IGSMU
        steps = max(long) if long else 1
        record = long + ([0] if targeted and 0 in its else [])
        runs.append((cls(steps=steps, alpha_ratio=alpha_ratio, loss=loss, random_start=random_start), record))
    return runs


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


def check_views(spec: ExperimentSpec, num_views: int, multiview: bool) -> None:
    """Raise :class:`AttackConfigError` when ``spec`` needs views that data of ``num_views`` lacks."""
    where = f"the test data has {num_views} view{'s' if num_views != 1 else ''}"
    if multiview or spec.kind == "multiview":
        need = 2
        if spec.kind == "multiview":  # k views need k; a subset needs its largest index + 1
            need = max(k if isinstance(k, int) else max(k) + 1 for k in spec.views)
        if num_views < need:
            what = (f"attacked views {spec.views} need" if spec.kind == "multiview"
                    else "multi-view models need")
            raise AttackConfigError(f"{spec.kind}: {what} {need} views, but {where}")
    else:
        views = [spec.source_view] if spec.kind == "camera_swap" else spec.mono_views
        if max(views) >= num_views:
            name = "source_view" if spec.kind == "camera_swap" else "mono_views"
            raise AttackConfigError(f"{spec.kind}: {name} {views} out of range, {where} (indices 0.."
                                    f"{num_views - 1})")
    if spec.kind == "camera_swap" and max(spec.targets) > num_views:
        raise AttackConfigError(f"camera_swap: target cameras {spec.targets} out of range, {where} "
                                f"(cameras 1..{num_views})")


def run_experiment(spec: ExperimentSpec, batch: Mapping[str, Any], ctx: RunContext) -> None:
    """Run one experiment on a (cloned, grad-ready) batch and report every cell through ``ctx.update``."""
    model = ctx.model
    multiview = bool(getattr(model, "multiview", False))
    check_views(spec, batch["images"].shape[1], multiview)
    if multiview or spec.kind == "multiview":
        sub = dict(batch)
    else:
        sub = select_views(batch, [spec.source_view] if spec.kind == "camera_swap" else spec.mono_views)
    images = sub["images"].float()
    gt = model.pose_target(sub)
    targeted = spec.kind in ("camera_swap", "rotation")
    metrics = spec.metric_names(multiview)

    def report(cell_prefix: tuple, out: Mapping[str, Tensor], truth: Tensor, target: Tensor | None,
               rows: Mapping[str, Any], view_set: str = "") -> None:
        pose = out["pose"]
        valid = out.get("valid")
        for m in metrics:
            cell = Cell(*cell_prefix, m, view_set)
            if m in ("mpjpe", "pmpjpe"):
                ctx.update(cell, (pose, truth, valid))
            elif m == "target_mpjpe":
                ctx.update(cell, (pose, target, valid))
            elif m == "jdr":  # (pred, target, valid views, crop size px for the qiu2019 head size)
                size = images.shape[-1]
                ctx.update(cell, (out["joints_2d"], rows["joints_2d"], rows.get("view_valid"), size))
            elif m == "failed":
                ctx.update(cell, (valid, pose))

    if not targeted:
        clean_views = 0 if spec.kind == "multiview" else 1
        with torch.no_grad():
            clean = model(images, sub)
        report((spec.kind, "clean", 0.0, 0, clean_views, ""), clean, gt, None, sub)
        eps = [e for e in spec.eps if e > 0]
        views = spec.views if spec.kind == "multiview" else [1]
        ref = _loss_reference(spec, sub, gt)
        want_images = ctx.example_sink is not None and ctx.examples > 0
        last = None
        for choice in views if eps else []:
            k, view_set = view_setting(choice)
            mask = view_mask(choice, images.shape[1]) if spec.kind == "multiview" else None
            for attack, record in _runs(spec, False, ctx.alpha_ratio, ctx.random_start):
                res = eps_sweep(attack, _model_fn(model), images, sub, ref, eps, record=record,
                                view_mask=mask, max_batch=ctx.max_batch, keep_images=want_images)
                for t in record:
                    for i, e in enumerate(eps):
                        out = {key: val[i] for key, val in res.outputs[t].items()}
                        report((spec.kind, attack.name, e, t, k, ""), out, gt, None, sub, view_set)
                last = (res, attack.name, max(record), view_set or (str(k) if k > 1 else ""))
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
                for k in spec.targets]
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
    for attack, record in _runs(spec, True, ctx.alpha_ratio, ctx.random_start):
        want_images = ctx.example_sink is not None and ctx.examples > 0
        res = eps_sweep(attack, _model_fn(model), big_images, big, target, spec.eps, record=record,
                        max_batch=ctx.max_batch, keep_images=want_images)
        for t in record:
            for i, e in enumerate(spec.eps):
                for j, name in enumerate(names):
                    sl = slice(j * b, (j + 1) * b)
                    out = {key: val[i, sl] for key, val in res.outputs[t].items()}
                    rows = index_batch(big, torch.arange(j * b, (j + 1) * b), n_t * b)
                    report((spec.kind, attack.name, e, t, spec.single_views(multiview), name), out,
                           big_gt[sl], target[sl], rows)
        if want_images:
            t, ie = max(record), _example_eps(spec.eps)
            _add_examples(ctx, f"{spec.kind} {attack.name} eps={spec.eps[ie]:g} it={t} target={names[-1]}",
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


def experiments_from_config(cfgs: Sequence[Mapping[str, Any] | ExperimentSpec], num_views: int = 4
                            ) -> list[ExperimentSpec]:
    """Validated specs from a YAML-style list of dicts."""
    if not cfgs:
        raise AttackConfigError("at least one experiment is required")
    return [ExperimentSpec.from_config(c, num_views) for c in cfgs]
