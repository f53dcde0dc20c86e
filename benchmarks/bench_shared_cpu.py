"""An attack workload alone and beside a CPU-bound neighbour, with and without poselab's OpenMP wait policy.

Usage::

    python benchmarks/bench_shared_cpu.py [--repeats 3] [--threads 2] [--samples 16] [--steps 10]

The workload is IGSM-U (ε = 8 px, ``--steps`` steps) on the shipped regression checkpoint over ``--samples``
synthetic 64 px test views at ``--threads`` torch threads (the attack configs' default 2), each run in a
fresh process. Each variant runs alone and beside one busy-looping Python process (the neighbour), the
runs interleaved, and the median wall time of ``--repeats`` runs is reported with busy / alone. Variants:
``passive`` (poselab's default, ``OMP_WAIT_POLICY=PASSIVE``) and ``libgomp default`` (the variable set
empty: OpenMP threads spin before they sleep). The load average before and after is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
VARIANTS = {"passive (poselab default)": "PASSIVE", "libgomp default": ""}


def worker(threads: int, samples: int, steps: int) -> None:
    """One timed attack in this process; prints {"wall": s, "cpu": s} as JSON."""
    import torch

    from poselab.attacks import IGSMU
    from poselab.data.config import DEFAULT_DATA_CONFIGS, build_dataset
    from poselab.models import load_model
    from poselab.paths import checkpoint_path

    torch.set_num_threads(threads)
    model = load_model(checkpoint_path("regression"))
    ds = build_dataset(DEFAULT_DATA_CONFIGS, {"image_size": 64, "test_size": samples}, "test")
    batch = torch.utils.data.default_collate([ds[i] for i in range(samples)])
    images = batch["images"][:, :1].float()
    target = model.pose_target(batch)[:, :1]
    attack = IGSMU(eps=8, steps=steps)
    fn = lambda x: model(x, batch)["pose"]  # noqa: E731
    attack(fn, images[:2], target[:2])  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    attack(fn, images, target)
    print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))


def run_once(policy: str, busy: bool, args: argparse.Namespace) -> float:
    env = {**os.environ, "OMP_WAIT_POLICY": policy, "PYTHONPATH": str(HERE.parents[1])}
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        out = subprocess.run([sys.executable, str(HERE), "--worker", "--threads", str(args.threads),
                              "--samples", str(args.samples), "--steps", str(args.steps)],
                             env=env, capture_output=True, text=True, check=True).stdout
    finally:
        if neighbour is not None:
            neighbour.kill()
            neighbour.wait()
    return json.loads(out.strip().splitlines()[-1])["wall"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args.threads, args.samples, args.steps)
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {os.cpu_count()} CPUs; "
          f"{args.threads} torch threads, {args.samples} samples, {args.steps} steps")
    times: dict[tuple[str, bool], list[float]] = {(v, b): [] for v in VARIANTS for b in (False, True)}
    for _ in range(args.repeats):
        for variant, policy in VARIANTS.items():
            for busy in (False, True):
                times[variant, busy].append(run_once(policy, busy, args))
    print("\n| OpenMP wait policy | alone (s) | beside a busy process (s) | busy / alone |")
    print("|---|---:|---:|---:|")
    for variant in VARIANTS:
        alone, busy = (statistics.median(times[variant, b]) for b in (False, True))
        print(f"| {variant} | {alone:.2f} | {busy:.2f} | {busy / alone:.2f}x |")
    print(f"\nload average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
