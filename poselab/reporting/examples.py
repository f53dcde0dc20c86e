"""Example panels of an attack: clean image, amplified perturbation and adversarial image per view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from poselab.safe_io import save_figure


def save_example(example: Any, path: str | Path, amplify: float | None = None) -> Path:
    """Panel of clean image, amplified perturbation and adversarial image with predicted (red) and
    ground-truth (green) skeletons, one row per view of the example (see ``experiments.Example``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from poselab.skeleton import BONES

    clean, adv = example.clean, example.adversarial
    delta = adv - clean
    scale = amplify or (127.0 / max(float(delta.abs().max()), 1e-6))
    n_views = clean.shape[0]
    fig, axes = plt.subplots(n_views, 3, figsize=(7.5, 2.6 * n_views), dpi=100, squeeze=False)
    for v in range(n_views):
        imgs = (clean[v], (127.5 + scale * delta[v]).clamp(0, 255), adv[v])
        names = ("clean", f"perturbation x{scale:.0f}", "adversarial")
        for ax, img, name in zip(axes[v], imgs, names):
            ax.imshow(img.permute(1, 2, 0).numpy().astype("uint8"))
            ax.set_title(name, fontsize=8)
            ax.axis("off")
        ax = axes[v, 2]
        for joints, color in ((example.gt_2d[v], "lime"), (example.pred_2d[v], "red")):
            for a, b in BONES:
                ax.plot([joints[a, 0], joints[b, 0]], [joints[a, 1], joints[b, 1]], color=color, lw=1)
        h, w = clean.shape[-2:]
        ax.set_xlim(-0.5, w - 0.5)
        ax.set_ylim(h - 0.5, -0.5)
    fig.suptitle(example.title, fontsize=8)
    fig.tight_layout()
    path = save_figure(fig, path)
    plt.close(fig)
    return path
