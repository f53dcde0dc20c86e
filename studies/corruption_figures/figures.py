"""Example grid of every corruption at every severity on one synthetic test view.

    python -m studies.corruption_figures.figures --out docs/results/corruptions/examples.png \
        [--size 128] [--sample 0]
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from poselab.corruptions.base import SEVERITIES
from poselab.corruptions.registry import CORRUPTION_NAMES, corrupt


def examples_figure(image: torch.Tensor, joints_2d: torch.Tensor, path: str | Path, *, sample: int = 0,
                    view: int = 0, seed: int = 0) -> Path:
    """Save a grid (rows: clean + corruptions, columns: severities 1..5) for one image (3, H, W) 0..255
    with its projected joints (J, 2) px (for occlusion)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = image.float()[None]
    j = joints_2d.float()[None]
    rows = len(CORRUPTION_NAMES)
    fig, axes = plt.subplots(rows, len(SEVERITIES) + 1, figsize=(1.3 * (len(SEVERITIES) + 1), 1.3 * rows))
    for r, name in enumerate(CORRUPTION_NAMES):
        axes[r, 0].imshow(x[0].permute(1, 2, 0).byte().numpy())
        axes[r, 0].set_ylabel(name.replace("_", "\n"), fontsize=7)
        for c, s in enumerate(SEVERITIES, start=1):
            y = corrupt(x, name, s, seed=seed, samples=[sample], views=[view], joints_2d=j)
            axes[r, c].imshow(y[0].permute(1, 2, 0).round().byte().numpy())
            if r == 0:
                axes[r, c].set_title(f"severity {s}", fontsize=7)
        if r == 0:
            axes[r, 0].set_title("clean", fontsize=7)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout(pad=0.2)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, dpi=80)
    plt.close(fig)
    from PIL import Image

    buf.seek(0)  # a 256-colour palette keeps the noisy panels small on disk
    Image.open(buf).convert("RGB").quantize(256).save(path, optimize=True)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    from poselab.data.config import DEFAULT_DATA_CONFIGS, build_dataset

    p = argparse.ArgumentParser(prog="python -m studies.corruption_figures.figures",
                                description=__doc__.split("\n")[0])
    p.add_argument("--out", default="docs/results/corruptions/examples.png")
    p.add_argument("--size", type=int, default=128, help="image side (px) of the rendered view")
    p.add_argument("--sample", type=int, default=0, help="test sample index")
    p.add_argument("--view", type=int, default=0)
    args = p.parse_args(argv)
    if args.size < 32 or args.sample < 0 or not 0 <= args.view < 4:
        print("error: --size must be >= 32 px, --sample >= 0, --view in 0..3", file=sys.stderr)
        return 2
    ds = build_dataset(DEFAULT_DATA_CONFIGS, {"image_size": args.size, "test_size": args.sample + 1}, "test")
    s = ds[args.sample]
    path = examples_figure(s["images"][args.view], s["joints_2d"][args.view], args.out, sample=s["index"],
                           view=int(s["camera_ids"][args.view]))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
