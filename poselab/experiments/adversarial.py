"""What the four adversarial kinds share: options and checks, attack plan, results cells, the targeted run.
Each attack runs once, recorded at every iteration count it serves (t steps of a long run = a t-step run).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any, ClassVar

import torch
from torch import Tensor

from poselab.attacks.losses import get_loss
from poselab.attacks.registry import get_attack
from poselab.attacks.sweep import SweepResult, eps_sweep, index_batch
from poselab.experiments.base import AttackConfigError, Experiment, is_int, is_list, is_real
from poselab.experiments.ensemble import extra_metrics, worst_flags
from poselab.experiments.keys import MPJPE, PMPJPE, TARGET_MPJPE, ResultKey, worst_member
from poselab.experiments.runner import RunContext, add_examples, example_eps, update_metrics

#: Largest accepted budget (pixels, 0..255 images: a larger eps can change nothing more).
MAX_EPS = 255.0
#: Largest accepted iteration count: 100x the paper's longest run (100).
MAX_ITERATIONS = 10_000
#: One entry of ``attacked_views``: a number k of views (the first k) or a list of indices.
ViewChoice = int | list[int]


def view_setting(choice: ViewChoice) -> tuple[int, str]:
    """(attacked_views, view_set) of an ``attacked_views`` entry: k -> (k, ""); [0, 2] -> (2, "0+2")."""
    if isinstance(choice, int):
        return choice, ""
    return len(choice), "+".join(str(i) for i in choice)


def _normalise_views(views: Any, kind: str) -> list[ViewChoice]:
    """``attacked_views`` checked and normalised (subsets sorted); :class:`AttackConfigError` naming it."""
    err = AttackConfigError
    if not is_list(views):
        raise err(f"{kind}: attacked_views must be a list of view counts or of view-index lists, "
                  f"got {views!r}")
    out: list[ViewChoice] = []
    for v in views:
        if is_int(v) or (is_real(v) and float(v).is_integer()):
            out.append(int(v))
        elif is_list(v):
            if not all(is_int(i) for i in v):
                raise err(f"{kind}: a view subset must list integer view indices (0-based), got {list(v)!r}")
            idx = [int(i) for i in v]
            if not idx:
                raise err(f"{kind}: view subset [] is empty; list at least one view index (0-based)")
            if len(set(idx)) != len(idx):
                raise err(f"{kind}: view subset {idx} repeats a view index")
            if any(i < 0 for i in idx):
                raise err(f"{kind}: view subset {idx} has negative indices (0-based view indices)")
            out.append(sorted(idx))
        else:
            raise err(f"{kind}: attacked_views entries must be a number of views (first k) or a list of view "
                      f"indices like [0, 2], got {v!r}")
    settings = [view_setting(v) for v in out]
    dup = sorted({s for s in settings if settings.count(s) > 1})
    if dup:
        raise err(f"{kind}: attacked_views lists the same attacked views more than once: "
                  f"{', '.join(vs or str(k) for k, vs in dup)}")
    return out


@dataclass
class AttackExperiment(Experiment):
    """The options of the adversarial kinds, validated on construction; each kind reads those it needs:
    ``attack`` (registered names serving the kind's goal; default :attr:`default_attacks`), ``eps`` (px, 0 =
    clean), ``iterations`` (0 = clean input), ``attacked_views`` (each k >= 1, the first k views, or distinct
    0-based indices ``[0, 2]``), ``target_cameras`` (1-based), ``angles`` (degrees), ``source_view`` and
    ``input_views`` (0-based), ``loss`` ("mpjpe" 3D mm or "joints_2d" px) and ``up`` (world vertical axis)."""

    default_attacks: ClassVar[tuple[str, ...]] = ("fgsm", "igsm_u")
    base_metrics: ClassVar[tuple[str, ...]] = (MPJPE, PMPJPE)

    kind: str = ""
    attack: list[str] | str | None = None
    eps: list[float] = field(default_factory=lambda: [0.0, 1.0, 4.0, 16.0])
    iterations: list[int] = field(default_factory=lambda: [1, 10])
    attacked_views: list[ViewChoice] = field(default_factory=lambda: [1, 2, 4])
    target_cameras: list[int] = field(default_factory=lambda: [2, 3, 4])
    angles: list[float] = field(default_factory=lambda: [10.0, 30.0])
    source_view: int = 0
    input_views: list[int] = field(default_factory=lambda: [0])
    loss: str = "mpjpe"
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)

    def __post_init__(self) -> None:
        err, kind = AttackConfigError, self.name
        if (self.kind or kind) != kind:
            raise err(f"{type(self).__name__} is the {kind!r} kind, got {self.kind!r}")
        self.kind = kind
        self.attacked_views = _normalise_views(self.attacked_views, kind)
        for name in ("eps", "iterations", "target_cameras", "input_views", "angles"):
            value = getattr(self, name)
            if not is_list(value) or not all(is_real(v) for v in value):
                raise err(f"{kind}: {name} must be a list of numbers, got {value!r}")
        self.eps = [float(e) for e in self.eps]
        if not self.eps or any(not 0 <= e <= MAX_EPS for e in self.eps):  # also refuses NaN and inf
            raise err(f"{kind}: eps must be a non-empty list of values in 0..{MAX_EPS:g} px, got {self.eps}")
        if not self.iterations or any(not math.isfinite(i) or i != int(i) or not 0 <= i <= MAX_ITERATIONS
                                      for i in self.iterations):
            raise err(f"{kind}: iterations must be whole numbers in 0..{MAX_ITERATIONS}, "
                      f"got {list(self.iterations)}")
        self.iterations = sorted({int(i) for i in self.iterations})
        if not self.targeted and (self.iterations[-1] < 1 or max(self.eps) <= 0):
            raise err(f"{kind}: nothing to attack: iterations need a value in 1..{MAX_ITERATIONS} and eps "
                      f"a value in (0, {MAX_EPS:g}] px (0 alone is the clean row), got iterations "
                      f"{self.iterations}, eps {self.eps}")
        if any(not math.isfinite(a) for a in self.angles):
            raise err(f"{kind}: angles must be finite degrees, got {self.angles}")
        if (not is_list(self.up) or len(self.up) != 3
                or not all(is_real(u) and math.isfinite(u) for u in self.up) or not any(self.up)):
            raise err(f"{kind}: up must be a non-zero axis of 3 finite numbers, got {self.up!r}")
        self.attack = self._check_attacks(self.attack)
        try:
            get_loss(self.loss)
        except ValueError as e:
            raise err(f"{kind}: {e}") from None
        if self.targeted and get_loss(self.loss)[1] == "joints_2d":
            raise err(f"{kind}: targeted experiments need a 3D target, use loss 'mpjpe'")
        self.check_kind()
        if any(v < 0 for v in self.input_views) or not self.input_views:
            raise err(f"{kind}: input_views are 0-based view indices >= 0, got {self.input_views}")

    def check_kind(self) -> None:
        """The kind's own option checks (:class:`AttackConfigError`)."""

    def _check_attacks(self, attack: Any) -> list[str]:
        """The attack names as a list, each registered and able to serve the kind's goal."""
        kind, targeted = self.kind, self.targeted
        names = (list(self.default_attacks) if attack is None
                 else [attack] if isinstance(attack, str) else list(attack))
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise AttackConfigError(f"{kind}: attack must be a registered attack name or a list of them, "
                                    f"got {attack!r}")
        if len(set(names)) != len(names):
            raise AttackConfigError(f"{kind}: attack lists a name twice: {names}")
        for name in names:
            try:
                cls = get_attack(name)
            except ValueError as e:
                raise AttackConfigError(f"{kind}: {e}") from None
            if cls.goal is not None and cls.goal != targeted:
                goal = "targeted" if cls.goal else "untargeted"
                raise AttackConfigError(f"{kind}: attack {name!r} is {goal}, the experiment is "
                                        f"{'targeted' if targeted else 'untargeted'}")
        covered = {t for _, record in self.attack_plan(names) for t in record}
        missing = [t for t in self._attacked_iterations() if t not in covered]
        if missing:
            raise AttackConfigError(f"{kind}: iterations {missing} are run by none of the attacks {names} "
                                    "(fixed-step attacks run only their own step count)")
        return names

    def _attacked_iterations(self) -> list[int]:
        """Iteration counts that need an attack run (untargeted: iteration 0 is the clean row)."""
        return [t for t in self.iterations if self.targeted or t > 0]

    def attack_plan(self, names: Sequence[str] | None = None) -> list[tuple[str, list[int]]]:
        """(attack name, recorded iteration counts) per attack that has work: a fixed-step attack records
        its own step count, the iterative attacks every other count."""
        names = self.attack if names is None else names
        fixed = {get_attack(n).fixed_steps for n in names} - {None}
        plan = []
        for name in names:
            steps = get_attack(name).fixed_steps
            record = [t for t in self._attacked_iterations()
                      if (t == steps if steps is not None else t not in fixed)]
            if record:
                plan.append((name, record))
        return plan

    def attacks_at(self, iterations: int) -> list[str]:
        """The attacks that report results at an iteration count, in plan order."""
        return [name for name, record in self.attack_plan() if iterations in record]

    def work_units(self) -> float:
        """(eps > 0) x settings (view choices, targets) x longest attack run (>= 1) per batch."""
        eps = max(1, sum(1 for e in self.eps if e > 0))
        return float(eps * self.settings() * max(1, max(self.iterations)))

    def passes_per_image(self) -> float:
        """(eps > 0) x settings x the plan's longest run of each attack x its passes per step."""
        eps = max(1, sum(1 for e in self.eps if e > 0))
        steps = sum(max(max(record), 1) * get_attack(name).passes_per_step
                    for name, record in self.attack_plan())
        return float(eps * self.settings() * max(steps, 1))

    def settings(self) -> int:
        """Attacked settings per eps and iteration count (progress estimate)."""
        return len(self.target_names())

    def sweep(self, ctx: RunContext, name: str, record: list[int], images: Tensor, batch: Mapping[str, Any],
              reference: Tensor, eps: list[float], mask: Tensor | None = None) -> SweepResult:
        """Attack ``name`` at every eps (:func:`eps_sweep`), sized for the recorded iteration counts."""
        cls = get_attack(name)
        own = {} if cls.fixed_steps is not None else {"steps": max(max(record), 1)}  # fixed-step: theirs
        if own and ctx.random_start:  # else the attack's own default (PGD: on)
            own["random_start"] = True
        attack = cls(alpha_ratio=ctx.alpha_ratio, targeted=self.targeted, loss=self.loss, **own)
        return eps_sweep(attack, lambda b: (lambda x: ctx.model(x, b)), images, batch, reference, eps,
                         record=record, view_mask=mask, max_batch=ctx.max_batch, keep_images=ctx.want_images)

    def view_choices(self, multiview: bool, num_views: int) -> list[ViewChoice]:
        """The attacked-view settings: all views of a multi-view model, else 1."""
        return [num_views if multiview else 1]

    def target_names(self) -> list[str]:
        return [""]

    def keys(self, multiview: bool, attack: str, eps: float, iterations: int, views: int, target: str,
             view_set: str = "") -> list[ResultKey]:
        """The results keys of one attacked setting: one per metric (and the ensemble's worst-case shares)."""
        metrics = (*self.metric_names(multiview), *extra_metrics(attack, self.targeted, self.loss))
        return [ResultKey(self.kind, attack, eps, iterations, views, target, m, view_set=view_set)
                for m in metrics]

    def cells(self, multiview: bool, num_views: int) -> list[ResultKey]:
        out = [] if self.targeted else [self.clean_key(m) for m in self.metric_names(multiview)]
        for choice, target, e, it in product(self.view_choices(multiview, num_views), self.target_names(),
                                             self.eps, self.iterations):
            k, view_set = view_setting(choice)
            if not self.clean_covers(e, it):
                for attack in self.attacks_at(it):
                    out += self.keys(multiview, attack, e, it, k, target, view_set)
        return out

    def report(self, ctx: RunContext, keys: list[ResultKey], out: Mapping[str, Tensor], truth: Tensor,
               target: Tensor | None, rows: Mapping[str, Any]) -> None:
        """Hand one output to its cells' metrics, and the ensemble's per-sample worst cases per member."""
        update_metrics(ctx.update, keys, out, truth, target, rows, rows["images"].shape[-1])
        for cell in keys:
            if worst_member(cell.metric):
                ctx.update(cell, worst_flags(out, cell.metric, self.targeted, self.loss), rows.get("index"))

    def check_views(self, num_views: int, multiview: bool) -> None:
        self.check_model_views(num_views, multiview)


@dataclass
class TargetedExperiment(AttackExperiment):
    """A kind that pushes the pose to targets (:meth:`targets`); every target stacked into the batch."""

    default_attacks: ClassVar[tuple[str, ...]] = ("fgsm", "igsm_t")
    base_metrics: ClassVar[tuple[str, ...]] = (TARGET_MPJPE, MPJPE)
    targeted: ClassVar[bool] = True
    x_axis: ClassVar[str] = "iterations"

    def targets(self, batch: Mapping[str, Any], sub: Mapping[str, Any], gt: Tensor, multiview: bool
                ) -> list[Tensor]:
        """One target pose per :meth:`target_names` entry, each like ``gt``."""
        raise NotImplementedError

    def run(self, batch: Mapping[str, Any], ctx: RunContext) -> None:
        model, multiview, num_views, sub, images, gt = self.inputs(batch, ctx)
        tgts = self.targets(batch, sub, gt, multiview)
        names = self.target_names()
        b, n_t = images.shape[0], len(tgts)  # rows target-major: rows j*b..(j+1)*b are ``sub`` again
        rows_idx = torch.arange(n_t * b, device=images.device) % b
        big = index_batch(sub, rows_idx, b)
        big_images = images.index_select(0, rows_idx)
        target = torch.cat(tgts)
        (views,) = self.view_choices(multiview, num_views)
        for name, record in self.attack_plan():
            res = self.sweep(ctx, name, record, big_images, big, target, self.eps)
            for t, (i, e), (j, target_name) in product(record, enumerate(self.eps), enumerate(names)):
                sl = slice(j * b, (j + 1) * b)
                out = {key: val[i, sl] for key, val in res.outputs[t].items()}
                keys = self.keys(multiview, name, e, t, views, target_name)
                self.report(ctx, keys, out, gt, target[sl], sub)
            if ctx.want_images:
                t, ie = max(record), example_eps(self.eps)
                with torch.no_grad():
                    clean_out = model(images, sub)
                title = f"{self.kind} {name} eps={self.eps[ie]:g} it={t} target={names[-1]}"
                out = {kk: v[ie, -b:] for kk, v in res.outputs[t].items()}
                add_examples(ctx, title, images, res.adversarial[ie, -b:], out, sub, clean_out=clean_out,
                             truth=gt, target=target[-b:])
