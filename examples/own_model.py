"""Evaluate your own pose model with poselab: a torchvision ResNet-18 with a linear head (not a poselab
class), trained briefly in plain PyTorch on poselab's synthetic data, then attacked with ``poselab.evaluate``.

    python examples/own_model.py              # default size: minutes on a CPU (docs/benchmarks.md)
    python examples/own_model.py --tiny       # seconds: the check that CI runs

Writes the results folder ``<out>/resnet18_own-synthetic/`` (results.csv/json, report.md, figures) and an
offline W&B run under ``runs/wandb``, as ``make attack-eval`` does for the shipped models.
"""

from __future__ import annotations

import argparse

import torch
import torchvision
from torch import nn
from torch.utils.data import DataLoader

import poselab
from poselab.data.synthetic import TRAIN_SUBJECTS, SyntheticMultiView
from poselab.models.adapter import PoseAdapter

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
#: (crop px, training steps, batch size, attacked samples)
SIZES = {"default": (64, 80, 16, 2), "tiny": (32, 2, 4, 1)}
#: --tiny replaces the preset's grid by one FGSM point (the whole quick grid: 676 passes per image)
TINY_GRID = [{"kind": "untargeted", "attack": ["fgsm"], "eps": [0, 8], "iterations": [1]}]


def make_network() -> nn.Module:
    """ResNet-18 (random init, nothing downloaded) -> 17 joints x (x, y, z): root-relative camera metres."""
    net = torchvision.models.resnet18(weights=None)
    net.fc = nn.Linear(net.fc.in_features, 17 * 3)
    return net


def train(net: nn.Module, image_size: int, steps: int, batch_size: int) -> None:
    """Plain PyTorch: one random camera per sample, L1 to the root-relative pose in metres."""
    data = SyntheticMultiView(subjects=TRAIN_SUBJECTS, size=steps * batch_size, image_size=image_size,
                              random_view=True)
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    net.train()
    for step, batch in enumerate(DataLoader(data, batch_size=batch_size, shuffle=True)):
        images = (batch["images"][:, 0].float() / 255 - mean) / std
        joints = batch["joints_cam"][:, 0].float() / 1000
        loss = (net(images).view(-1, 17, 3) - (joints - joints[:, :1])).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 25 == 0 or step == steps - 1:
            print(f"step {step:4d}  L1 {loss.item() * 1000:6.1f} mm", flush=True)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a few seconds (CI)")
    parser.add_argument("--out", default="results/own_model", help="results root")
    parser.add_argument("--samples", type=int, default=None, help="test samples attacked (default 2; tiny 1)")
    args = parser.parse_args(argv)
    size, steps, batch_size, samples = SIZES["tiny" if args.tiny else "default"]
    samples = args.samples or samples
    torch.manual_seed(0)
    net = make_network()
    train(net, size, steps, batch_size)

    # --- the part poselab needs: declare the network, then evaluate it
    model = PoseAdapter(net, output="camera", units="m", per_view=True, input_size=size, mean=MEAN, std=STD,
                        name="resnet18_own")
    rows = poselab.evaluate(model, data="synthetic", preset="quick", out=args.out, max_samples=samples,
                            data_options={"num_workers": 0, "test_size": 64},
                            **({"experiments": TINY_GRID} if args.tiny else {}))
    # ---
    clean = next(r for r in rows if r["attack"] == "clean" and r["metric"] == "mpjpe")
    print(f"clean MPJPE {clean['value']:.1f} mm on {clean['n']} samples; results in {args.out}")
    return rows


if __name__ == "__main__":
    main()
