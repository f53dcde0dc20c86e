"""Common base of the gradient-sign attacks (torchattacks-like, but for pose regression).

An attack knows nothing of models: it sees a differentiable function ``fn`` from images
(N, V, 3, H, W) float in 0..255 to a pose tensor or a dict of outputs (``output_key`` picks the
one the loss reads). Each step is

    x_{t+1} = clip_{[0, 255]}( clip_{x0 ± eps}( x_t + s * alpha * sign(grad_x L(fn(x_t), ref)) ) )

with s = +1 (untargeted: ascend the loss to the ground truth) or s = -1 (targeted: descend the loss
to a target). ``eps`` (pixels) may differ per sample, which is what the eps-batched sweep uses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from poselab.attacks.losses import get_loss

Output = Tensor | Mapping[str, Tensor]
PoseFn = Callable[[Tensor], Output]
#: Called as ``observer(t, x_t, output_t)`` at the recorded iteration counts t (outputs detached).
Observer = Callable[[int, Tensor, Output], None]


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
    """Gradients on (also inside Lightning's inference mode), ``module`` in eval mode with frozen weights.

    Restores the module's training flag and each parameter's ``requires_grad`` afterwards. Tensors made
    under inference mode must be cloned inside this context before they enter autograd
    (see :func:`clone_tensors`).
    """
    saved_flags: list[tuple[nn.Parameter, bool]] = []
    was_training = module.training if module is not None else False
    with torch.inference_mode(False), torch.enable_grad():
        try:
            if module is not None:
                module.eval()
                for p in module.parameters():
                    saved_flags.append((p, p.requires_grad))
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


class Attack:
    """Iterative gradient-sign attack with an L-inf budget; subclasses fix steps and step size.

    Args:
        eps: default L-inf budget in pixels (0..255 scale), >= 0.
        steps: number of gradient steps, >= 1.
        alpha: step size in pixels; None -> ``alpha_ratio * eps`` (per sample).
        alpha_ratio: step size as a fraction of eps, > 0 (used when ``alpha`` is None).
        targeted: descend the loss to a target instead of ascending the loss to the ground truth.
        loss: name in :data:`poselab.attacks.losses.LOSSES` ("mpjpe" 3D mm, "joints_2d" pixels).
        output_key: key of the model output the loss reads when ``fn`` returns a dict
            (default: the loss's own key).
        random_start: start from a uniform sample in the eps-ball (PGD).
    """

    name = "attack"

    def __init__(
        self,
        eps: float = 8.0,
        steps: int = 10,
        alpha: float | None = None,
        alpha_ratio: float = 0.125,
        *,
        targeted: bool = False,
        loss: str = "mpjpe",
        output_key: str | None = None,
        random_start: bool = False,
    ) -> None:
        if eps < 0:
            raise ValueError(f"eps must be >= 0 pixels, got {eps}")
        if int(steps) != steps or steps < 1:
            raise ValueError(f"steps must be a positive integer, got {steps}")
        if alpha is not None and alpha <= 0:
            raise ValueError(f"alpha must be > 0 pixels, got {alpha}")
        if alpha_ratio <= 0:
            raise ValueError(f"alpha_ratio must be > 0, got {alpha_ratio}")
        self.eps = float(eps)
        self.steps = int(steps)
        self.alpha = alpha
        self.alpha_ratio = float(alpha_ratio)
        self.targeted = targeted
        self.loss_name = loss
        self.loss_fn, default_key = get_loss(loss)
        self.output_key = output_key or default_key
        self.random_start = random_start

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(eps={self.eps}, steps={self.steps}, alpha={self.alpha}, "
            f"alpha_ratio={self.alpha_ratio}, targeted={self.targeted}, loss={self.loss_name!r})"
        )

    def select(self, out: Output) -> Tensor:
        """The tensor the loss reads from a model output."""
        return out if isinstance(out, Tensor) else out[self.output_key]

    def gradient(self, fn: PoseFn, x: Tensor, reference: Tensor) -> tuple[Tensor, Output]:
        """Input gradient of the summed per-sample loss (NaN -> 0, +-inf -> +-max) and fn(x) detached."""
        x = x.detach().requires_grad_(True)
        out = fn(x)
        loss = self.loss_fn(self.select(out), reference)
        (grad,) = torch.autograd.grad(loss.sum(), x)
        return torch.nan_to_num_(grad, nan=0.0), detach_output(out)

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
        """Adversarial images, same shape as ``images``.

        Args:
            fn: differentiable images (N, V, 3, H, W) 0..255 -> pose tensor or dict of outputs.
            images: clean images (N, V, 3, H, W), float 0..255.
            reference: ground truth (untargeted) or target (targeted), shaped like the loss input.
            eps: budget in pixels, scalar or per sample (N,); default ``self.eps``.
            view_mask: bool (V,) or (N, V): views that may be changed; the others stay bit-identical.
            observer: called with ``(t, x_t, fn(x_t))`` for each t in ``record``.
            record: iteration counts 0..steps at which to call ``observer`` (default: only ``steps``).
        """
        if images.dim() != 5:
            raise ValueError(f"images must be (N, V, 3, H, W), got {tuple(images.shape)}")
        n, v = images.shape[:2]
        eps_t = per_sample(self.eps if eps is None else eps, n, images.dim(), images)
        if (eps_t < 0).any():
            raise ValueError("eps must be >= 0 pixels")
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
        sign = -1.0 if self.targeted else 1.0

        x0 = images.detach()
        # The eps-ball and the pixel range in one box (exact: x0 lies in 0..255), so that each step is
        # four element-wise kernels (nan_to_num, sign, addcmul, clamp): cheap next to fwd+bwd on a GPU.
        lower = (x0 - eps_t).clamp_(min=0.0)
        upper = (x0 + eps_t).clamp_(max=255.0)
        signed_alpha = alpha_t * sign
        x = x0
        if self.random_start:
            noise = torch.rand(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
            x = self._project(x0 + (2 * noise - 1) * eps_t, x0, lower, upper, mask)
        for t in range(self.steps):
            grad, out = self.gradient(fn, x, reference)
            if observer is not None and t in record_set:
                observer(t, x, out)
            x = self._project(torch.addcmul(x, grad.sign_(), signed_alpha), x0, lower, upper, mask)
        if observer is not None and self.steps in record_set:
            with torch.no_grad():
                observer(self.steps, x, detach_output(fn(x)))
        return x

    def step_size(self, alpha: Tensor, eps: Tensor) -> Tensor:
        """Per-sample step size (N, 1, ...); subclasses may override (FGSM: alpha = eps)."""
        return alpha

    @staticmethod
    def _project(x: Tensor, x0: Tensor, lower: Tensor, upper: Tensor, mask: Tensor | None) -> Tensor:
        """Clip ``x`` (a fresh tensor, modified in place) to the box ``lower..upper`` (the eps-ball within
        0..255); restore masked views."""
        x.clamp_(lower, upper)
        return x if mask is None else torch.where(mask, x, x0)
