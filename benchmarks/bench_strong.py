"""Cost of the stronger attacks: ratios measured in one run, same model and batch.

(1) APGD step / IGSM step: time per iteration of ``APGD(steps=S)`` vs ``IGSMU(steps=S)`` (goal <= 1.1:
    APGD adds a momentum update, a second projection and best-iterate bookkeeping to the forward +
    backward pass both need), and per forward + backward pass (APGD makes S + 1 of them: it also evaluates
    its last iterate to keep the best point; IGSM makes S), which isolates the bookkeeping;
(2) the ensemble's cost: ``Ensemble(steps=S)`` (APGD + APGD on P-MPJPE + Square with 5 S queries) vs
    ``IGSMU(steps=S)``, and Square's S queries vs S IGSM steps.

Times are medians of --repeats interleaved calls after one warm-up call each; the load average is printed
with them (the machine may be shared).

Usage:
    python benchmarks/bench_strong.py                          # shipped regression checkpoint, 8 samples
    python benchmarks/bench_strong.py --model triangulation --batch 4 --steps 10
    python benchmarks/bench_strong.py --device cuda --batch 32
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch
from _args import add_run_options

from poselab.attacks import APGD, IGSMU, Ensemble, Square, attack_mode


def _load(model_name: str, batch: int, device: torch.device):
    from poselab.data.config import DEFAULT_DATA_CONFIGS, build_dataset
    from poselab.data.sample import select_views
    from poselab.models import load_model
    from poselab.paths import checkpoint_path

    model = load_model(checkpoint_path(model_name), model_name).to(device)
    ds = build_dataset(DEFAULT_DATA_CONFIGS, {"test_size": batch}, "test")
    b = next(iter(torch.utils.data.DataLoader(ds, batch_size=batch)))
    b = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in b.items()}
    sub = b if getattr(model, "multiview", False) else select_views(b, [0])
    return model, sub


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="regression", help="shipped checkpoint name (checkpoints/<model>.ckpt)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--eps", type=float, default=8.0)
    add_run_options(p, threads=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model, sub = _load(args.model, args.batch, device)
    images, gt = sub["images"].float(), model.pose_target(sub)
    fn = lambda x: model(x, sub)  # noqa: E731
    attacks = {
        "igsm": IGSMU(eps=args.eps, steps=args.steps),
        "apgd": APGD(eps=args.eps, steps=args.steps),
        "square": Square(eps=args.eps, steps=args.steps),
        "ensemble": Ensemble(eps=args.eps, steps=args.steps),
    }
    times: dict[str, list[float]] = {k: [] for k in attacks}
    with attack_mode(model):
        for attack in attacks.values():  # warm-up
            attack(fn, images, gt)
        for _ in range(args.repeats):
            for k, attack in attacks.items():
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                attack(fn, images, gt)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {
        "model": args.model, "batch": args.batch, "steps": args.steps, "device": args.device,
        "threads": args.threads, "loadavg_1min": os.getloadavg()[0],
        "seconds": {k: round(v, 3) for k, v in med.items()},
        "apgd_step_over_igsm_step": round(med["apgd"] / med["igsm"], 3),
        "apgd_pass_over_igsm_pass": round(med["apgd"] / (args.steps + 1) / (med["igsm"] / args.steps), 3),
        "square_query_over_igsm_step": round(med["square"] / med["igsm"], 3),
        "ensemble_over_igsm": round(med["ensemble"] / med["igsm"], 3),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
