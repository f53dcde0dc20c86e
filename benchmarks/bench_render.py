"""Synthetic renderer throughput: four-view samples per second on ONE core (single process, 1 thread).

Usage::

    python benchmarks/bench_render.py [--samples 300] [--sizes 256 64] [--repeats 3]
    python benchmarks/bench_render.py --loader-workers 14 --sizes 256   # + the training DataLoader

Prints samples/s per core (per second of the process's CPU time, so a busy machine skews it less;
wall-clock rate alongside; medians of ``--repeats`` runs) and the ratio to the 250 samples/s target at
256 px (a DataLoader with ``num_workers=N`` scales about linearly with free cores). With
``--loader-workers N`` it also times the monocular training DataLoader (one random view per sample,
batches of 64) with N workers: images/s delivered, to set against a model's training images/s
(benchmarks/train_throughput.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from poselab._alloc import configure_allocator
from poselab.data.synthetic import TRAIN_SUBJECTS, SyntheticMultiView

TARGET = 250.0


def samples_per_second(image_size: int, n: int, seed: int = 0) -> tuple[float, float]:
    """(per CPU second of this process, per wall-clock second) rendering ``n`` four-view samples."""
    ds = SyntheticMultiView(subjects=TRAIN_SUBJECTS, size=n + 8, image_size=image_size, seed=seed)
    for i in range(8):  # warm-up: background textures, caches
        ds[n + i]
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(n):
        ds[i]
    return n / (time.process_time() - cpu), n / (time.perf_counter() - wall)


def loader_images_per_second(image_size: int, workers: int, batches: int = 60, batch: int = 64) -> float:
    """Wall-clock images/s of the monocular training DataLoader (first 10 batches not timed)."""
    from poselab.data.datamodule import PoseDataModule

    dm = PoseDataModule(image_size=image_size, batch_size=batch, num_workers=workers, train_random_view=True,
                        train_size=batch * (batches + 10))
    dm.setup("fit")
    it = iter(dm.train_dataloader())
    for _ in range(10):
        next(it)
    start = time.perf_counter()
    n = 0
    for _ in range(batches):
        n += next(it)["images"].shape[0]
    return n / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per size; the median is reported")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 64])
    parser.add_argument("--loader-workers", type=int, default=0,
                        help="also time the training DataLoader with this many workers")
    args = parser.parse_args(argv)
    status = configure_allocator()
    torch.set_num_threads(1)
    print(f"allocator: {status}; load average {os.getloadavg()[0]:.2f}")
    for size in args.sizes:
        runs = [samples_per_second(size, args.samples, seed=r) for r in range(args.repeats)]
        rate, wall = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        spread = f"{min(r[0] for r in runs):.1f}-{max(r[0] for r in runs):.1f}"
        print(f"{size:4d} px: {rate:7.1f} four-view samples/s per core (CPU time, median of {args.repeats}: "
              f"{spread}; {wall:.1f}/s wall clock) = {rate / TARGET:.2f}x the 250/s target")
        if args.loader_workers:
            ips = loader_images_per_second(size, args.loader_workers)
            print(f"{size:4d} px: training DataLoader, {args.loader_workers} workers: {ips:7.1f} images/s")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
