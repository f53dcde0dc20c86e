"""Training throughput (images/s) of a baseline: fp32 vs bf16-mixed + channels_last.

Usage (on a GPU machine; random tensors shaped like the sample contract, no data set needed)::

    python benchmarks/train_throughput.py --model volumetric --backbone resnet50 --size 256 --batch 64

Prints one line per setting and the speed-up ratio. On a CPU it runs, but says nothing about GPUs.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from poselab._alloc import configure_allocator
from poselab.models import get_model_class
from poselab.skeleton import NUM_JOINTS


def fake_batch(b: int, v: int, size: int, device: torch.device) -> dict:
    """Random images with a plausible camera (K of the crop) and a pose 4 m in front of it."""
    g = torch.Generator().manual_seed(0)
    K = torch.tensor([[size * 2.0, 0, size / 2], [0, size * 2.0, size / 2], [0, 0, 1]])
    cam = torch.randn(b, v, NUM_JOINTS, 3, generator=g) * 300 + torch.tensor([0.0, 0.0, 4000.0])
    uv = cam[..., :2] / cam[..., 2:] * K[0, 0] + size / 2
    batch = {
        "images": torch.randint(0, 256, (b, v, 3, size, size), dtype=torch.uint8, generator=g),
        "K": K.expand(b, v, 3, 3).clone(), "R": torch.eye(3).expand(b, v, 3, 3).clone(),
        "t": torch.zeros(b, v, 3), "dist": torch.zeros(b, v, 5), "joints_cam": cam, "joints_2d": uv,
        "joints_world": cam[:, 0],
    }
    if v > 1:  # distinct cameras around the subject for triangulation
        angles = torch.arange(v) * (2 * torch.pi / v)
        c, s = torch.cos(angles), torch.sin(angles)
        R = torch.zeros(v, 3, 3)
        R[:, 0, 0], R[:, 0, 2], R[:, 1, 1], R[:, 2, 0], R[:, 2, 2] = c, -s, 1, s, c
        batch["R"] = R.expand(b, v, 3, 3).clone()
        batch["t"] = torch.tensor([0.0, 0.0, 4000.0]).expand(b, v, 3).clone()
    return {k: t.to(device) for k, t in batch.items()}


def images_per_second(model, batch: dict, bf16: bool, steps: int, warmup: int = 3) -> float:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    device = batch["images"].device
    n = batch["images"].shape[0] * batch["images"].shape[1]
    for i in range(warmup + steps):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            out = model(batch["images"].float(), batch)
            loss, _ = model.loss(out, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n * steps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    configure_allocator()  # glibc thresholds (POSELAB_MALLOPT=0 disables)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="volumetric")
    p.add_argument("--backbone", default="resnet50")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--deconv-channels", type=int, default=None, help="heat-map models' deconv width")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--fp32-only", action="store_true", help="skip bf16-mixed (slow on most CPUs)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cls = get_model_class(args.model)
    views = 4 if cls.multiview else 1
    batch = fake_batch(max(args.batch // views, 1), views, args.size, device)
    results = {}
    extra = {} if args.deconv_channels is None else {"deconv_channels": args.deconv_channels}
    settings = (("fp32", False, False), ("bf16-mixed+channels_last", True, True))
    for label, bf16, channels_last in settings[:1] if args.fp32_only else settings:
        torch.manual_seed(0)
        model = cls(backbone=args.backbone, **extra).to(device).train()
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        results[label] = images_per_second(model, batch, bf16, args.steps)
        print(f"{args.model} {args.backbone} {args.size}px {device.type} {label}: "
              f"{results[label]:.1f} images/s")
    if not args.fp32_only:
        ratio = results["bf16-mixed+channels_last"] / results["fp32"]
        print(f"speed-up bf16-mixed+channels_last / fp32: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
