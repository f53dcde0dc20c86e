"""The worst case per sample over several attacks run with the same budget (AutoAttack-style, no cascade):
the highest loss to the ground truth, or the lowest to the target. Outputs also carry :data:`WINNER_KEY` (N,)
and, untargeted on 3D poses, the per-sample worst pose by P-MPJPE (``pose@pmpjpe``, :func:`worst_key`)."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from poselab.attacks.base import Attack, Ball, Observer, Output, PoseFn, detach_output
from poselab.attacks.best import gather_rows
from poselab.attacks.losses import get_loss
from poselab.attacks.registry import get_attack, register_attack

#: Output key of the index (N,) of the member that was worst per sample (by the experiment's loss).
WINNER_KEY = "worst_member"
#: Metrics that get their own per-sample worst case besides the experiment's loss (untargeted, 3D poses).
SECONDARY = ("pmpjpe",)


def worst_key(key: str, metric: str) -> str:
    """Output key of ``key`` (e.g. "pose", "valid", :data:`WINNER_KEY`) selected per sample by ``metric``."""
    return f"{key}@{metric}"


@dataclass(frozen=True)
class Member:
    """One attack of the ensemble: registered ``attack`` on ``loss``; ``steps_factor`` x the iterations."""

    attack: str
    loss: str
    steps_factor: int = 1

    def label(self, primary_loss: str) -> str:
        """Name in the results: the attack, plus its loss where it differs from the experiment's."""
        return self.attack if self.loss == primary_loss else f"{self.attack}_{self.loss}"


def default_members(targeted: bool, loss: str, square_factor: int = 5) -> list[Member]:
    """APGD (experiment loss), APGD (3D poses only: P-MPJPE; targeted N-MPJPE, as P-MPJPE's rotation
    alignment would ignore a rotation target) and Square (experiment loss, ``square_factor`` queries/step)."""
    members = [Member("apgd", loss)]
    second = "nmpjpe" if targeted else "pmpjpe"
    if get_loss(loss)[1] == "pose" and loss != second:
        members.append(Member("apgd", second))
    members.append(Member("square", loss, square_factor))
    return members


def member_labels(targeted: bool, loss: str) -> list[str]:
    """Results labels of the default members, in order."""
    return [m.label(loss) for m in default_members(targeted, loss)]


@register_attack
class Ensemble(Attack):
    """Per-sample worst case over :func:`default_members` (or ``members``); ``steps``: the gradient members'
    iterations (Square: ``square_factor`` x as many queries); ``alpha``/``alpha_ratio`` ignored."""

    name = "ensemble"
    passes_per_step = 7  # the default members: two APGD runs and Square's 5 forward passes per step

    def __init__(self, *args, members: Sequence[Member] | None = None, square_factor: int = 5,
                 seed: int = 0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(square_factor, bool) or not isinstance(square_factor, int) or square_factor < 1:
            raise ValueError(f"square_factor must be an integer >= 1 (queries per iteration), "
                             f"got {square_factor!r}")
        self.members = list(members) if members is not None else default_members(
            self.targeted, self.loss_name, square_factor)
        if not self.members:
            raise ValueError("members must list at least one attack (None: the default members)")
        for m in self.members:
            if (not isinstance(m, Member) or isinstance(m.steps_factor, bool)
                    or not isinstance(m.steps_factor, int) or m.steps_factor < 1):
                raise ValueError(f"members must be Member(attack, loss, steps_factor >= 1), got {m!r}")
        self.labels = [m.label(self.loss_name) for m in self.members]
        self.attacks = []
        for m in self.members:
            cls = get_attack(m.attack)
            seeded = {"seed": seed} if "seed" in inspect.signature(cls.__init__).parameters else {}
            self.attacks.append(cls(eps=self.eps, steps=self.steps * m.steps_factor, targeted=self.targeted,
                                    loss=m.loss, **seeded))

    def __repr__(self) -> str:
        """The steps and, per member, how many of its own steps (Square: queries) one step is."""
        parts = [repr(a) + (f" [{m.steps_factor} per step]" if m.steps_factor != 1 else "")
                 for m, a in zip(self.members, self.attacks)]
        return f"Ensemble(steps={self.steps}: {', '.join(parts)})"

    def search(self, fn: PoseFn, ball: Ball, reference: Tensor, mask: Tensor | None, record: set[int],
               signed_alpha: Tensor, observer: Observer | None, generator: torch.Generator | None) -> Tensor:
        """Per-sample worst images; the observer's outputs also carry the members' indices."""
        images = ball.x0
        eps = ball.eps.flatten()
        view_mask = None if mask is None else mask.reshape(mask.shape[:2])
        seen: list[dict[int, tuple[Tensor, Output]]] = []
        for member, attack in zip(self.members, self.attacks):
            got: dict[int, tuple[Tensor, Output]] = {}

            def keep(t: int, x: Tensor, out: Output, got=got, factor=member.steps_factor) -> None:
                got[t // factor] = (x.detach(), detach_output(out))

            attack(fn, images, reference, eps=eps, view_mask=view_mask, observer=keep,
                   record=sorted({t * member.steps_factor for t in record | {self.steps}}),
                   generator=generator)
            seen.append(got)
        for t in sorted(record | {self.steps}):  # the last t is steps
            x_t, out_t = self.select_worst([got[t] for got in seen], reference)
            if observer is not None and t in record:
                observer(t, x_t, out_t)
        return x_t

    def select_worst(self, candidates: list[tuple[Tensor, Output]], reference: Tensor
                     ) -> tuple[Tensor, dict[str, Tensor]]:
        """The worst member's images and outputs per sample, the winner indices and secondary selections."""
        outs = [out if isinstance(out, dict) else {"output": out} for _, out in candidates]
        key = self.output_key if self.output_key in outs[0] else next(iter(outs[0]))
        sign = -1.0 if self.targeted else 1.0
        scores = torch.stack([sign * self.loss_fn(o[key], reference) for o in outs])  # (M, N)
        winner = scores.argmax(dim=0)
        selected = {k: gather_rows(winner, [o[k] for o in outs]) for k, v in outs[0].items()
                    if isinstance(v, Tensor) and v.dim() > 0 and v.shape[0] == len(winner)}
        selected[WINNER_KEY] = winner
        if not self.targeted and key == "pose" and reference.shape == outs[0]["pose"].shape:
            for metric in SECONDARY:
                loss_fn = get_loss(metric)[0]
                idx = torch.stack([loss_fn(o["pose"], reference) for o in outs]).argmax(dim=0)
                selected[worst_key(WINNER_KEY, metric)] = idx
                for k in ("pose", "valid"):
                    if k in selected:
                        selected[worst_key(k, metric)] = gather_rows(idx, [o[k] for o in outs])
        x = gather_rows(winner, [x for x, _ in candidates])
        return x, selected
