"""Standalone corruption evaluation of checkpoints: a command-line wrapper over the evaluation engine.

Runs the ``corruption`` experiment of the evaluation engine (:mod:`poselab.evaluation.corruption`: the
same cells, metrics and corrupted pixels as ``poselab test`` with ``kind: corruption``) on each model
without Lightning, writes one results folder per model, ``<out>/<model>-<dataset>/`` (``results.csv``,
``results.json``, ``per_joint.csv``, ``tables.md``: the callback's files, which ``poselab report``
reads), then the mCE tables of all models against ``--baseline`` (:mod:`poselab.reporting.corruption`)
to ``<out>/corruptions.md`` and the terminal. Command line::

    python -m poselab.corruptions.evaluate --model regression --model volumetric --model heatmap_depth \
        --model triangulation --samples 128 --out results/corruptions

(``--model NAME`` loads ``checkpoints/NAME.ckpt``, ``NAME=PATH.ckpt`` any poselab checkpoint; data:
``--data`` YAML configs, default the 64 px synthetic test split of the shipped checkpoints.)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import nn

from poselab.corruptions.registry import CORRUPTION_NAMES
from poselab.evaluation.cells import CellMetrics
from poselab.evaluation.corruption import CorruptionExperiment
from poselab.evaluation.runner import RunContext, run_experiment
from poselab.metrics import DEFAULT_JDR
from poselab.results.schema import JOINT, JOINT_MPJPE
from poselab.skeleton import JOINT_NAMES


def evaluate_model(model: nn.Module, batches: Iterable[Mapping[str, Any]], spec: CorruptionExperiment, *,
                   name: str, dataset: str = "", jdr_definition: str = DEFAULT_JDR
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Results rows and per-joint rows of ``model`` (eval mode) under ``spec`` on collated ``batches``
    (multi-view sample dicts), through the engine's cells and runner (one process)."""
    metrics: CellMetrics | None = None
    with torch.no_grad():
        for batch in batches:
            if metrics is None:
                multiview = bool(getattr(model, "multiview", False))
                metrics = CellMetrics([spec], multiview, batch["images"].shape[1], jdr_definition)
            run_experiment(spec, batch, RunContext(model=model, update=metrics.update))
    if metrics is None:
        raise ValueError("no test batch to evaluate")
    rows, joints = metrics.collect(None, 1, name, dataset)
    per_joint = [{**row, JOINT: j, JOINT_MPJPE: v}
                 for row, values in joints for j, v in zip(JOINT_NAMES, values.tolist())]
    return rows, per_joint


def _load_model(spec: str) -> tuple[str, nn.Module]:
    from poselab.models import load_model
    from poselab.paths import checkpoint_path

    name, sep, path = spec.partition("=")
    if not name:
        raise ValueError(f"--model expects NAME or NAME=CKPT, got {spec!r}")
    return name, load_model(path if sep else checkpoint_path(name),
                            expected_model=None if sep else name).eval()


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
    from poselab.reporting.corruption import mce_tables
    from poselab.reporting.run_report import write_run_report
    from poselab.results.files import write_results
    from poselab.results.reader import run_from_rows
    from poselab.safe_io import atomic_write

    p = argparse.ArgumentParser(prog="python -m poselab.corruptions.evaluate",
                                description=__doc__.split("\n")[0])
    p.add_argument("--model", action="append", required=True,
                   help="NAME (checkpoints/NAME.ckpt) or NAME=CKPT; repeat per model")
    p.add_argument("--data", action="append", default=None,
                   help="YAML data configs merged in order (default: "
                   + " + ".join(DEFAULT_DATA_CONFIGS) + ")")
    p.add_argument("--data-args", default="{}", help="JSON overrides of the data options")
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
        models = dict(_load_model(s) for s in args.model)
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
        rows, per_joint = evaluate_model(model, tqdm(loader, desc=f"corruptions: {name}"), spec, name=name,
                                         dataset=dataset_name)
        folder = Path(args.out) / f"{name}-{dataset_name}"
        meta = {"model": name, "dataset": dataset_name, "checkpoint": "", "created":
                datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "config": {"experiments": [spec.to_dict()], "jdr_definition": DEFAULT_JDR,
                           "samples": args.samples, "tool": "poselab.corruptions.evaluate"}}
        write_results(folder, rows, meta, per_joint)
        write_run_report(run_from_rows(rows, meta, per_joint, folder, name))
        all_rows += rows
    summary = "\n\n".join(t.to_markdown() for t in mce_tables(all_rows, args.baseline or next(iter(models))))
    path = atomic_write(Path(args.out) / "corruptions.md", summary + "\n")
    print(summary)
    print(f"wrote {len(models)} results folders under {args.out} and {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
