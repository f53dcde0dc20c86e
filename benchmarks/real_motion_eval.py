"""Clean accuracy of checkpoints on procedural vs real (CMU motion capture) test poses.

Usage::

    nice -n 5 python benchmarks/real_motion_eval.py [--model regression ...] \
        [--out docs/results/motion/accuracy.md]

Each checkpoint ``checkpoints/<model>.ckpt`` is tested twice on the same data config (the one the shipped
checkpoints were trained on: ``configs/data/synthetic.yaml`` + ``configs/trainer/cpu.yaml``, 64 px, test
subjects S9 and S11, 1024 samples x 4 views), once with ``motion: procedural`` and once with ``motion: cmu``;
prints (and writes, with ``--out``) a markdown table of MPJPE P1, P-MPJPE P2 (mm) and JDR.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

MODELS = ("regression", "volumetric", "heatmap_depth", "triangulation")
MOTIONS = ("procedural", "cmu")


def test_metrics(checkpoint: str | Path, motion: str, test_size: int) -> dict[str, float]:
    """``trainer.test`` metrics (``test/mpjpe`` ...) of a checkpoint on the shipped CPU data config."""
    import pytorch_lightning as pl

    from poselab.data.config import DEFAULT_DATA_CONFIGS, data_kwargs
    from poselab.data.datamodule import PoseDataModule
    from poselab.models import load_model

    model = load_model(checkpoint)
    dm = PoseDataModule(
        **{**data_kwargs(DEFAULT_DATA_CONFIGS), "motion": motion, "test_size": test_size, "num_workers": 1}
    )
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, logger=False, enable_progress_bar=False, enable_model_summary=False
    )
    (result,) = trainer.test(model, datamodule=dm, verbose=False)
    return {k.removeprefix("test/"): float(v) for k, v in result.items()}


def table(rows: dict[str, dict[str, dict[str, float]]], n: int) -> str:
    head = (
        "| model | procedural P1 | real P1 | procedural P2 | real P2 | procedural JDR | real JDR | "
        "P1 real / procedural |\n|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for model, by_motion in rows.items():
        p, c = by_motion["procedural"], by_motion["cmu"]
        jdr = [f"{m['jdr']:.3f}" if "jdr" in m else "-" for m in (p, c)]
        lines.append(
            f"| {model} | {p['mpjpe']:.1f} | {c['mpjpe']:.1f} | {p['pmpjpe']:.1f} | {c['pmpjpe']:.1f} | "
            f"{jdr[0]} | {jdr[1]} | {c['mpjpe'] / p['mpjpe']:.2f} |"
        )
    return f"{head}{chr(10).join(lines)}\n\n(mm; {n} test samples x 4 views each, S9 and S11)\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", action="append", choices=MODELS, help="default: all four")
    parser.add_argument("--checkpoints", default="checkpoints", help="folder of <model>.ckpt")
    parser.add_argument("--test-size", type=int, default=1024, help="test samples per motion")
    parser.add_argument("--out", default=None, help="also write the markdown table here")
    args = parser.parse_args(argv)
    rows: dict[str, dict[str, dict[str, float]]] = {}
    for model in args.model or MODELS:
        rows[model] = {}
        for motion in MOTIONS:
            start = time.perf_counter()
            rows[model][motion] = test_metrics(
                Path(args.checkpoints) / f"{model}.ckpt", motion, args.test_size
            )
            print(
                f"{model} {motion}: {rows[model][motion]} ({time.perf_counter() - start:.0f} s)", flush=True
            )
    text = table(rows, args.test_size)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
