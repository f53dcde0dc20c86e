"""Square attack (Andriushchenko et al. 2020), L-inf, 0..255 pixels: gradient-free random search on f = the
loss (targeted: minus the loss to the target). From ``P(x0 + eps * s)`` (s: a sign per view, channel, column)
each query adds ``2 eps * sign`` (a sign per view and channel) on a random square of area fraction
:data:`P_SCHEDULE` and keeps it where f rose. As AutoAttack (ported by torchattacks, which the tests compare
against), a query's window and signs are shared by the batch and drawn from a generator seeded with ``seed``
at every call; unlike it, the corner is drawn from 0..H-s, not 0..H-s-1 (which never searches the last row
and column); ``reach_border = False`` restores the reference draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from poselab.attacks.base import Attack, Ball, Observer, Output, PoseFn, detach_output
from poselab.attacks.best import BestIterate
from poselab.attacks.registry import register_attack

#: Query counts (of 10000, rescaled to the budget) after which the area fraction (``p_init`` first) halves.
P_SCHEDULE = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)


def _signs(shape: Sequence[int], generator: torch.Generator) -> Tensor:
    return torch.sign(2 * torch.rand(list(shape), generator=generator) - 1)


def _randint(high: int, generator: torch.Generator) -> int:
    return int((high * torch.rand([1], generator=generator)).long())


@register_attack
class Square(Attack):
    """Square attack, L-inf; ``steps``: queries after the initial one; ``p_init`` in (0, 1]: the first
    square's area fraction; ``seed``: when no ``generator`` is passed (``alpha``/``alpha_ratio`` ignored)."""

    name = "square"
    norm = "linf"
    reach_border = True

    def __init__(self, *args, p_init: float = 0.8, seed: int = 0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not 0 < p_init <= 1:
            raise ValueError(f"p_init must lie in (0, 1], got {p_init}")
        self.p_init, self.seed = float(p_init), int(seed)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(eps={self.eps}, queries={self.steps}, p_init={self.p_init}, "
                f"seed={self.seed}, targeted={self.targeted}, loss={self.loss_name!r})")

    def objective(self, out: Output, reference: Tensor) -> Tensor:
        """Per-sample value maximised (N,): the loss, or minus the loss for targeted attacks."""
        loss = self.loss_fn(self.select(out), reference)
        return -loss if self.targeted else loss

    def search(self, fn: PoseFn, ball: Ball, reference: Tensor, mask: Tensor | None, record: set[int],
               signed_alpha: Tensor, observer: Observer | None, generator: torch.Generator | None) -> Tensor:
        """The best point per sample after ``steps`` queries."""
        if generator is None:
            generator = torch.Generator().manual_seed(self.seed)
        x0 = ball.x0
        n, v, c, h, w = x0.shape
        dev, dtype = x0.device, x0.dtype
        two_eps = 2 * ball.eps.reshape(n, 1, 1, 1)
        with torch.no_grad():
            if 0 in record and observer is not None:
                observer(0, x0, detach_output(fn(x0)))
            stripes = _signs([n, v * c, 1, w], generator).to(dev, dtype).reshape(n, v, c, 1, w)
            x = self.project(ball, x0 + ball.eps * stripes, mask)
            out = detach_output(fn(x))
            best = BestIterate(x, self.objective(out, reference), out)
            for q in range(self.steps):
                p = self.p_init / 2 ** sum(int(q / self.steps * 10000) > b for b in P_SCHEDULE)
                s = max(int(round(math.sqrt(p * h * w))), 1)
                edge = int(self.reach_border)
                vh, vw = _randint(h - s + edge, generator), _randint(w - s + edge, generator)
                signs = _signs([v * c, 1, 1], generator).to(dev, dtype)
                x_new = best.x.reshape(n, v * c, h, w).clone()
                x_new[:, :, vh : vh + s, vw : vw + s] += two_eps * signs
                x_new = self.project(ball, x_new.reshape(x0.shape), mask)
                out = detach_output(fn(x_new))
                best.update(x_new, self.objective(out, reference), out)
                if q + 1 in record and observer is not None:
                    observer(q + 1, best.x, best.out)
        return best.x
