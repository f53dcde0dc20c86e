"""Clean test accuracy of a checkpoint: MPJPE P1/P2 (mm), JDR under every definition, failures.

Usage::

    python benchmarks/clean_accuracy.py checkpoints/triangulation.ckpt [--data configs/data/synthetic.yaml
        --data configs/trainer/cpu.yaml] [--batch-size 32] [--max-batches N]

Prints one JSON object: ``mpjpe``, ``pmpjpe`` (valid predictions only), ``jdr_<definition>`` for each
name of :data:`poselab.metrics.JDR_DEFINITIONS` (the checkpoint README quotes both), ``failed`` /
``total`` (samples with an invalid joint, e.g. a failed triangulation) and ``samples``. The data is that of
``poselab test`` with the same configs (the shipped checkpoints: 1024 synthetic test samples x 4 views).
"""

from __future__ import annotations

import argparse
import json
import sys

import torch
from torch.utils.data import DataLoader

from poselab.data.config import DEFAULT_DATA_CONFIGS, build_dataset
from poselab.metrics import JDR, JDR_DEFINITIONS, MPJPE, PMPJPE, FailureCount
from poselab.models import load_model


def clean_accuracy(model: torch.nn.Module, loader: DataLoader, max_batches: int | None = None) -> dict:
    """Accumulate the clean metrics of ``model`` over ``loader`` (see the module docstring)."""
    p1, p2, failed = MPJPE(), PMPJPE(), FailureCount()
    jdr = {name: JDR(definition=name) for name in JDR_DEFINITIONS}
    samples = 0
    with torch.no_grad():
        for i, batch in enumerate(loader):
            if max_batches is not None and i >= max_batches:
                break
            out = model(batch["images"].float(), batch)
            target = model.pose_target(batch)
            p1.update(out["pose"], target, out["valid"])
            p2.update(out["pose"], target, out["valid"])
            failed.update(out["valid"], out["pose"])
            if "joints_2d" in out:
                for metric in jdr.values():
                    metric.update(out["joints_2d"], batch["joints_2d"].float(), batch.get("view_valid"),
                                  image_size=batch["images"].shape[-1])
            samples += batch["images"].shape[0]
    result = {"mpjpe": float(p1.compute()), "pmpjpe": float(p2.compute())}
    result.update({f"jdr_{name}": float(m.compute()) for name, m in jdr.items() if m.count > 0})
    result.update({"failed": int(failed.failed), "total": int(failed.total), "samples": samples})
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--data", action="append",
                        help="data configs (default: the shipped checkpoints' data)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-batches", type=int, default=None)
    args = parser.parse_args(argv)
    dataset = build_dataset(args.data or list(DEFAULT_DATA_CONFIGS), {}, "test")
    model = load_model(args.checkpoint)
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=False)
    result = {"checkpoint": args.checkpoint, **clean_accuracy(model, loader, args.max_batches)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
