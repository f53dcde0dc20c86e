"""eps-batched sweeps: all eps values of a sweep run as one enlarged batch (chunked by ``max_batch``).

Row ``r`` of the enlarged batch is sample ``r % B`` attacked with ``eps[r // B]``. Losses are per
sample and models run in eval mode, so every row gets exactly the gradient it would get alone and
the result equals running each eps separately; the gain is fewer, larger forward/backward passes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from poselab.attacks.base import Attack, Output, PoseFn

#: Builds the attacked function for a (sub-)batch dict whose tensors have the rows of the chunk.
MakeFn = Callable[[Mapping[str, Any]], PoseFn]


def index_batch(batch: Mapping[str, Any], rows: Tensor, batch_size: int) -> dict[str, Any]:
    """Batch dict with rows ``rows`` of every tensor/list whose leading dim is ``batch_size``."""
    out: dict[str, Any] = {}
    for key, value in batch.items():
        if isinstance(value, Tensor) and value.dim() > 0 and value.shape[0] == batch_size:
            out[key] = value.index_select(0, rows.to(value.device))
        elif isinstance(value, list | tuple) and len(value) == batch_size:
            out[key] = [value[i] for i in rows.tolist()]
        else:
            out[key] = value
    return out


def repeat_batch(batch: Mapping[str, Any], times: int, batch_size: int) -> dict[str, Any]:
    """Batch dict repeated ``times`` along dim 0 (block-major: rows e*B..e*B+B-1 are copy e)."""
    rows = torch.arange(times * batch_size) % batch_size
    return index_batch(batch, rows, batch_size)


@dataclass
class SweepResult:
    """Outputs of an eps sweep.

    outputs: iteration count -> output key -> tensor (E, B, ...) (key "output" if fn returns a tensor).
    adversarial: final adversarial images (E, B, V, 3, H, W) if requested, else None.
    """

    eps: list[float]
    outputs: dict[int, dict[str, Tensor]] = field(default_factory=dict)
    adversarial: Tensor | None = None


def _as_dict(out: Output) -> dict[str, Tensor]:
    if isinstance(out, Tensor):
        return {"output": out}
    return {k: v for k, v in out.items() if isinstance(v, Tensor)}


def eps_sweep(
    attack: Attack,
    make_fn: MakeFn,
    images: Tensor,
    batch: Mapping[str, Any],
    reference: Tensor,
    eps: Sequence[float],
    *,
    record: Sequence[int] | None = None,
    view_mask: Tensor | None = None,
    max_batch: int | None = None,
    keep_images: bool = False,
) -> SweepResult:
    """Run ``attack`` for every eps in ``eps`` on the batch, as one enlarged batch of E*B rows.

    Args:
        attack: the attack (its ``steps`` is the largest iteration count).
        make_fn: batch dict -> differentiable images -> outputs function (see :data:`MakeFn`).
        images: clean images (B, V, 3, H, W) float 0..255.
        batch: the batch dict matching ``images`` (cameras etc.; tensors with leading dim B).
        reference: ground truth or target (B, ...).
        eps: budgets in pixels (each >= 0).
        record: iteration counts at which outputs are kept (default: ``attack.steps``).
        view_mask: bool (V,) views that may be perturbed.
        max_batch: largest number of rows per forward pass (None: all E*B rows at once).
        keep_images: also return the final adversarial images.
    """
    eps_list = [float(e) for e in eps]
    if any(e < 0 for e in eps_list):
        raise ValueError(f"eps must be >= 0 pixels, got {eps_list}")
    if max_batch is not None and max_batch < 1:
        raise ValueError(f"max_batch must be >= 1, got {max_batch}")
    record = [attack.steps] if record is None else sorted(set(int(r) for r in record))
    n_eps, b = len(eps_list), images.shape[0]
    total = n_eps * b
    chunk = total if max_batch is None else max_batch
    eps_t = torch.tensor(eps_list, dtype=images.dtype, device=images.device)
    pieces: dict[int, list[dict[str, Tensor]]] = {t: [] for t in record}
    adv_pieces: list[Tensor] = []
    for start in range(0, total, chunk):
        rows = torch.arange(start, min(start + chunk, total), device=images.device)
        samples = rows % b
        sub_batch = index_batch(batch, samples, b)
        fn = make_fn(sub_batch)

        def observer(t: int, x: Tensor, out: Output) -> None:
            pieces[t].append(_as_dict(out))

        adv = attack(
            fn,
            images.index_select(0, samples),
            reference.index_select(0, samples),
            eps=eps_t[rows // b],
            view_mask=view_mask,
            observer=observer,
            record=record,
        )
        if keep_images:
            adv_pieces.append(adv.detach())
    result = SweepResult(eps=eps_list)
    for t, outs in pieces.items():
        keys = outs[0].keys()
        result.outputs[t] = {
            k: torch.cat([o[k] for o in outs]).reshape(n_eps, b, *outs[0][k].shape[1:]) for k in keys
        }
    if keep_images:
        result.adversarial = torch.cat(adv_pieces).reshape(n_eps, b, *images.shape[1:])
    return result
