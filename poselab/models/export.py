"""Weights-only checkpoints (:data:`KEPT_KEYS`) with floating-point tensors stored as fp16 or bf16 (recorded
under :data:`STORAGE_KEY`), loaded like any other checkpoint into the model's fp32 parameters:
``python -m poselab.models.export SRC DST [--storage bf16]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

from poselab.models.checkpoint import CheckpointError, read_checkpoint
from poselab.safe_io import atomic_path

STORAGE_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
KEPT_KEYS = ("state_dict", "hyper_parameters", "datamodule_hyper_parameters", "poselab_model",
             "pytorch-lightning_version", "hparams_name", "datamodule_hparams_name", "epoch", "global_step",
             "loops")
STORAGE_KEY = "poselab_storage_dtype"


def to_storage(state_dict: dict[str, torch.Tensor], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Floating-point tensors cast to ``dtype`` (contiguous clones), others unchanged; ValueError naming the
    first tensor with a finite value that ``dtype`` cannot hold (fp16 > 65504)."""
    finfo = torch.finfo(dtype)
    out = {}
    for key, value in state_dict.items():
        if value.is_floating_point():
            big = value.detach().float().abs()
            big = big[torch.isfinite(big)]
            if big.numel() and float(big.max()) > finfo.max:
                raise ValueError(f"state_dict[{key!r}] holds {float(big.max()):.3g}, beyond {dtype}'s range "
                                 f"({finfo.max:.3g}); export with bf16")
            value = value.detach().to(dtype).contiguous().clone()
        out[key] = value
    return out


def export_weights(src: str | Path, dst: str | Path, storage: str = "fp16",
                   max_mb: float | None = None) -> dict[str, Any]:
    """Write the weights-only 16-bit copy of poselab checkpoint ``src`` to ``dst``; returns what was saved.

    Raises:
        CheckpointError: ``src`` is missing or not a poselab checkpoint.
        ValueError: unknown ``storage`` (``fp16`` or ``bf16``), a value out of its range, or a file over
            ``max_mb`` MB (1e6 bytes; ``dst`` is then left as it was).
    """
    if storage not in STORAGE_DTYPES:
        raise ValueError(f"storage must be one of {', '.join(STORAGE_DTYPES)}, got {storage!r}")
    ckpt = read_checkpoint(src)
    out = {k: ckpt[k] for k in KEPT_KEYS if k in ckpt}
    out["state_dict"] = to_storage(ckpt["state_dict"], STORAGE_DTYPES[storage])
    out[STORAGE_KEY] = storage
    with atomic_path(dst) as tmp:  # never a half-written file under the final name
        torch.save(out, tmp)
        size_mb = tmp.stat().st_size / 1e6
        if max_mb is not None and size_mb > max_mb:  # raising leaves dst as it was
            raise ValueError(f"{dst} would be {size_mb:.1f} MB > --max-mb {max_mb:g} (not written)")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Export a poselab checkpoint as weights-only 16-bit storage.")
    p.add_argument("src", help="a poselab (Lightning) checkpoint, e.g. runs/r18-128/checkpoints/<model>.ckpt")
    p.add_argument("dst", help="the exported file, e.g. checkpoints/r18-128/regression.ckpt")
    p.add_argument("--storage", default="fp16", choices=sorted(STORAGE_DTYPES))
    p.add_argument("--max-mb", type=float, default=25.0, help="refuse larger files (MB = 1e6 bytes)")
    args = p.parse_args(argv)
    try:
        export_weights(args.src, args.dst, args.storage, max_mb=args.max_mb)
    except (CheckpointError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    size_mb = Path(args.dst).stat().st_size / 1e6
    print(f"{args.dst}: {size_mb:.1f} MB ({args.storage} weights, fp32 compute once loaded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
