"""Example panels of an attack: clean image, amplified perturbation and adversarial image per view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from poselab import style


def _draw(ax: Any, joints: Any, role: str) -> None:
    """A 2D skeleton (J, 2) px on ``ax`` in the colour of ``role`` (:data:`poselab.style.SKELETON_COLORS`),
    labelled ``role`` once per axes (for the legend)."""
    from poselab.skeleton import BONES

    color = style.SKELETON_COLORS[role]
    for k, (a, b) in enumerate(BONES):
        ax.plot([joints[a, 0], joints[b, 0]], [joints[a, 1], joints[b, 1]], color=color, lw=1.2,
                label=role if k == 0 else "_nolegend_")


def save_example(example: Any, path: str | Path) -> Path:
    """Panel of clean image, amplified perturbation and adversarial image, one row per view of the example
    (see ``experiments.Example``): the clean image with the ground truth and the prediction on it (when the
    example has one), the adversarial image with the ground truth, the prediction on it and the attack's
    target (when there is one); a legend names the skeletons, the title the sample's MPJPE (mm)."""
    plt = style.pyplot()
    clean, adv = example.clean, example.adversarial
    delta = adv - clean
    scale = 127.0 / max(float(delta.abs().max()), 1e-6)
    n_views = clean.shape[0]
    h, w = clean.shape[-2:]
    fig, axes = plt.subplots(n_views, 3, figsize=(8.4, 2.7 * n_views + 0.6), dpi=100, squeeze=False)
    clean_2d, target_2d = getattr(example, "clean_2d", None), getattr(example, "target_2d", None)
    for v in range(n_views):
        imgs = (clean[v], (127.5 + scale * delta[v]).clamp(0, 255), adv[v])
        names = ("clean", f"perturbation x{scale:.0f}", "adversarial")
        for ax, img, name in zip(axes[v], imgs, names):
            ax.imshow(img.permute(1, 2, 0).numpy().astype("uint8"))
            ax.set_title(name + (f" (view {v + 1})" if n_views > 1 else ""), fontsize=style.LABEL_SIZE)
            ax.axis("off")
        _draw(axes[v, 0], example.gt_2d[v], "ground truth")
        if clean_2d is not None:
            _draw(axes[v, 0], clean_2d[v], "clean prediction")
        _draw(axes[v, 2], example.gt_2d[v], "ground truth")
        if target_2d is not None:
            _draw(axes[v, 2], target_2d[v], "target")
        _draw(axes[v, 2], example.pred_2d[v], "adversarial prediction")
        for ax in (axes[v, 0], axes[v, 2]):
            ax.set_xlim(-0.5, w - 0.5)
            ax.set_ylim(h - 0.5, -0.5)
    title = example.title
    if (mpjpe := getattr(example, "mpjpe", None)) is not None:
        title += f"\nMPJPE P1 (mm): clean {mpjpe[0]:.1f}, adversarial {mpjpe[1]:.1f}"
    fig.suptitle(title, fontsize=style.LABEL_SIZE)
    handles = style.unique_handles(axes.flat)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=len(handles),
               fontsize=style.LEGEND_SIZE, bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, 0.06 / n_views, 1, 1))
    return style.save(fig, path)
