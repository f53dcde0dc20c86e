"""Plain vs adversarial training of one model kind: train both the same way, attack both, compare.

Trains two copies of a model (same seed, data, steps), the second with
:class:`~poselab.training.adversarial.AdversarialTraining`, then runs the untargeted
:class:`~poselab.evaluation.callback.AttackEvaluation` on each. The results folders
``<out>/<model>_plain`` and ``<out>/<model>_adv`` feed ``poselab report``, whose
"clean vs robust error" table is the comparison line. Command line::

    python -m studies.adv_compare.compare --model regression --init checkpoints/regression.ckpt \\
        --steps 400 --eps 4 --out results/adv_compare

(without ``--init`` both models train from scratch with ``--model-args``.)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from poselab.data.config import DEFAULT_DATA_CONFIGS, build_dataset
from poselab.evaluation.callback import AttackEvaluation
from poselab.evaluation.tools import add_data_arguments
from poselab.training.adversarial import AdversarialTraining


def quiet_trainer(**options: Any) -> pl.Trainer:
    """A ``pl.Trainer`` without logger, checkpoints or model summary; ``options`` as ``pl.Trainer``'s."""
    return pl.Trainer(logger=False, enable_checkpointing=False, enable_model_summary=False, **options)


def train(
    model: pl.LightningModule,
    loader: DataLoader,
    steps: int,
    callbacks: Sequence[pl.Callback] = (),
    progress: bool = False,
) -> pl.LightningModule:
    """Fit ``model`` for ``steps`` optimiser steps on CPU/GPU (no logger, no checkpoints); eval mode after."""
    trainer = quiet_trainer(max_steps=steps, callbacks=list(callbacks), enable_progress_bar=progress,
                            num_sanity_val_steps=0, limit_val_batches=0, deterministic=False)
    trainer.fit(model.train(), loader)
    return model.eval()


def attack(
    model: pl.LightningModule,
    loader: DataLoader,
    out: Path,
    run_name: str,
    model_name: str,
    dataset: str,
    eps: Sequence[float],
    iterations: Sequence[int],
    max_batches: int,
) -> Path:
    """Untargeted AttackEvaluation on ``model``; returns the results folder ``out/run_name``."""
    cb = AttackEvaluation(
        [{"kind": "untargeted", "eps": [0, *eps], "iterations": list(iterations)}],
        out_dir=str(out),
        run_name=run_name,
        model_name=model_name,
        dataset_name=dataset,
        max_batches=max_batches,
        print_tables=False,
        examples=0,
    )
    trainer = quiet_trainer(callbacks=[cb], enable_progress_bar=False, limit_test_batches=max_batches)
    trainer.test(model, dataloaders=loader, verbose=False)
    return out / run_name


def compare(
    make_model: Callable[[], pl.LightningModule],
    train_loader: DataLoader,
    test_loader: DataLoader,
    out: str | Path,
    *,
    name: str,
    dataset: str,
    steps: int = 300,
    adv: dict[str, Any] | None = None,
    eps: Sequence[float] = (2.0, 8.0),
    iterations: Sequence[int] = (1, 10),
    max_batches: int = 2,
    seed: int = 0,
    progress: bool = False,
) -> tuple[Path, Path]:
    """Train plainly and adversarially (``adv``: AdversarialTraining kwargs), attack both; the two folders."""
    out = Path(out)
    folders = []
    for kind, callbacks in (("plain", []), ("adv", [AdversarialTraining(**(adv or {}))])):
        pl.seed_everything(seed, workers=True, verbose=False)
        if progress:
            print(f"== {name}: {kind} training, {steps} steps", flush=True)
        model = train(make_model(), train_loader, steps, callbacks, progress)
        folders.append(
            attack(model, test_loader, out, f"{name}_{kind}", name, dataset, eps, iterations, max_batches)
        )
    return folders[0], folders[1]


def main(argv: Sequence[str] | None = None) -> int:
    from poselab._alloc import configure_allocator

    configure_allocator()  # glibc thresholds for CPU attack sweeps (POSELAB_MALLOPT=0 disables)
    p = argparse.ArgumentParser(
        prog="python -m studies.adv_compare.compare", description=__doc__.split("\n")[0]
    )
    p.add_argument("--model", required=True, help="registry name: regression, volumetric, heatmap_depth, ...")
    p.add_argument("--model-args", default="{}", help="JSON kwargs of the model class")
    p.add_argument(
        "--init",
        default=None,
        help="start both runs from this poselab checkpoint (fine-tuning; e.g. checkpoints/regression.ckpt) "
        "instead of from scratch; --model-args is then ignored",
    )
    add_data_arguments(p, "JSON overrides of the training data")
    p.add_argument(
        "--test-data-args", default=None, help="JSON overrides of the test data (default: --data-args)"
    )
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the model's own)")
    p.add_argument("--dataset-name", default="synthetic")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--eps", type=float, default=4.0, help="adversarial training eps (px)")
    p.add_argument("--adv-steps", type=int, default=3)
    p.add_argument("--fraction", type=float, default=0.5)
    p.add_argument("--attack-eps", default="2,8", help="comma-separated test eps (px)")
    p.add_argument("--attack-iterations", default="1,10")
    p.add_argument("--max-batches", type=int, default=2)
    p.add_argument("--out", default="results/adv_compare")
    args = p.parse_args(argv)

    from poselab.models import get_model_class, load_model

    specs = args.data or list(DEFAULT_DATA_CONFIGS)
    try:
        cls = get_model_class(args.model)
        model_args = json.loads(args.model_args)
        if args.init:
            load_model(args.init, expected_model=args.model)  # fail now, not after the first training

            def make_model() -> pl.LightningModule:
                model = load_model(args.init, expected_model=args.model)
                if args.lr is not None:
                    model.lr = args.lr
                return model
        else:

            def make_model() -> pl.LightningModule:
                return cls(**({"lr": args.lr} if args.lr is not None else {}), **model_args)

        train_set = build_dataset(specs, json.loads(args.data_args), "train")
        test_set = build_dataset(specs, json.loads(args.test_data_args or args.data_args), "test")
    except (KeyError, ValueError, ImportError, AttributeError, TypeError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    torch.set_num_threads(max(1, torch.get_num_threads()))
    plain, adv = compare(
        make_model,
        DataLoader(train_set, batch_size=args.batch_size, shuffle=True),
        DataLoader(test_set, batch_size=args.batch_size, shuffle=False),
        args.out,
        name=args.model,
        dataset=args.dataset_name,
        steps=args.steps,
        adv={"eps": args.eps, "steps": args.adv_steps, "fraction": args.fraction},
        eps=[float(e) for e in args.attack_eps.split(",")],
        iterations=[int(i) for i in args.attack_iterations.split(",")],
        max_batches=args.max_batches,
        progress=True,
    )
    print(f"wrote {plain} and {adv}; compare with: poselab report {args.out} --out reports/adv_compare")
    return 0


if __name__ == "__main__":
    sys.exit(main())
