"""The four experiment kinds of the paper as data: validated specs, their attack plan and results keys.

A *cell* is one (experiment, attack, eps, iterations, attacked_views, target, metric) combination, i.e.
one row of ``results.csv`` (:class:`~poselab.results.schema.ResultKey`). Each experiment:

- ``untargeted`` (monocular models): the ground truth's MPJPE P1/P2 ascended; default attacks FGSM at
  1 iteration, IGSM-U at the others.
- ``multiview`` (multi-view models): the first k of the views attacked (k in ``attacked_views``), or an
  explicit subset of view indices (``[0, 2]``; results column ``view_set`` "0+2", attacked_views 2); JDR
  of the per-view 2D joints (all views), MPJPE P1/P2 of the triangulation, failed triangulations.
- ``camera_swap`` (monocular): the image of camera ``source_view`` pushed towards the same frame's ground
  truth in camera k (``target_cameras``, 1-based camera numbers), root-relative; FGSM / IGSM-T.
- ``rotation`` (any model): the ground truth rotated by ``angles`` degrees about the pelvis around the
  vertical (world ``up``) axis; FGSM / IGSM-T.

``attack`` names registered attacks (:mod:`poselab.attacks.registry`). An attack with fixed steps (FGSM:
1) takes the iteration count equal to its steps; the iterative attacks take all the others. Iteration
counts of one attack share a single run: the state after t steps of a long run equals a t-step run (same
alpha), so outputs are recorded at every requested t. Iteration 0 is the clean input.

View counts are checked against the test data (:func:`check_views`), never against a default.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from poselab.attacks.losses import get_loss
from poselab.attacks.registry import get_attack
from poselab.evaluation.ensemble import extra_metrics
from poselab.results.schema import (
    ATTACK_EXPERIMENTS,
    CORRUPTION_EXPERIMENT,
    EXPERIMENTS,
    FAILED,
    JDR,
    MPJPE,
    PMPJPE,
    TARGET_MPJPE,
    ResultKey,
    clean_covers,
    clean_key,
    is_targeted,
)

#: Kinds of :class:`ExperimentSpec` (adversarial); ``corruption`` is :class:`poselab.evaluation.corruption.
#: CorruptionExperiment` (dispatched by :meth:`ExperimentSpec.from_config`).
KINDS = ATTACK_EXPERIMENTS
#: Largest accepted budget (pixels, 0..255 images: a larger eps can change nothing more).
MAX_EPS = 255.0
#: Largest accepted iteration count: 100x the paper's longest run (100); one IGSM step costs a forward and a
#: backward pass per image row, so 10000 steps of the quick grid already take hours on a CPU.
MAX_ITERATIONS = 10_000
#: The attacks of an experiment whose config names none: FGSM at 1 iteration, IGSM at the others.
DEFAULT_ATTACKS = {"untargeted": ["fgsm", "igsm_u"], "multiview": ["fgsm", "igsm_u"],
                   "camera_swap": ["fgsm", "igsm_t"], "rotation": ["fgsm", "igsm_t"]}


class AttackConfigError(ValueError):
    """A bad attack-evaluation setting (experiment kind, eps, views, ...); the message names it.

    ``poselab test`` reports it as one ``poselab test: error: ...`` line (exit status 2).
    """


Spec = TypeVar("Spec")
#: One entry of ``ExperimentSpec.attacked_views``: a number k of views (the first k) or a list of indices.
ViewChoice = int | list[int]


def view_setting(choice: ViewChoice) -> tuple[int, str]:
    """(attacked_views, view_set) of an ``attacked_views`` entry: k -> (k, ""); [0, 2] -> (2, "0+2")."""
    if isinstance(choice, int):
        return choice, ""
    return len(choice), "+".join(str(i) for i in choice)


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _normalise_views(views: Any, kind: str) -> list[ViewChoice]:
    """``attacked_views`` checked and normalised (subsets sorted); :class:`AttackConfigError` naming it."""
    err = AttackConfigError
    if isinstance(views, (str, bytes)) or not isinstance(views, Sequence):
        raise err(f"{kind}: attacked_views must be a list of view counts or of view-index lists, "
                  f"got {views!r}")
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
class ExperimentSpec:
    """One experiment of the sweep; validated on construction (one :class:`AttackConfigError` per problem).

    Args:
        kind: one of :data:`KINDS`.
        attack: registered attack name(s) (default :data:`DEFAULT_ATTACKS` of the kind); targeted kinds
            need attacks that can aim at a target, untargeted kinds attacks that can ascend the loss.
        eps: budgets in pixels (0 = clean), each >= 0.
        iterations: attack iterations to report (0 = clean input).
        attacked_views: attacked views (``multiview``): each a number k >= 1 (the first k views) or a list
            of distinct 0-based view indices (``[0, 2]``: views 0 and 2; the others stay unchanged).
        target_cameras: target camera numbers (``camera_swap``), 1-based.
        angles: rotation angles in degrees (``rotation``).
        source_view: view index (0-based) of the attacked camera for ``camera_swap``.
        input_views: view indices (0-based) fed to monocular models (``untargeted``, ``rotation``).
        loss: attack loss, "mpjpe" (3D, mm) or "joints_2d" (2D joints, pixels; multi-view models).
        up: world vertical axis for ``rotation``.
    """

    kind: str
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
        err = AttackConfigError
        if self.kind not in KINDS:
            raise err(f"unknown experiment kind {self.kind!r}; expected one of {', '.join(EXPERIMENTS)}")
        kind = self.kind
        self.attacked_views = _normalise_views(self.attacked_views, kind)
        for name in ("eps", "iterations", "target_cameras", "input_views", "angles"):
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
        if not is_targeted(kind) and (self.iterations[-1] < 1 or max(self.eps) <= 0):
            raise err(f"{kind}: nothing to attack: iterations need a value in 1..{MAX_ITERATIONS} and eps "
                      f"a value in (0, {MAX_EPS:g}] px (0 alone is the clean row), got iterations "
                      f"{self.iterations}, eps {self.eps}")
        if any(not math.isfinite(a) for a in self.angles):
            raise err(f"{kind}: angles must be finite degrees, got {self.angles}")
        if (isinstance(self.up, (str, bytes)) or not isinstance(self.up, Sequence) or len(self.up) != 3
                or not all(isinstance(u, numbers.Real) and not isinstance(u, bool) and math.isfinite(u)
                           for u in self.up) or not any(self.up)):
            raise err(f"{kind}: up must be a non-zero axis of 3 finite numbers, got {self.up!r}")
        self.attack = self._check_attacks(self.attack)
        try:
            get_loss(self.loss)
        except ValueError as e:
            raise err(f"{kind}: {e}") from None
        if is_targeted(kind) and get_loss(self.loss)[1] == "joints_2d":
            raise err(f"{kind}: targeted experiments need a 3D target, use loss 'mpjpe'")
        counts = [k for k in self.attacked_views if isinstance(k, int)]
        if kind == "multiview" and (not self.attacked_views or any(k < 1 for k in counts)):
            raise err(f"multiview: attacked views must be >= 1, got {self.attacked_views}")
        if kind == "camera_swap":
            if not self.target_cameras or any(k < 1 for k in self.target_cameras):
                raise err(f"camera_swap: target cameras are 1-based numbers >= 1, got {self.target_cameras}")
            if self.source_view < 0:
                raise err(f"camera_swap: source_view is a 0-based view index >= 0, got {self.source_view}")
        if any(v < 0 for v in self.input_views) or not self.input_views:
            raise err(f"{kind}: input_views are 0-based view indices >= 0, got {self.input_views}")
        if kind == "rotation" and not self.angles:
            raise err("rotation: angles must be a non-empty list of degrees")

    def _check_attacks(self, attack: Any) -> list[str]:
        """The attack names as a list, each registered and able to serve the kind's goal."""
        kind, targeted = self.kind, is_targeted(self.kind)
        names = (list(DEFAULT_ATTACKS[kind]) if attack is None
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
        plan = self.attack_plan(names)
        covered = {t for _, record in plan for t in record}
        missing = [t for t in self._attacked_iterations() if t not in covered]
        if missing:
            raise AttackConfigError(f"{kind}: iterations {missing} are run by none of the attacks {names} "
                                    "(fixed-step attacks run only their own step count)")
        return names

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | ExperimentSpec) -> ExperimentSpec:
        if isinstance(cfg, ExperimentSpec) or getattr(cfg, "kind", None) == CORRUPTION_EXPERIMENT:
            return cfg  # type: ignore[return-value]
        if not isinstance(cfg, Mapping) or "kind" not in cfg:
            raise AttackConfigError(f"each experiment must be a mapping with a 'kind' "
                                    f"({', '.join(EXPERIMENTS)}), got {cfg!r}")
        if cfg["kind"] == CORRUPTION_EXPERIMENT:
            from poselab.evaluation.corruption import CorruptionExperiment

            return CorruptionExperiment.from_config(cfg)  # type: ignore[return-value]
        return from_options(cls, cfg)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def targeted(self) -> bool:
        return is_targeted(self.kind)

    def applies_to(self, multiview: bool) -> bool:
        """Whether the experiment is defined for a (multi-view or monocular) model."""
        if self.kind in ("untargeted", "camera_swap"):
            return not multiview
        if self.kind == "multiview":
            return multiview
        return True

    # --------------------------------------------------------------------------------- attack plan
    def _attacked_iterations(self) -> list[int]:
        """Iteration counts that need an attack run (untargeted: iteration 0 is the clean row)."""
        return [t for t in self.iterations if self.targeted or t > 0]

    def attack_plan(self, names: Sequence[str] | None = None) -> list[tuple[str, list[int]]]:
        """(attack name, recorded iteration counts) per attack that has work: a fixed-step attack records
        its own step count, the iterative attacks every other count."""
        names = self.attack if names is None else names
        assert isinstance(names, list | tuple)
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

    # --------------------------------------------------------------------------------- cells
    def single_views(self, multiview: bool, num_views: int) -> int:
        """attacked_views of the non-``multiview`` kinds: all views of a multi-view model, else 1."""
        return num_views if multiview else 1

    def target_names(self) -> list[str]:
        if self.kind == "camera_swap":
            return [f"cam{k}" for k in self.target_cameras]
        if self.kind == "rotation":
            return [f"rot{a:g}" for a in self.angles]
        return [""]

    def metric_names(self, multiview: bool) -> tuple[str, ...]:
        base: tuple[str, ...]
        if self.kind in ("untargeted", "multiview"):
            base = (MPJPE, PMPJPE)
        else:
            base = (TARGET_MPJPE, MPJPE)
        if self.kind == "multiview":
            base = (JDR, *base)
        return (*base, FAILED) if multiview else base

    def cells(self, multiview: bool, num_views: int) -> list[ResultKey]:
        """Every results row this experiment produces for a model on data with ``num_views`` views."""
        out: list[ResultKey] = []
        metrics = self.metric_names(multiview)
        if not self.targeted:
            out += [clean_key(self.kind, m) for m in metrics]
        views = self.attacked_views if self.kind == "multiview" else [self.single_views(multiview, num_views)]
        for choice in views:
            k, view_set = view_setting(choice)
            for target in self.target_names():
                for e in self.eps:
                    for it in self.iterations:
                        if clean_covers(self.kind, e, it):
                            continue
                        for attack in self.attacks_at(it):
                            out += [ResultKey(self.kind, attack, e, it, k, target, m, view_set=view_set)
                                    for m in (*metrics, *extra_metrics(attack, self.targeted, self.loss))]
        return out


def from_options(cls: type[Spec], cfg: Mapping[str, Any], what: str = "experiment") -> Spec:
    """``cls(**cfg)`` of a dataclass spec; :class:`AttackConfigError` naming unknown and known options."""
    known = set(cls.__dataclass_fields__)  # type: ignore[attr-defined]
    unknown = set(cfg) - known
    if unknown:
        raise AttackConfigError(f"unknown {what} option(s) {sorted(unknown)}; expected {sorted(known)}")
    return cls(**cfg)


def check_views(spec: ExperimentSpec, num_views: int, multiview: bool) -> None:
    """Raise :class:`AttackConfigError` when ``spec`` needs views that data of ``num_views`` lacks."""
    if spec.kind == CORRUPTION_EXPERIMENT:
        return spec.check_views(num_views, multiview)  # type: ignore[attr-defined]
    where = f"the test data has {num_views} view{'s' if num_views != 1 else ''}"
    if spec.kind == "multiview":
        bad = [v for v in spec.attacked_views if not isinstance(v, int) and max(v) >= num_views]
        if bad:
            raise AttackConfigError(f"multiview: view subset {bad[0]} has indices outside "
                                    f"0..{num_views - 1}, {where} (0-based)")
    if multiview or spec.kind == "multiview":
        need = 2
        if spec.kind == "multiview":  # k views need k; a subset needs its largest index + 1
            need = max(k if isinstance(k, int) else max(k) + 1 for k in spec.attacked_views)
        if num_views < need:
            what = (f"attacked views {spec.attacked_views} need" if spec.kind == "multiview"
                    else "multi-view models need")
            raise AttackConfigError(f"{spec.kind}: {what} {need} views, but {where}")
    else:
        views = [spec.source_view] if spec.kind == "camera_swap" else spec.input_views
        if max(views) >= num_views:
            name = "source_view" if spec.kind == "camera_swap" else "input_views"
            raise AttackConfigError(f"{spec.kind}: {name} {views} out of range, {where} (indices 0.."
                                    f"{num_views - 1})")
    if spec.kind == "camera_swap" and max(spec.target_cameras) > num_views:
        raise AttackConfigError(f"camera_swap: target cameras {spec.target_cameras} out of range, {where} "
                                f"(cameras 1..{num_views})")


def experiments_from_config(cfgs: Sequence[Mapping[str, Any] | ExperimentSpec]) -> list[ExperimentSpec]:
    """Validated specs from a YAML-style list of dicts."""
    if not cfgs:
        raise AttackConfigError("at least one experiment is required")
    return [ExperimentSpec.from_config(c) for c in cfgs]
