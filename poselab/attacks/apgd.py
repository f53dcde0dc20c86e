"""APGD (Croce & Hein 2020, Alg. 1) for pose losses, L-inf or L2, in 0..255 pixel space, per sample on f =
the loss (targeted: minus the loss to the target), keeping the best iterate: step eta = 2 eps at first,
``z = P(x_k + eta sign(grad f))``, ``x_{k+1} = P(x_k + 0.75 (z - x_k) + 0.25 (x_k - x_{k-1}))`` (L2: the
unit-L2 gradient). At checkpoints a sample's step halves and it restarts from its best point when at most
75 % of the steps since the last one raised f, or when its step was not halved there and f did not improve.

Where AutoAttack's ``apgd-ce`` (ported by torchattacks, which the tests compare with) is more specific: the
intervals are int(0.22 N), shrinking by int(0.03 N), at least int(0.06 N), each >= 1; the first interval
counts its first step as an increase when f(x_1) > 0; after a restart the momentum term is (best point -
previous iterate). Outputs recorded at t < steps are the best point's among the first t steps.
"""

from __future__ import annotations

import torch
from torch import Tensor

from poselab.attacks.base import Attack, Ball, L2Ball, Observer, Output, PoseFn, detach_output
from poselab.attacks.best import BestIterate, where_rows
from poselab.attacks.registry import register_attack


def checkpoint_intervals(steps: int) -> tuple[int, int, int]:
    """(first interval, shrink per checkpoint, minimum interval) in iterations for an ``steps``-step run."""
    return max(int(0.22 * steps), 1), max(int(0.03 * steps), 1), max(int(0.06 * steps), 1)


@register_attack
class APGD(Attack):
    """Auto-PGD, ``steps`` per run (``alpha``/``alpha_ratio`` ignored); ``restarts`` >= 1 runs, the first from
    the clean images (or ``random_start``), the others from random starts (``seed`` without a ``generator``).
    """

    name = "apgd"
    rho = 0.75
    momentum = 0.75

    def __init__(self, *args, restarts: int = 1, seed: int = 0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if int(restarts) != restarts or restarts < 1:
            raise ValueError(f"restarts must be a positive integer, got {restarts}")
        self.restarts, self.seed = int(restarts), int(seed)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(eps={self.eps}, steps={self.steps}, norm={self.norm!r}, "
                f"restarts={self.restarts}, targeted={self.targeted}, loss={self.loss_name!r})")

    def random_point(self, ball: Ball, generator: torch.Generator | None) -> Tensor:
        """AutoAttack's random start: x0 + eps * t / ||t|| (t uniform in [-1, 1]^d for L-inf, Gaussian for L2;
        per sample; drawn on the CPU so that a seed gives the same start on every device)."""
        x0 = ball.x0
        if isinstance(ball, L2Ball):
            t = torch.randn(x0.shape, generator=generator, dtype=x0.dtype)
            norm = t.flatten(1).norm(dim=1) + 1e-12
        else:
            t = 2 * torch.rand(x0.shape, generator=generator, dtype=x0.dtype) - 1
            norm = t.flatten(1).abs().max(dim=1)[0]
        t = t / norm.reshape(-1, *([1] * (x0.dim() - 1)))
        return x0 + ball.eps * t.to(x0.device)

    def _grad(self, fn: PoseFn, x: Tensor, reference: Tensor) -> tuple[Tensor, Output, Tensor]:
        """(gradient of the objective, outputs, objective (N,): the loss, minus the loss when targeted)."""
        grad, out, loss = self.gradient(fn, x, reference)
        return (grad.neg_(), out, -loss) if self.targeted else (grad, out, loss)

    def run(self, fn: PoseFn, ball: Ball, x: Tensor, reference: Tensor, mask: Tensor | None,
            record: set[int]) -> tuple[BestIterate, dict[int, BestIterate]]:
        """One APGD run from ``x``: the best point per sample, and snapshots of it at the recorded counts."""
        grad, out, obj = self._grad(fn, x, reference)
        best = BestIterate(x, obj, out, grad.clone())  # (the step below takes the sign of grad in place)
        snaps = {0: BestIterate(x, obj, out)} if 0 in record else {}
        step = 2.0 * ball.eps
        x_old = x
        interval, shrink, min_interval = checkpoint_intervals(self.steps)
        since_check = 0
        history: list[Tensor] = []  # f(x_1), f(x_2), ...
        best_at_check = obj.clone()
        reduced_at_check = torch.ones_like(obj, dtype=torch.bool)
        for i in range(self.steps):
            z = self.project(ball, torch.addcmul(x, ball.direction(grad), step), mask)
            if i == 0:  # no momentum yet: x_1 = z
                x_old, x = x, z
            else:
                momentum_term = torch.sub(x, x_old).mul_(1 - self.momentum)
                x_new = z.sub_(x).mul_(self.momentum).add_(x).add_(momentum_term)
                x_old, x = x, self.project(ball, x_new, mask)
            grad, out, obj = self._grad(fn, x, reference)
            history.append(obj)
            best.update(x, obj, out, grad)
            if i + 1 in record:
                snaps[i + 1] = BestIterate(best.x, best.objective, best.out)
            since_check += 1
            if since_check == interval:
                window = history[i - interval + 1 : i + 1]
                before = [history[i - interval] if i >= interval else torch.zeros_like(obj), *window[:-1]]
                increases = sum((after > prev).to(obj.dtype) for after, prev in zip(window, before))
                oscillating = increases <= interval * self.rho
                no_progress = ~reduced_at_check & (best_at_check >= best.objective)
                reduce = oscillating | no_progress
                reduced_at_check, best_at_check = reduce, best.objective.clone()
                step = where_rows(reduce, step / 2, step)
                x = where_rows(reduce, best.x, x)
                grad = where_rows(reduce, best.grad, grad)
                since_check, interval = 0, max(interval - shrink, min_interval)
        return best, snaps

    def search(self, fn: PoseFn, ball: Ball, reference: Tensor, mask: Tensor | None, record: set[int],
               signed_alpha: Tensor, observer: Observer | None, generator: torch.Generator | None) -> Tensor:
        """The best point per sample over all restarts (``observer``: the best so far at each count)."""
        if generator is None:
            generator = torch.Generator().manual_seed(self.seed)
        best, snaps = self.run(fn, ball, self.init(ball, mask, generator), reference, mask, record)
        for _ in range(1, self.restarts):
            start = self.project(ball, self.random_point(ball, generator), mask)
            run_best, run_snaps = self.run(fn, ball, start, reference, mask, record)
            best.update(run_best.x, run_best.objective, run_best.out)
            for t, snap in run_snaps.items():
                snaps[t].update(snap.x, snap.objective, snap.out)
        if observer is not None:
            for t in sorted(snaps):
                observer(t, snaps[t].x, detach_output(snaps[t].out))
        return best.x


@register_attack
class APGDL2(APGD):
    """APGD with an L2 budget (eps: the L2 norm in pixels of the perturbation of a sample, all views)."""

    name = "apgd_l2"
    norm = "l2"
