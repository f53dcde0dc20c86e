"""poselab's batched torch corruptions vs imagecorruptions' per-image numpy loop, on the same batch.

Usage::

    python benchmarks/bench_corruptions.py [--sizes 64 224] [--images 64] [--severity 3] [--repeats 5]
                                           [--threads 1] [--corruptions NAME ...] [--device cpu]

The batch is rendered synthetic test images (4 views per sample). For each corruption with a reference,
it times ``poselab.corruptions.corrupt`` on the whole float batch (on ``--device``) and the package's
public ``imagecorruptions.corrupt`` on each uint8 image in a Python loop, the two interleaved (one call of
each per repeat, after one warm-up call each), and prints the median milliseconds per batch and the
speed-up (reference / poselab) by process CPU time (robust to other jobs on a shared machine) and by wall
clock. poselab runs with ``reference_size=None`` here, i.e. with the package's pixel parameters at every
size, so both do the same work. ``--threads`` caps torch's and OpenCV's threads (default 1: a per-core
comparison; the reference is single-threaded). glibc's allocator is
tuned as in every poselab entry point (``poselab._alloc``; ``POSELAB_MALLOPT=0`` measures without).
The machine load (``os.getloadavg``) is printed. On a GPU (``--device cuda``) the wall-clock ratio is the
one that counts (the GPU work is not process CPU time; timings synchronise the device), and the batch is
moved to the device once, as in an evaluation where the images already live there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _args import add_run_options

from poselab._alloc import configure_allocator
from poselab.corruptions import CORRUPTIONS, corrupt


def render(size: int, images: int) -> torch.Tensor:
    """(images, 3, size, size) uint8 rendered synthetic test views."""
    from poselab.data.config import DEFAULT_DATA_CONFIGS, build_dataset

    n = -(-images // 4)
    ds = build_dataset(DEFAULT_DATA_CONFIGS, {"image_size": size, "test_size": n}, "test")
    return torch.cat([ds[i]["images"] for i in range(n)])[:images]


def timed(fn) -> tuple[float, float]:
    """(process CPU seconds, wall seconds) of one call of ``fn``."""
    c, w = time.process_time(), time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()  # GPU kernels are asynchronous: time them to the end
    return time.process_time() - c, time.perf_counter() - w


def interleaved(fns: list, repeats: int) -> list[tuple[float, float]]:
    """Median (CPU s, wall s) of each of ``fns``, called in turn ``repeats`` times after a warm-up call each
    (interleaving spreads a shared machine's load changes over all of them)."""
    for fn in fns:
        fn()
    runs: list[list[tuple[float, float]]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, runs):
            out.append(timed(fn))
    return [(statistics.median(c for c, _ in r), statistics.median(w for _, w in r)) for r in runs]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 224])
    p.add_argument("--images", type=int, default=64)
    p.add_argument("--severity", type=int, default=3)
    p.add_argument("--corruptions", nargs="+", default=None, help="names to time (default: all with a "
                   "reference)")
    add_run_options(p, threads=1)
    p.set_defaults(repeats=5)
    args = p.parse_args()
    import cv2

    status = configure_allocator()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test-only reference import
    from support.corruption_reference import load_reference

    ic = load_reference()
    names = [n for n, s in CORRUPTIONS.items()
             if s.reference and (not args.corruptions or n in args.corruptions)]
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; torch "
          f"{torch.__version__}, {args.threads} thread(s), device {args.device}, severity {args.severity}, "
          f"median of {args.repeats} interleaved repeats; {status}")
    for size in args.sizes:
        batch = render(size, args.images)
        x = batch.float().to(args.device)
        arrays = [img.permute(1, 2, 0).numpy().copy() for img in batch]
        print(f"\n{len(arrays)} images of {size} px\n")
        print("| corruption | poselab ms/batch (CPU) | imagecorruptions ms/batch (CPU) | speed-up CPU | "
              "speed-up wall |")
        print("|---|---:|---:|---:|---:|")
        ratios, wall_ratios = [], []
        np.random.seed(0)
        for name in names:
            def poselab_batch(name: str = name, x: torch.Tensor = x) -> torch.Tensor:
                return corrupt(x, name, args.severity, samples=range(len(x)), reference_size=None)

            def reference_loop(ref_name: str = CORRUPTIONS[name].reference, arrays: list = arrays) -> list:
                return [ic.corrupt(a, severity=args.severity, corruption_name=ref_name) for a in arrays]

            ours, ref = interleaved([poselab_batch, reference_loop], args.repeats)
            ratios.append(ref[0] / ours[0])
            wall_ratios.append(ref[1] / ours[1])
            print(f"| {name} | {1e3 * ours[0]:.1f} | {1e3 * ref[0]:.1f} | {ref[0] / ours[0]:.1f}x | "
                  f"{ref[1] / ours[1]:.1f}x |", flush=True)
        geo, geo_wall = (float(np.exp(np.mean(np.log(r)))) for r in (ratios, wall_ratios))
        print(f"\ngeometric mean speed-up at {size} px: {geo:.1f}x by CPU time, {geo_wall:.1f}x by wall "
              f"clock; lowest {min(ratios):.1f}x by CPU time"
              + (" (GPU: the wall-clock ratio counts)" if args.device != "cpu" else ""))
    print(f"\nload average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
