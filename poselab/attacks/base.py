"""The attack base class: ``x_0 = init(x0); x_{t+1} = project(step(x_t, grad_x L(fn(x_t), ref)))`` in 0..255
pixel space, by default IGSM / BIM: step ``x + s * alpha * sign(grad)`` (s = +1 untargeted, -1 targeted;
``norm: l2``: the unit-L2 gradient), project ``clip_{[0, 255]}(clip_{x0 ± eps}(x))``, masked views restored.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from poselab.attacks.losses import get_loss

Output = Tensor | Mapping[str, Tensor]
PoseFn = Callable[[Tensor], Output]
#: Called as ``observer(t, x_t, output_t)`` at the recorded iteration counts t (outputs detached).
Observer = Callable[[int, Tensor, Output], None]


def _finite(value: Any) -> bool:
    """True for a finite real number (NaN and inf fail every range check written as a comparison)."""
    try:
        return not isinstance(value, bool) and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def detach_output(out: Output) -> Output:
    """Detached copy of a model output (tensor or dict of tensors; other values kept)."""
    if isinstance(out, Tensor):
        return out.detach()
    return {k: (v.detach() if isinstance(v, Tensor) else v) for k, v in out.items()}


def per_sample(value: float | Tensor, n: int, ndim: int, like: Tensor) -> Tensor:
    """Scalar or (N,) tensor -> (N, 1, ..., 1) with ``ndim`` dims total, on ``like``'s device/dtype."""
    value = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if value.dim() == 0:
        value = value.expand(n)
    if value.shape != (n,):
        raise ValueError(f"per-sample value must be a scalar or shaped ({n},), got {tuple(value.shape)}")
    return value.reshape(n, *([1] * (ndim - 1)))


@contextlib.contextmanager
def attack_mode(module: nn.Module | None = None) -> Iterator[None]:
    """Gradients on (also inside Lightning's inference mode), ``module`` in eval mode with frozen weights
    (both restored afterwards). Inference-mode tensors must be cloned first (:func:`clone_tensors`)."""
    saved_flags = [(p, p.requires_grad) for p in module.parameters()] if module is not None else []
    was_training = module.training if module is not None else False
    with torch.inference_mode(False), torch.enable_grad():
        try:
            if module is not None:
                module.eval()
            for p, _ in saved_flags:
                p.requires_grad_(False)
            yield
        finally:
            for p, flag in saved_flags:
                p.requires_grad_(flag)
            if module is not None:
                module.train(was_training)


def clone_tensors(batch: Mapping[str, Any]) -> dict[str, Any]:
    """Shallow copy of a batch dict with every tensor cloned (turns inference tensors into normal ones)."""
    return {k: (v.clone() if isinstance(v, Tensor) else v) for k, v in batch.items()}


class LinfBall:
    """The L-inf ball of radius ``eps`` (pixels, (N, 1, ..., 1)) around ``x0`` within the range 0..255."""

    def __init__(self, x0: Tensor, eps: Tensor) -> None:
        self.x0, self.eps = x0, eps
        # the eps-ball and the pixel range in one box (exact: x0 lies in 0..255)
        self.lower = (x0 - eps).clamp_(min=0.0)
        self.upper = (x0 + eps).clamp_(max=255.0)

    def direction(self, grad: Tensor) -> Tensor:
        """Steepest-ascent direction of unit L-inf norm: sign(grad) (computed in place)."""
        return grad.sign_()

    def random(self, generator: torch.Generator | None = None) -> Tensor:
        """A uniform sample of the ball (before :meth:`project`)."""
        noise = torch.rand(self.x0.shape, generator=generator, dtype=self.x0.dtype, device=self.x0.device)
        return self.x0 + (2 * noise - 1) * self.eps

    def project(self, x: Tensor) -> Tensor:
        """``x`` (a fresh tensor, modified in place) clipped into the ball and the pixel range."""
        return x.clamp_(self.lower, self.upper)


class L2Ball:
    """The L2 ball of radius ``eps`` (pixels, per sample over all views and channels) within 0..255."""

    def __init__(self, x0: Tensor, eps: Tensor) -> None:
        self.x0, self.eps = x0, eps

    @staticmethod
    def _norm(t: Tensor) -> Tensor:
        return t.flatten(1).norm(dim=1).reshape(-1, *([1] * (t.dim() - 1)))

    def direction(self, grad: Tensor) -> Tensor:
        """Steepest-ascent direction of unit L2 norm per sample (zero gradient -> zero step)."""
        return grad / self._norm(grad).clamp_min(1e-12)

    def random(self, generator: torch.Generator | None = None) -> Tensor:
        """A random point of the ball: a Gaussian direction scaled to a uniform radius in 0..eps."""
        x0 = self.x0
        noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
        radius = torch.rand((x0.shape[0],), generator=generator, dtype=x0.dtype, device=x0.device)
        return x0 + self.direction(noise) * radius.reshape(self.eps.shape) * self.eps

    def project(self, x: Tensor) -> Tensor:
        """``x`` pulled radially into the ball, then clipped to 0..255 (which only shortens the offset)."""
        delta = x - self.x0
        scale = (self.eps / self._norm(delta).clamp_min(1e-12)).clamp_(max=1.0)
        return (self.x0 + delta * scale).clamp_(0.0, 255.0)


#: Perturbation norms by name (``Attack.norm``).
NORMS: dict[str, type[LinfBall] | type[L2Ball]] = {"linf": LinfBall, "l2": L2Ball}
Ball = LinfBall | L2Ball


class Attack:
    """Iterative gradient attack in pixel space; subclasses set ``name`` (in ``results.csv``), maybe ``norm``
    (a key of :data:`NORMS`), ``fixed_steps`` (FGSM: 1), ``goal`` (True / False: targeted / untargeted only)
    and ``passes_per_step`` (model passes per image and step at most), and override hooks. ``eps``, ``alpha``:
    pixels (0..255); ``alpha`` None: ``alpha_ratio * eps``; ``loss``: a key of ``losses.LOSSES``."""

    name: ClassVar[str] = "attack"
    norm: ClassVar[str] = "linf"
    fixed_steps: ClassVar[int | None] = None
    goal: ClassVar[bool | None] = None
    passes_per_step: ClassVar[int] = 1

    def __init__(
        self,
        eps: float = 8.0,
        steps: int | None = None,
        alpha: float | None = None,
        alpha_ratio: float = 0.125,
        *,
        targeted: bool | None = None,
        loss: str = "mpjpe",
        random_start: bool = False,
    ) -> None:
        steps = (self.fixed_steps or 10) if steps is None else steps
        if not _finite(eps) or eps < 0:
            raise ValueError(f"eps must be a finite number >= 0 pixels, got {eps!r}")
        if not _finite(steps) or int(steps) != steps or steps < 1:
            raise ValueError(f"steps must be a positive integer, got {steps}")
        if self.fixed_steps is not None and steps != self.fixed_steps:
            raise ValueError(f"{self.name} runs exactly {self.fixed_steps} step(s), got steps={steps}")
        if alpha is not None and (not _finite(alpha) or alpha <= 0):
            raise ValueError(f"alpha must be a finite number > 0 pixels, got {alpha!r}")
        if not _finite(alpha_ratio) or alpha_ratio <= 0:
            raise ValueError(f"alpha_ratio must be a finite number > 0, got {alpha_ratio!r}")
        if targeted is not None and self.goal is not None and targeted != self.goal:
            raise ValueError(f"{self.name} is {'a targeted' if self.goal else 'an untargeted'} attack")
        if self.norm not in NORMS:
            raise ValueError(f"{type(self).__name__}.norm must be one of {sorted(NORMS)}, got {self.norm!r}")
        self.eps = float(eps)
        self.steps = int(steps)
        self.alpha = alpha
        self.alpha_ratio = float(alpha_ratio)
        self.targeted = bool(self.goal if targeted is None else targeted)
        self.loss_name = loss
        self.loss_fn, self.output_key = get_loss(loss)
        self.random_start = random_start

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(eps={self.eps}, steps={self.steps}, alpha={self.alpha}, "
            f"alpha_ratio={self.alpha_ratio}, targeted={self.targeted}, loss={self.loss_name!r})"
        )

    def step_size(self, alpha: Tensor, eps: Tensor) -> Tensor:
        """Per-sample step size (N, 1, ...) in pixels; FGSM overrides it (alpha = eps)."""
        return alpha

    def random_point(self, ball: Ball, generator: torch.Generator | None) -> Tensor:
        """A random point of the ball (not yet projected): the random start."""
        return ball.random(generator)

    def init(self, ball: Ball, mask: Tensor | None, generator: torch.Generator | None) -> Tensor:
        """The starting point: the clean images, or a random point of the ball (``random_start``)."""
        if not self.random_start:
            return ball.x0
        return self.project(ball, self.random_point(ball, generator), mask)

    def step(self, ball: Ball, x: Tensor, grad: Tensor, signed_alpha: Tensor) -> Tensor:
        """``x + signed_alpha * direction(grad)`` before projection (a fresh tensor; ``grad`` may change)."""
        return torch.addcmul(x, ball.direction(grad), signed_alpha)

    def project(self, ball: Ball, x: Tensor, mask: Tensor | None) -> Tensor:
        """``x`` into the ball and the pixel range; views outside ``mask`` (N, V, 1, 1, 1) restored."""
        x = ball.project(x)
        return x if mask is None else torch.where(mask, x, ball.x0)

    def select(self, out: Output) -> Tensor:
        """The tensor the loss reads from a model output."""
        return out if isinstance(out, Tensor) else out[self.output_key]

    def gradient(self, fn: PoseFn, x: Tensor, reference: Tensor) -> tuple[Tensor, Output, Tensor]:
        """Input gradient of the summed per-sample loss (NaN -> 0, +-inf -> +-max), fn(x) detached and the
        per-sample loss (N,) detached, from one forward and one backward pass."""
        x = x.detach().requires_grad_(True)
        out = fn(x)
        loss = self.loss_fn(self.select(out), reference)
        (grad,) = torch.autograd.grad(loss.sum(), x)
        return torch.nan_to_num_(grad, nan=0.0), detach_output(out), loss.detach()

    def prepare(self, images: Tensor, eps: float | Tensor | None, view_mask: Tensor | Sequence[bool] | None,
                record: Sequence[int] | None) -> tuple[Ball, Tensor | None, set[int], Tensor]:
        """Checked call arguments: (the eps-ball around ``images``, view mask (N, V, 1, 1, 1) or None, the
        recorded iteration counts, the signed per-sample step size (N, 1, ...) in pixels)."""
        if images.dim() != 5:
            raise ValueError(f"images must be (N, V, 3, H, W), got {tuple(images.shape)}")
        n, v = images.shape[:2]
        eps_t = per_sample(self.eps if eps is None else eps, n, images.dim(), images)
        if ((eps_t < 0) | ~torch.isfinite(eps_t)).any():  # one device sync
            raise ValueError("eps must be finite and >= 0 pixels")
        alpha_t = (
            per_sample(self.alpha, n, images.dim(), images) if self.alpha is not None
            else self.alpha_ratio * eps_t
        )
        alpha_t = self.step_size(alpha_t, eps_t)
        mask = None
        if view_mask is not None:
            mask = torch.as_tensor(view_mask, dtype=torch.bool, device=images.device)
            if mask.shape not in ((v,), (n, v)):
                raise ValueError(f"view_mask must be ({v},) or ({n}, {v}), got {tuple(mask.shape)}")
            mask = mask.expand(n, v).reshape(n, v, 1, 1, 1)
        record_set = {self.steps} if record is None else set(int(r) for r in record)
        if any(r < 0 or r > self.steps for r in record_set):
            raise ValueError(f"record iterations must lie in 0..{self.steps}, got {sorted(record_set)}")
        signed_alpha = alpha_t * (-1.0 if self.targeted else 1.0)
        return NORMS[self.norm](images.detach(), eps_t), mask, record_set, signed_alpha

    def __call__(
        self,
        fn: PoseFn,
        images: Tensor,
        reference: Tensor,
        *,
        eps: float | Tensor | None = None,
        view_mask: Tensor | Sequence[bool] | None = None,
        observer: Observer | None = None,
        record: Sequence[int] | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Adversarial images like ``images`` (N, V, 3, H, W) float 0..255; ``eps``: px, scalar or (N,);
        ``view_mask``: bool (V,) or (N, V), the views that may change (the others stay bit-identical);
        ``observer(t, x_t, fn(x_t))`` is called at each t in ``record`` (0..steps, default: steps)."""
        ball, mask, record_set, signed_alpha = self.prepare(images, eps, view_mask, record)
        return self.search(fn, ball, reference, mask, record_set, signed_alpha, observer, generator)

    def search(self, fn: PoseFn, ball: Ball, reference: Tensor, mask: Tensor | None, record: set[int],
               signed_alpha: Tensor, observer: Observer | None, generator: torch.Generator | None) -> Tensor:
        """The attack on checked arguments (:meth:`prepare`): ``steps`` hook iterations from ``init``."""
        x = self.init(ball, mask, generator)
        for t in range(self.steps):
            grad, out, _ = self.gradient(fn, x, reference)
            if observer is not None and t in record:
                observer(t, x, out)
            x = self.project(ball, self.step(ball, x, grad, signed_alpha), mask)
        if observer is not None and self.steps in record:
            with torch.no_grad():
                observer(self.steps, x, detach_output(fn(x)))
        return x
