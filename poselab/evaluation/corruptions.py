"""Standalone corruption evaluation of checkpoints: a command line over the evaluation engine.

The ``corruption`` experiment on each model without Lightning, each written as ``poselab test`` writes it
(``<out>/<model>-<dataset>/``), then the mCE tables against ``--baseline`` (``<out>/corruptions.md``;
docs/CORRUPTIONS.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from poselab.corruptions.registry import CORRUPTION_NAMES
from poselab.evaluation.output import finish_run
from poselab.evaluation.tools import add_data_arguments, load_named_model
from poselab.experiments.corruption import CorruptionExperiment
from poselab.experiments.evaluate import evaluate
from poselab.metrics import DEFAULT_JDR


def _list(text: str, what: str) -> list[Any]:
    """Comma-separated values, integers where they parse."""
    out: list[Any] = []
    for v in (v.strip() for v in text.split(",")):
        if v:
            out.append(int(v) if v.lstrip("-").isdigit() else v)
    if not out:
        raise ValueError(f"{what} is empty")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from poselab.data.config import DEFAULT_DATA_CONFIGS, build_dataset, data_kwargs
    from poselab.paths import project_path
    from poselab.reporting.corruption import mce_tables
    from poselab.safe_io import atomic_write
    from poselab.scale import model_scale

    p = argparse.ArgumentParser(prog="python -m poselab.evaluation.corruptions",
                                description=__doc__.split("\n")[0])
    p.add_argument("--model", action="append", required=True,
                   help="NAME (checkpoints/NAME.ckpt) or NAME=CKPT; repeat per model")
    add_data_arguments(p, "JSON overrides of the data options")
    p.add_argument("--corruptions", default="all", help="comma-separated names or 'all': "
                   + ", ".join(CORRUPTION_NAMES))
    p.add_argument("--severities", default="1,2,3,4,5")
    p.add_argument("--samples", type=int, default=64, help="test samples (first N of the test split)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0, help="corruption seed (per sample and camera)")
    p.add_argument("--view", type=int, default=0, help="view fed to monocular models (0-based)")
    p.add_argument("--corrupted-views", default="all",
                   help="multi-view models: comma-separated 'all', 'one' (the first view) or counts k "
                   "(the first k views)")
    p.add_argument("--baseline", default=None, help="model of the mCE denominator (default: the first)")
    p.add_argument("--out", default="results/corruptions", help="folder of the per-model results folders")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args(argv)
    try:
        spec = CorruptionExperiment(
            corruptions="all" if args.corruptions == "all" else _list(args.corruptions, "--corruptions"),
            severities=_list(args.severities, "--severities"), corrupted_views=_list(args.corrupted_views,
                                                                                     "--corrupted-views"),
            input_views=[args.view], seed=args.seed)
        if args.samples < 1 or args.batch_size < 1:
            raise ValueError("--samples and --batch-size must be >= 1")
        overrides = {"test_size": args.samples, **json.loads(args.data_args)}
        configs = args.data or list(DEFAULT_DATA_CONFIGS)
        dataset_name = str({**data_kwargs(configs), **overrides}.get("dataset", ""))
        dataset = build_dataset(configs, overrides, "test")
        names = [s.partition("=")[0] for s in args.model]
        if args.baseline is not None and args.baseline not in names:
            raise ValueError(f"--baseline {args.baseline!r} is not one of the models ({', '.join(names)})")
        loaded = [load_named_model(s, project_path("checkpoints")) for s in args.model]
        checkpoints = {name: path for name, path, _ in loaded}
        models = {name: model for name, _, model in loaded}
        for model in models.values():
            spec.check_views(len(dataset.views_of(0)), bool(getattr(model, "multiview", False)))
    except (ValueError, KeyError, OSError, TypeError, json.JSONDecodeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    from tqdm.auto import tqdm

    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=False)
    all_rows: list[dict[str, Any]] = []
    for name, model in models.items():
        samples: list = []
        rows, joints = evaluate(model, tqdm(loader, desc=f"corruptions: {name}"), [spec], name=name,
                                dataset=dataset_name, samples=samples)
        meta = {"model": name, "dataset": dataset_name,
                "scale": model_scale(model, dataset[0]["images"].shape[-1]), "checkpoint": checkpoints[name],
                "config": {"experiments": [spec.to_dict()], "jdr_definition": DEFAULT_JDR,
                           "samples": args.samples, "tool": "poselab.evaluation.corruptions"},
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        folder = Path(args.out) / f"{name}-{dataset_name}"
        error = finish_run(folder, rows, joints, meta, (), print_tables=False, samples=samples)
        if error is not None:
            raise error
        all_rows += rows
    summary = "\n\n".join(t.to_markdown() for t in mce_tables(all_rows, args.baseline or next(iter(models))))
    path = atomic_write(Path(args.out) / "corruptions.md", summary + "\n")
    print(summary)
    print(f"wrote {len(models)} results folders under {args.out} and {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
