"""Attack benchmarks (not part of the test suite). Prints ratios measured in one run, same model and batch.

(1) time of one IGSM attack step / time of a bare forward + backward-to-input (goal <= 1.05);
(2) a full eps sweep (the paper's 8 eps x 1/10/100 iterations: FGSM + IGSM-U) eps-batched (one
    enlarged batch, chunked at --max-batch rows; the 10-iteration result is recorded inside the
    100-iteration run) vs a per-eps loop in the style of torchattacks (one attack call per eps and per
    iteration count) (goal <= 1.0 on CPU, <= 0.5 on a GPU), with the minor page faults of each call
    (getrusage; the cost the glibc tuning of poselab._alloc removes).

Times are medians of --repeats interleaved calls after one warm-up call each.

Usage:
    python benchmarks/bench_attacks.py                       # stand-in CNN, 64 px, CPU, batch 4
    python benchmarks/bench_attacks.py --batch 4 16 --max-batch 16,32,64,all   # both batches, one run
    python benchmarks/bench_attacks.py --model regression    # a shipped checkpoint (checkpoints/<model>.ckpt)
    python benchmarks/bench_attacks.py --device cuda --batch 32 --size 128 --max-batch all
    python benchmarks/bench_attacks.py --batch 16 --allocators glibc,mallopt,jemalloc,tcmalloc --rounds 3
        # each allocator in its own child processes (glibc: POSELAB_MALLOPT=0; jemalloc/tcmalloc: LD_PRELOAD)
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from poselab._alloc import ENV_SWITCH, MMAP_THRESHOLD, TRIM_THRESHOLD, configure_allocator
from poselab.attacks import FGSM, IGSMU, attack_mode, eps_sweep, mpjpe_loss

try:
    import resource
except ImportError:  # not on Windows: minor page faults are reported as 0 there
    resource = None  # type: ignore[assignment]

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


def _minflt() -> int:
    """Minor page faults of this process so far (all threads)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource is not None else 0


def measure(
    fns: list[Callable[[], object]], device: torch.device, repeats: int
) -> tuple[list[float], list[int]]:
    """Median wall time (s) and median minor page faults of one call of each function.

    One warm-up call each, then ``repeats`` rounds with the functions interleaved (robust to a shared
    machine).
    """
    for fn in fns:  # warm-up
        fn()
    _sync(device)
    times: list[list[float]] = [[] for _ in fns]
    faults: list[list[int]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            f0, t0 = _minflt(), time.perf_counter()
            fn()
            _sync(device)
            times[i].append(time.perf_counter() - t0)
            faults[i].append(_minflt() - f0)
    return [statistics.median(t) for t in times], [int(statistics.median(f)) for f in faults]


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


EPS = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]  # the paper's grid (pixels, 0..255)
#: environment of each allocator variant of --allocators (LD_PRELOAD names are looked up by the loader)
ALLOCATORS: dict[str, dict[str, str]] = {
    "glibc": {ENV_SWITCH: "0"},  # glibc defaults (dynamic mmap threshold <= 32 MiB, trim at 128 KiB)
    "mallopt": {},  # poselab's default: poselab._alloc.configure_allocator()
    "glibc-env": {ENV_SWITCH: "0", "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD),
                  "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD)},  # the same thresholds set at exec
    "jemalloc": {"LD_PRELOAD": "libjemalloc.so.2"},
    "tcmalloc": {"LD_PRELOAD": "libtcmalloc_minimal.so.4"},
}


def _variant_name(max_batch: int | None) -> str:
    return f"eps-batched, max_batch {'all' if max_batch is None else max_batch}"


def bench_batch(args: argparse.Namespace, device: torch.device, batch_size: int,
                max_batches: list[int | None], its: list[int]) -> dict:
    """(1) and (2) at one batch size; prints a table, returns {"batch", "step", "sweep": {variant: ...}}."""
    torch.manual_seed(0)
    model, batch, images = load_model(args.model, device, args.size, batch_size, args.backbone)
    ref = model.pose_target(batch)
    rows = len(EPS) * images.shape[0]
    print(f"-- batch {images.shape[0]}x{images.shape[1]} views ({rows} rows per eps sweep)")
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

        attack = lambda: IGSMU(8.0, steps=steps)(fn, images, ref)  # noqa: E731
        (t_bare, t_attack), _ = measure([bare_steps, attack], device, args.repeats)
        t_bare, t_attack = t_bare / steps, t_attack / steps
        print(f"(1) attack step {t_attack * 1e3:.2f} ms / bare fwd+bwd {t_bare * 1e3:.2f} ms "
              f"= {t_attack / t_bare:.3f}  (goal <= 1.05)")

        # (2) full eps sweep: a per-eps loop (torchattacks style) vs eps-batched at each max_batch
        def per_eps_loop() -> None:
            for it in its:
                for eps in EPS:
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

        def batched(max_batch: int | None) -> Callable[[], None]:
            def run() -> None:
                make_fn = lambda b: (lambda x: model(x, b))  # noqa: E731
                long = [i for i in its if i > 1]
                if 1 in its:
                    eps_sweep(FGSM(), make_fn, images, batch, ref, EPS, max_batch=max_batch)
                if long:
                    eps_sweep(IGSMU(steps=max(long)), make_fn, images, batch, ref, EPS, record=long,
                              max_batch=max_batch)
            return run

        names = ["per-eps loop"] + [_variant_name(m) for m in max_batches]
        times, faults = measure([per_eps_loop] + [batched(m) for m in max_batches], device, args.repeats)
    print(f"(2) eps sweep (8 eps x iterations {its}), median of {args.repeats}:")
    print(f"    {'variant':28s} {'time s':>8s} {'/ loop':>7s} {'minor faults':>13s}")
    sweep = {}
    for name, t, f in zip(names, times, faults):
        sweep[name] = {"time_s": t, "ratio": t / times[0], "minor_faults": f}
        print(f"    {name:28s} {t:8.2f} {t / times[0]:7.3f} {f:13d}")
    return {"batch": batch_size, "step_ratio": t_attack / t_bare, "sweep": sweep}


def compare_allocators(args: argparse.Namespace, argv: list[str]) -> None:
    """Run this benchmark under each allocator in child processes, ``--rounds`` times interleaved; medians."""
    chosen = [a.strip() for a in args.allocators.split(",")]
    unknown = [a for a in chosen if a not in ALLOCATORS]
    if unknown:
        raise SystemExit(f"error: --allocators: unknown {unknown}; valid: {', '.join(ALLOCATORS)}")
    for name in [a for a in chosen if "LD_PRELOAD" in ALLOCATORS[a]]:
        lib = ALLOCATORS[name]["LD_PRELOAD"]
        if ctypes.util.find_library(lib.removeprefix("lib").split(".so")[0]) is None:  # no dlopen
            print(f"note: {lib} not installed, {name} skipped (Debian: apt-get install "
                  f"{'libjemalloc2' if name == 'jemalloc' else 'libtcmalloc-minimal4'})")
            chosen.remove(name)
    child_argv = []  # this command line without --allocators/--rounds
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--allocators", "--rounds"):
            skip = True
        elif not a.startswith(("--allocators=", "--rounds=")):
            child_argv.append(a)
    clean = {k: v for k, v in os.environ.items()
             if k not in (ENV_SWITCH, "LD_PRELOAD", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")}
    results: dict[str, list[dict]] = {a: [] for a in chosen}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name in chosen:
                out = Path(tmp) / f"{name}-{r}.json"
                cmd = [sys.executable, __file__, *child_argv, "--json", str(out)]
                print(f"round {r + 1}/{args.rounds}: {name}", flush=True)
                subprocess.run(cmd, env={**clean, **ALLOCATORS[name]}, check=True, stdout=subprocess.DEVNULL)
                results[name].append(json.loads(out.read_text()))
    print(f"\nallocators, medians over {args.rounds} processes (each the median of {args.repeats} calls); "
          f"load {os.getloadavg()[0]:.2f}")
    first = results[chosen[0]][0]
    for b, batch_res in enumerate(first["batches"]):
        print(f"-- batch {batch_res['batch']}: time s (/ per-eps loop of the same process), minor faults "
              "per sweep")
        for variant in batch_res["sweep"]:
            cells = []
            for name in chosen:
                runs = [res["batches"][b]["sweep"][variant] for res in results[name]]
                t = statistics.median(x["time_s"] for x in runs)
                ratio = statistics.median(x["ratio"] for x in runs)
                f = int(statistics.median(x["minor_faults"] for x in runs))
                cells.append(f"{name} {t:6.2f} ({ratio:.2f}) {f:7d}")
            print(f"    {variant:28s} " + " | ".join(cells))
    for name in chosen:
        print(f"    {name}: {results[name][0]['allocator']}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    status = configure_allocator()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="shipped model name (default: a stand-in CNN)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, nargs="+", default=[4],
                   help="batch size(s); several (e.g. --batch 4 16) are measured one after another, one run")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--steps", type=int, default=10, help="steps of the attack timed in (1)")
    p.add_argument("--iterations", default="1,10,100", help="iteration counts of the sweep in (2)")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per variant (medians are reported)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--backbone", default=None,
                   help="with --model: an untrained model of this backbone (e.g. resnet50) instead of the "
                        "shipped checkpoint")
    p.add_argument("--max-batch", default="64",
                   help="rows per pass of the eps-batched sweep, or 'all' (= auto: as large as memory "
                        "allows); comma-separated to compare several, e.g. 16,32,all")
    p.add_argument("--allocators", default=None,
                   help=f"compare allocators in child processes, comma-separated of {', '.join(ALLOCATORS)}")
    p.add_argument("--rounds", type=int, default=3, help="with --allocators: child processes per allocator")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = p.parse_args(argv)
    if args.backbone is not None and args.model is None:
        p.error("--backbone needs --model")
    try:
        max_batches = [None if m.strip() in ("all", "auto") else int(m) for m in args.max_batch.split(",")]
    except ValueError:
        p.error(f"--max-batch: integers >= 1 or 'all', comma-separated; got {args.max_batch!r}")
    if any(m is not None and m < 1 for m in max_batches):
        p.error(f"--max-batch: integers >= 1 or 'all', got {args.max_batch!r}")
    if args.allocators:
        compare_allocators(args, argv)
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    its = sorted({int(i) for i in args.iterations.split(",")})
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    print(f"allocator: {status}; load average {os.getloadavg()[0]:.2f}")
    print(f"model: {args.model or 'stand-in CNN'}"
          + (f" ({args.backbone}, untrained)" if args.backbone else "")
          + f", {args.size} px, eps grid {EPS}, iterations {its}, max_batch {args.max_batch}")
    results = [bench_batch(args, device, b, max_batches, its) for b in args.batch]
    if len(results) > 1:
        print("summary, eps-batched / per-eps loop (goal <= 1.0 CPU, <= 0.5 GPU):")
        for variant in results[0]["sweep"]:
            if variant != "per-eps loop":
                ratios = (f"batch {r['batch']}: {r['sweep'][variant]['ratio']:.3f}" for r in results)
                print(f"    {variant:28s} " + "  ".join(ratios))
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"allocator": status, "batches": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
