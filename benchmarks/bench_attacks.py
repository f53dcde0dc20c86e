"""Attack benchmarks (not part of the test suite). Prints ratios measured in one run, same model and batch.

(1) time of one IGSM attack step / time of a bare forward + backward-to-input (goal <= 1.05);
(2) a full eps sweep (the paper's 8 eps x 1/10/100 iterations: FGSM + IGSM-U) eps-batched (one
    enlarged batch; the 10-iteration result is recorded inside the 100-iteration run) vs a per-eps loop in
    the style of torchattacks (one attack call per eps and per iteration count) (goal <= 1.0 on CPU,
    <= 0.5 on a GPU).

Usage:
    python benchmarks/bench_attacks.py                       # stand-in CNN, 64 px, CPU
    python benchmarks/bench_attacks.py --model regression    # a shipped checkpoint (checkpoints/<model>.ckpt)
    python benchmarks/bench_attacks.py --device cuda --batch 32 --size 128
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from poselab.attacks import FGSM, IGSMU, attack_mode, eps_sweep, mpjpe_loss

J = 17


class StandIn(nn.Module):
    """A small ResNet-like regressor images (N, V, 3, S, S) 0..255 -> poses (N, V, 17, 3) mm."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for c in (width, width * 2, width * 4, width * 4):
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.BatchNorm2d(c), nn.ReLU()]
            c_in = c
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, J * 3))
        self.multiview = False

    def forward(self, images: Tensor, batch: dict) -> dict:
        n, v = images.shape[:2]
        pose = self.body((images / 127.5 - 1).flatten(0, 1)).reshape(n, v, J, 3) * 100
        return {"pose": pose - pose[..., :1, :]}

    def pose_target(self, batch: dict) -> Tensor:
        return batch["target"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timeit(fns: list[Callable[[], object]], device: torch.device, repeats: int) -> list[float]:
    """Best-of-``repeats`` wall time of each function, measured interleaved (robust to a shared machine)."""
    for fn in fns:  # warm-up
        fn()
    _sync(device)
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            _sync(device)
            times[i].append(time.perf_counter() - t0)
    return [min(t) for t in times]


def load_model(
    name: str | None, device: torch.device, size: int, batch: int, backbone: str | None = None
) -> tuple[nn.Module, dict, Tensor]:
    if name is None:
        model = StandIn().to(device)
        images = torch.rand(batch, 1, 3, size, size, device=device) * 255
        data = {"target": torch.randn(batch, 1, J, 3, device=device) * 200}
        return model.eval(), data, images
    from poselab.data.datamodule import PoseDataModule
    from poselab.data.sample import select_views
    from poselab.models import MODELS
    from poselab.models import load_model as load_poselab_model

    ckpt = Path(f"checkpoints/{name}.ckpt")
    if backbone is not None:  # the real architecture (e.g. resnet50 at 256 px), untrained: same cost
        model = MODELS[name](backbone=backbone)
    elif ckpt.is_file():
        model = load_poselab_model(ckpt, expected_model=name)
    else:  # same architecture and cost as the CPU checkpoints, untrained
        print(f"note: {ckpt} not found, timing an untrained tiny {name} model")
        model = MODELS[name](backbone="tiny", backbone_width=32)
    model = model.to(device).eval()
    dm = PoseDataModule(batch_size=batch, val_batch_size=batch, image_size=size, test_size=batch,
                        num_workers=0)
    dm.setup("test")
    data = next(iter(dm.test_dataloader()))
    data = {k: (v.to(device) if isinstance(v, Tensor) else v) for k, v in data.items()}
    if not model.multiview:
        data = select_views(data, [0])
    return model, data, data["images"].float()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="shipped model name (default: a stand-in CNN)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--steps", type=int, default=10, help="steps of the attack timed in (1)")
    p.add_argument("--iterations", default="1,10,100", help="iteration counts of the sweep in (2)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--backbone", default=None,
                   help="with --model: an untrained model of this backbone (e.g. resnet50) instead of the "
                        "shipped checkpoint")
    p.add_argument("--max-batch", default="32",
                   help="rows per pass of the eps-batched sweep (CPU: ~16-32; GPU: larger), or 'auto' "
                        "(as large as memory allows)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    if args.backbone is not None and args.model is None:
        p.error("--backbone needs --model")
    max_batch = None if args.max_batch == "auto" else int(args.max_batch)
    model, batch, images = load_model(args.model, device, args.size, args.batch, args.backbone)
    ref = model.pose_target(batch)
    eps_list = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    its = sorted({int(i) for i in args.iterations.split(",")})
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    print(f"model: {args.model or 'stand-in CNN'}"
          + (f" ({args.backbone}, untrained)" if args.backbone else "")
          + f", batch {images.shape[0]}x{images.shape[1]} views, "
          f"{images.shape[-1]} px, eps grid {eps_list}, iterations {its}, max_batch {args.max_batch}")

    with attack_mode(model):
        fn = lambda x: model(x, batch)["pose"]  # noqa: E731

        # (1) one attack step vs a bare forward + backward to the input
        def bare() -> None:
            x = images.detach().requires_grad_(True)
            torch.autograd.grad(mpjpe_loss(fn(x), ref).sum(), x)

        steps = args.steps

        def bare_steps() -> None:
            for _ in range(steps):
                bare()

        t_bare, t_attack = timeit([bare_steps, lambda: IGSMU(8.0, steps=steps)(fn, images, ref)], device,
                                  args.repeats)
        t_bare, t_attack = t_bare / steps, t_attack / steps
        print(f"(1) attack step {t_attack * 1e3:.2f} ms / bare fwd+bwd {t_bare * 1e3:.2f} ms "
              f"= {t_attack / t_bare:.3f}  (goal <= 1.05)")

        # (2) full eps sweep: eps-batched vs a per-eps loop (torchattacks style)
        def per_eps_loop() -> None:
            for it in its:
                for eps in eps_list:
                    alpha = eps if it == 1 else eps / 8
                    x0 = images.clone().detach()
                    adv = x0.clone()
                    for _ in range(it):  # torchattacks PGD/BIM step, pixel scale, no random start
                        adv.requires_grad_(True)
                        cost = mpjpe_loss(fn(adv), ref).sum()
                        grad = torch.autograd.grad(cost, adv, retain_graph=False, create_graph=False)[0]
                        adv = adv.detach() + alpha * grad.sign()
                        delta = torch.clamp(adv - x0, min=-eps, max=eps)
                        adv = torch.clamp(x0 + delta, min=0, max=255).detach()
                    with torch.no_grad():
                        fn(adv)  # evaluate

        def batched() -> None:
            make_fn = lambda b: (lambda x: model(x, b))  # noqa: E731
            long = [i for i in its if i > 1]
            if 1 in its:
                eps_sweep(FGSM(), make_fn, images, batch, ref, eps_list, max_batch=max_batch)
            if long:
                eps_sweep(IGSMU(steps=max(long)), make_fn, images, batch, ref, eps_list, record=long,
                          max_batch=max_batch)

        t_loop, t_batched = timeit([per_eps_loop, batched], device, args.repeats)
        print(f"(2) eps sweep eps-batched {t_batched:.2f} s / per-eps loop {t_loop:.2f} s "
              f"= {t_batched / t_loop:.3f}  (goal <= 1.0 CPU, <= 0.5 GPU)")


if __name__ == "__main__":
    main()
