"""eps-batched sweeps: row ``r`` of one enlarged batch is sample ``r % B`` attacked with ``eps[r // B]``.
Losses are per sample and models in eval mode, so results equal separate runs however the rows are chunked.
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

_CPU_OOM = "DefaultCPUAllocator: can't allocate memory"


def is_out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is an out-of-memory error (CUDA, or the CPU allocator's)."""
    msg = str(err)
    return isinstance(err, torch.cuda.OutOfMemoryError) or (
        isinstance(err, RuntimeError) and ("out of memory" in msg or _CPU_OOM in msg))


class AutoBatch:
    """Adaptive chunk size ("memory permitting"): ``size`` is None (all rows at once) until an out-of-memory
    error halves it; sweeps sharing the instance start from the size that fitted."""

    def __init__(self) -> None:
        self.size: int | None = None
        self._reported: int | None = None

    def chunk(self, rows: int) -> int:
        """Rows to try for the next pass of a sweep with ``rows`` rows left."""
        return rows if self.size is None else min(rows, self.size)

    def shrink(self, tried: int, err: BaseException) -> None:
        """Halve after ``tried`` rows ran out of memory; re-raise ``err`` when even 1 row does not fit."""
        if tried <= 1:
            raise err
        self.size = tried // 2

    def settled(self) -> None:
        """Log the size once after a pass succeeded at a size reduced by out-of-memory errors."""
        if self.size is not None and self.size != self._reported:
            self._reported = self.size
            from pytorch_lightning.utilities import rank_zero_warn

            rank_zero_warn(f"attack sweep: out of memory with larger chunks, running {self.size} rows "
                           "(eps x targets x samples) per pass (max_batch: auto)")

    def __repr__(self) -> str:
        return f"AutoBatch(size={self.size})"


#: ``max_batch`` of :func:`eps_sweep`: rows per pass, or adaptive (None: a fresh :class:`AutoBatch`).
MaxBatch = int | AutoBatch | None


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


@dataclass
class SweepResult:
    """Outputs of an eps sweep: iteration count -> output key -> (E, B, ...) (key "output" if fn returns a
    tensor), and the final adversarial images (E, B, V, 3, H, W) if requested."""

    outputs: dict[int, dict[str, Tensor]] = field(default_factory=dict)
    adversarial: Tensor | None = None


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
    max_batch: MaxBatch = None,
    keep_images: bool = False,
) -> SweepResult:
    """Run ``attack`` for every eps (pixels, >= 0) on ``images`` (B, V, 3, H, W) float 0..255 of ``batch``,
    as one enlarged batch of E*B rows; outputs kept at the ``record`` counts (default ``attack.steps``).
    ``max_batch``: rows per pass, or adaptive (None, an :class:`AutoBatch`)."""
    eps_list = [float(e) for e in eps]
    if any(e < 0 for e in eps_list):
        raise ValueError(f"eps must be >= 0 pixels, got {eps_list}")
    auto = AutoBatch() if max_batch is None else max_batch if isinstance(max_batch, AutoBatch) else None
    if auto is None and (isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1):
        raise ValueError(f"max_batch must be an integer >= 1, None or an AutoBatch, got {max_batch!r}")
    record = [attack.steps] if record is None else sorted(set(int(r) for r in record))
    n_eps, b = len(eps_list), images.shape[0]
    total = n_eps * b
    eps_t = torch.tensor(eps_list, dtype=images.dtype, device=images.device)
    pieces: dict[int, list[dict[str, Tensor]]] = {t: [] for t in record}
    adv_pieces: list[Tensor] = []
    start = 0
    while start < total:
        chunk = auto.chunk(total - start) if auto is not None else min(max_batch, total - start)
        rows = torch.arange(start, start + chunk, device=images.device)
        try:
            outs, adv = _run_chunk(attack, make_fn, images, batch, reference, eps_t, rows, b, record,
                                   view_mask)
        except RuntimeError as err:  # torch.cuda.OutOfMemoryError is a RuntimeError
            if auto is None or not is_out_of_memory(err):
                raise
            auto.shrink(chunk, err)
            outs = None
        if outs is None:  # outside the except block: the traceback (and the tensors it holds) is gone
            if images.is_cuda:
                torch.cuda.empty_cache()
            continue
        if auto is not None:
            auto.settled()
        for t in record:
            pieces[t].append(outs[t])
        if keep_images:
            adv_pieces.append(adv)
        start += chunk
    result = SweepResult()
    for t, per_chunk in pieces.items():
        result.outputs[t] = {
            k: torch.cat([o[k] for o in per_chunk]).reshape(n_eps, b, *first.shape[1:])
            for k, first in per_chunk[0].items()
        }
    if keep_images:
        result.adversarial = torch.cat(adv_pieces).reshape(n_eps, b, *images.shape[1:])
    return result


def _run_chunk(attack: Attack, make_fn: MakeFn, images: Tensor, batch: Mapping[str, Any], reference: Tensor,
               eps_t: Tensor, rows: Tensor, b: int, record: Sequence[int], view_mask: Tensor | None
               ) -> tuple[dict[int, dict[str, Tensor]], Tensor]:
    """Attack rows ``rows`` of the enlarged batch; (recorded outputs per iteration, adversarial images)."""
    samples = rows % b
    fn = make_fn(index_batch(batch, samples, b))
    outs: dict[int, dict[str, Tensor]] = {}

    def observer(t: int, x: Tensor, out: Output) -> None:
        outs[t] = {"output": out} if isinstance(out, Tensor) else {
            k: v for k, v in out.items() if isinstance(v, Tensor)}

    adv = attack(
        fn,
        images.index_select(0, samples),
        reference.index_select(0, samples),
        eps=eps_t[rows // b],
        view_mask=view_mask,
        observer=observer,
        record=record,
    )
    return outs, adv.detach()
