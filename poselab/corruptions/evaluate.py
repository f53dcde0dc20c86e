"""Standalone corruption evaluation of pose checkpoints (independent of the attack engine).

Every model sees the same corrupted pixels: each test batch is corrupted once per (corruption,
severity) on all views, deterministically per (seed, sample, camera); monocular models are fed view
``--view`` (camera 1 by default, as the attack sweeps), multi-view models all views, of which
``--corrupted-views one`` corrupts only ``--view`` ("one camera corrupted"). Writes a CSV with one row
per (model, corruption, severity) (clean: corruption "clean", severity 0), columns :data:`COLUMNS`, and
prints the mCE tables against ``--baseline``. Command line::

    python -m poselab.corruptions.evaluate --model regression --model volumetric --model heatmap_depth \
        --model triangulation --samples 128 --out results/corruptions/corruptions.csv

(``--model NAME`` loads ``checkpoints/NAME.ckpt``, ``NAME=PATH.ckpt`` any poselab checkpoint; data:
``--data`` YAML configs, default the 64 px synthetic test split of the shipped checkpoints.)
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from poselab.corruptions.base import SEVERITIES
from poselab.corruptions.mce import summarise
from poselab.corruptions.registry import CORRUPTION_NAMES, corrupt, get_corruption
from poselab.data.sample import select_views
from poselab.metrics import JDR, MPJPE, PMPJPE

COLUMNS = ("model", "dataset", "corruption", "severity", "corrupted_views", "mpjpe", "pmpjpe", "jdr",
           "failed", "n")


class _Cell:
    """Metric accumulators of one (model, corruption, severity)."""

    def __init__(self) -> None:
        self.mpjpe, self.pmpjpe, self.jdr = MPJPE(), PMPJPE(), JDR()
        self.has_2d = False
        self.failed = 0
        self.n = 0

    def update(self, out: Mapping[str, torch.Tensor], truth: torch.Tensor, gt_2d: torch.Tensor,
               image_size: int) -> None:
        pose, valid = out["pose"], out.get("valid")
        self.mpjpe.update(pose, truth, valid)
        self.pmpjpe.update(pose, truth, valid)
        if out.get("joints_2d") is not None:
            self.has_2d = True
            self.jdr.update(out["joints_2d"], gt_2d.float(), image_size=image_size)  # qiu2019 head size
        ok = torch.isfinite(pose).flatten(1).all(dim=1)
        if valid is not None:
            ok = ok & valid.reshape(valid.shape[0], -1).all(dim=1)
        self.failed += int((~ok).sum())
        self.n += pose.shape[0]

    def values(self) -> dict[str, Any]:
        return {"mpjpe": float(self.mpjpe.compute()), "pmpjpe": float(self.pmpjpe.compute()),
                "jdr": float(self.jdr.compute()) if self.has_2d else "", "failed": self.failed, "n": self.n}


def evaluate_corruptions(
    models: Mapping[str, nn.Module],
    batches: Iterable[Mapping[str, Any]],
    corruptions: Sequence[str] = CORRUPTION_NAMES,
    severities: Sequence[int] = SEVERITIES,
    *,
    seed: int = 0,
    view: int = 0,
    corrupted_views: str = "all",
    dataset: str = "",
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Rows (COLUMNS) of every model on the clean and corrupted batches.

    Args:
        models: name -> pose model (eval mode), monocular or multi-view (``multiview`` attribute).
        batches: collated multi-view sample dicts (``images`` (B, V, 3, H, W) uint8 or float 0..255).
        corrupted_views: "all" views, or "one": only ``view`` (multi-view models then see the other
            cameras clean; monocular models always see ``view`` corrupted).
    """
    if corrupted_views not in ("all", "one"):
        raise ValueError(f"corrupted_views must be 'all' or 'one', got {corrupted_views!r}")
    for name in corruptions:
        get_corruption(name)
    settings = [("clean", 0)] + [(c, s) for c in corruptions for s in severities]
    cells = {(m, c, s): _Cell() for m in models for c, s in settings}
    batches = list(batches)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(batches) * len(settings), desc="corruptions (batch x setting)")
    num_views = 0
    with torch.no_grad():
        for batch in batches:
            images = batch["images"].float()
            num_views = images.shape[1]
            mask = None
            if corrupted_views == "one":
                mask = torch.arange(num_views) == view
            for c, s in settings:
                x = images if c == "clean" else corrupt(
                    images, c, s, seed=seed, samples=batch["index"], views=batch["camera_ids"],
                    joints_2d=batch["joints_2d"].float(), view_mask=mask)
                for name, model in models.items():
                    sub = dict(batch) if getattr(model, "multiview", False) else select_views(batch, [view])
                    xs = x if getattr(model, "multiview", False) else x[:, view:view + 1]
                    out = model(xs, sub)
                    cells[(name, c, s)].update(out, model.pose_target(sub), sub["joints_2d"], xs.shape[-1])
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    rows = []
    for (m, c, s), cell in cells.items():
        multiview = getattr(models[m], "multiview", False)
        k = 0 if c == "clean" else (num_views if multiview and corrupted_views == "all" else 1)
        rows.append({"model": m, "dataset": dataset, "corruption": c, "severity": s, "corrupted_views": k,
                     **cell.values()})
    return rows


def write_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Write rows (COLUMNS, floats with 4 decimals) to ``path`` atomically (the results writer)."""
    from poselab.results.files import write_csv as write_rows

    return write_rows(path, [{k: (f"{r[k]:.4f}" if isinstance(r[k], float) else r[k]) for k in COLUMNS}
                             for r in rows], COLUMNS)


def read_csv(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a CSV written by :func:`write_csv` (numbers parsed; empty JDR stays "")."""
    with Path(path).open(newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["severity"] = int(r["severity"])
        for k in ("mpjpe", "pmpjpe", "jdr"):
            r[k] = float(r[k]) if r[k] != "" else ""
    return rows


def summary_markdown(rows: Sequence[Mapping[str, Any]], baseline: str,
                     metrics: Sequence[str] = ("mpjpe", "pmpjpe", "jdr")) -> str:
    """Markdown tables: per metric, each model's clean error, mean error per corruption over severities,
    mCE and relative mCE against ``baseline`` (1 - JDR for JDR) over all corruptions, and mCE over the
    noise family and over the other corruptions (when the rows hold both)."""
    parts = []
    for metric in metrics:
        have = [r for r in rows if r[metric] != ""]
        base = baseline if any(r["model"] == baseline for r in have) else (have[0]["model"] if have else None)
        if base is None:
            continue
        table = summarise(have, base, metric)
        names = [k.removeprefix("mean_") for k in table[0] if k.startswith("mean_")]
        noise = [n for n in names if get_corruption(n).family == "noise"]
        other = [n for n in names if n not in noise]
        groups = {"mCE noise": noise, "mCE other": other} if noise and other else {}
        by_group = {g: {r["model"]: r["mce"] for r in summarise(have, base, metric, sub)}
                    for g, sub in groups.items()}
        unit = "1 - JDR" if metric == "jdr" else f"{metric.upper()} mm"
        parts.append(f"{unit}, mean over severities; mCE / relative mCE vs {base}\n")
        parts.append(("| model | clean | " + " | ".join(names) + " | mCE | rel. mCE | "
                      + "".join(f"{g} | " for g in groups)).rstrip())
        parts.append("|---" * (len(names) + 4 + len(groups)) + "|")
        fmt = "{:.3f}" if metric == "jdr" else "{:.1f}"
        for r in table:
            vals = [fmt.format(r["clean"])] + [fmt.format(r[f"mean_{n}"]) for n in names]
            parts.append((f"| {r['model']} | " + " | ".join(vals)
                          + f" | {r['mce']:.3f} | {r['relative_mce']:.3f} | "
                          + "".join(f"{by_group[g][r['model']]:.3f} | " for g in groups)).rstrip())
        parts.append("")
    return "\n".join(parts)


def _load_model(spec: str) -> tuple[str, nn.Module]:
    from poselab.models import load_model
    from poselab.paths import checkpoint_path

    name, sep, path = spec.partition("=")
    if not name:
        raise ValueError(f"--model expects NAME or NAME=CKPT, got {spec!r}")
    return name, load_model(path if sep else checkpoint_path(name),
                            expected_model=None if sep else name)


def _int_list(text: str, what: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{what} must be comma-separated integers, got {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    from poselab.data.config import DEFAULT_DATA_CONFIGS, build_dataset, data_kwargs

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
    p.add_argument("--corrupted-views", choices=("all", "one"), default="all")
    p.add_argument("--baseline", default=None, help="model of the mCE denominator (default: the first)")
    p.add_argument("--out", default="results/corruptions/corruptions.csv")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args(argv)
    try:
        corruptions = CORRUPTION_NAMES if args.corruptions == "all" else [
            c.strip() for c in args.corruptions.split(",") if c.strip()]
        for c in corruptions:
            get_corruption(c)
        severities = _int_list(args.severities, "--severities")
        if not severities or any(s not in SEVERITIES for s in severities):
            raise ValueError(f"--severities must lie in 1..5, got {args.severities!r}")
        if args.samples < 1 or args.batch_size < 1:
            raise ValueError("--samples and --batch-size must be >= 1")
        overrides = {"test_size": args.samples, **json.loads(args.data_args)}
        configs = args.data or list(DEFAULT_DATA_CONFIGS)
        dataset_name = str({**data_kwargs(configs), **overrides}.get("dataset", ""))
        dataset = build_dataset(configs, overrides, "test")
        models = dict(_load_model(s) for s in args.model)
        if args.baseline is not None and args.baseline not in models:
            raise ValueError(f"--baseline {args.baseline!r} is not one of the models ({', '.join(models)})")
    except (ValueError, KeyError, OSError, TypeError, json.JSONDecodeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=False)
    rows = evaluate_corruptions(models, loader, corruptions, severities, seed=args.seed, view=args.view,
                                corrupted_views=args.corrupted_views, dataset=dataset_name, progress=True)
    path = write_csv(rows, args.out)
    summary = summary_markdown(rows, args.baseline or next(iter(models)))
    Path(path).with_suffix(".md").write_text(summary)
    print(summary)
    print(f"wrote {path} and {Path(path).with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
