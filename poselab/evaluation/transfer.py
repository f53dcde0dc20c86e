"""Transfer attacks: adversarial images crafted on model A (white-box), evaluated on model B.

Each ordered pair of monocular models (A, B) gets B's MPJPE on A's adversarial images minus B's clean MPJPE
(mm; A->A is the white-box result), written to ``transfer.csv`` for ``poselab report`` (``make transfer``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from poselab.attacks.base import Attack, attack_mode, clone_tensors
from poselab.data.config import DEFAULT_DATA_CONFIGS, build_dataset
from poselab.evaluation.tools import add_data_arguments, load_named_model
from poselab.metrics import MPJPE as MPJPEMetric
from poselab.paths import project_path
from poselab.reporting.transfer import transfer_tables
from poselab.results.files import write_transfer_csv


def craft(model: nn.Module, batch: Mapping[str, Any], attack: Attack) -> Tensor:
    """White-box adversarial images (B, V, 3, H, W) 0..255 against ``model`` (eval mode, frozen weights)."""
    with attack_mode(model):
        b = clone_tensors(batch)
        x = b["images"].float()
        return attack(lambda images: model(images, b)["pose"], x, model.pose_target(b)).detach()


def evaluate(model: nn.Module, batch: Mapping[str, Any], images: Tensor, metric: MPJPEMetric) -> None:
    """Update ``metric`` with ``model``'s root-aligned error (mm) on ``images`` (eval mode, no grad)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(images, batch)
            metric.update(out["pose"], model.pose_target(batch), out.get("valid"))
    finally:
        model.train(was_training)


def transfer_matrix(
    models: Mapping[str, nn.Module], batches: Iterable[Mapping[str, Any]], attack: Attack,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Rows (source, target, eps, iterations, clean_mpjpe, adv_mpjpe, increase, n) for every ordered pair of
    the monocular ``models`` (name -> model) on the same ``batches``; ``progress``: a bar per attack."""
    if len(models) < 1:
        raise ValueError("transfer_matrix needs at least one model")
    for name, m in models.items():
        if getattr(m, "multiview", False):
            raise ValueError(f"model {name!r} is multi-view; transfer attacks compare monocular models")
    batches = list(batches)
    if not batches:
        raise ValueError("transfer_matrix needs at least one batch")
    clean = {t: MPJPEMetric() for t in models}
    adv = {(s, t): MPJPEMetric() for s in models for t in models}
    n = 0
    from tqdm.auto import tqdm

    bar = tqdm(total=len(batches) * len(models), desc="transfer (batch x source model)", unit="attack",
               disable=not progress)
    for batch in batches:
        x = batch["images"].float()
        n += x.shape[0]
        for t, mt in models.items():
            evaluate(mt, batch, x, clean[t])
        for s, ms in models.items():
            x_adv = craft(ms, batch, attack)
            for t, mt in models.items():
                evaluate(mt, batch, x_adv, adv[(s, t)])
            bar.update(1)
    bar.close()
    rows = []
    for (s, t), metric in adv.items():
        c, a = float(clean[t].compute()), float(metric.compute())
        rows.append({"source": s, "target": t, "eps": attack.eps, "iterations": attack.steps,
                     "clean_mpjpe": c, "adv_mpjpe": a, "increase": a - c, "n": n})
    return rows


def _checked_views(args: argparse.Namespace) -> list[int]:
    """The views of ``--views``; ValueError naming the first bad command-line value and its valid range."""
    import math

    from poselab.experiments.adversarial import MAX_EPS, MAX_ITERATIONS

    if not (math.isfinite(args.eps) and 0 < args.eps <= MAX_EPS):
        raise ValueError(f"--eps must be a budget in (0, {MAX_EPS:g}] px, got {args.eps}")
    if not 1 <= args.steps <= MAX_ITERATIONS:
        raise ValueError(f"--steps must be an integer in 1..{MAX_ITERATIONS}, got {args.steps}")
    for name, value in (("--batch-size", args.batch_size), ("--batches", args.batches)):
        if value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value}")
    try:
        views = [int(v) for v in args.views.split(",")]
    except ValueError:
        views = []
    if not views or min(views) < 0:
        raise ValueError(f"--views must be comma-separated view indices (integers >= 0), got {args.views!r}")
    return views


def main(argv: Sequence[str] | None = None) -> int:
    from poselab._alloc import configure_allocator

    configure_allocator()  # glibc thresholds for CPU attack sweeps (POSELAB_MALLOPT=0 disables)
    parser = argparse.ArgumentParser(prog="python -m poselab.evaluation.transfer",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="append", required=True,
                        help="NAME (<--checkpoints>/NAME.ckpt), NAME=CKPT or NAME=CLASS[:CKPT]; repeat per "
                        "model")
    parser.add_argument("--checkpoints", default=str(project_path("checkpoints")),
                        help="folder of the NAME.ckpt files (default: %(default)s)")
    add_data_arguments(parser, 'JSON overrides, e.g. \'{"test_size": 64}\' (test split is used)')
    parser.add_argument("--views", default="0", help="comma-separated view indices fed to the models")
    parser.add_argument("--eps", type=float, default=8.0, help="L-inf budget (px, 0..255 scale)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--out", default="results/transfer", help="folder for transfer.csv")
    args = parser.parse_args(argv)
    try:
        views = _checked_views(args)
        models = {name: model for name, _, model in (load_named_model(s, args.checkpoints, classes=True)
                                                     for s in args.model)}
        dataset = build_dataset(args.data or DEFAULT_DATA_CONFIGS, json.loads(args.data_args), "test")
        num_views = dataset[0]["images"].shape[0]
        if any(not 0 <= v < num_views for v in views):
            raise ValueError(f"--views must be comma-separated view indices in 0..{num_views - 1}, got "
                             f"{args.views}")
    except (ValueError, KeyError, ImportError, AttributeError, OSError, TypeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from poselab.attacks.igsm import IGSMU
    from poselab.data.sample import select_views

    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=False)
    batches = [select_views(b, views) for b, _ in zip(loader, range(args.batches))]  # rendered once
    attack = IGSMU(eps=args.eps, steps=args.steps)
    rows = transfer_matrix(models, batches, attack, progress=True)
    path = write_transfer_csv(rows, Path(args.out) / "transfer.csv")
    for table in transfer_tables(rows):
        print(table.to_markdown())
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
