"""Curves of the attack results (the same data goes to PNG files and to W&B line series)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from poselab.safe_io import atomic_path

Row = Mapping[str, Any]


def same(a: Any, b: Any) -> bool:
    """Equality of CSV/in-memory values: numerically when both parse as numbers, else as strings."""
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


@dataclass
class Curve:
    """One figure: x values and named y series (NaN where missing)."""

    name: str
    title: str
    xname: str
    yname: str
    xs: list[float]
    series: dict[str, list[float]] = field(default_factory=dict)


def _val(rows: Sequence[Row], **where: Any) -> float:
    for r in rows:
        if all(same((r.get(k) or "") if k == "view_set" else r[k], v) for k, v in where.items()):
            v = r["value"]
            return float(v) if v not in ("", None) else math.nan
    return math.nan


def _sorted(values: Any) -> list[float]:
    return sorted({float(v) for v in values})


def build_curves(rows: Sequence[Row]) -> list[Curve]:
    """Per model: MPJPE vs eps, JDR/MPJPE vs eps per attacked views, MPJPE to target vs iterations."""
    curves: list[Curve] = []
    for model in dict.fromkeys(r["model"] for r in rows):
        mrows = [r for r in rows if r["model"] == model]
        un = [r for r in mrows if r["experiment"] == "untargeted"]
        if un:
            eps = _sorted([0.0] + [r["eps"] for r in un])
            its = [int(i) for i in _sorted(r["iterations"] for r in un if int(r["iterations"]) > 0)]
            for metric, label in (("mpjpe", "P1"), ("pmpjpe", "P2")):
                c = Curve(f"{model}_untargeted_{metric}", f"{model}: untargeted, MPJPE {label}", "eps (px)",
                          f"MPJPE {label} (mm)", eps)
                for it in its:
                    attack = "fgsm" if it == 1 else "igsm_u"
                    c.series[f"{it} iter"] = [
                        _val(un, attack="clean", metric=metric) if e == 0 else
                        _val(un, attack=attack, eps=e, iterations=it, metric=metric) for e in eps]
                curves.append(c)
        mv = [r for r in mrows if r["experiment"] == "multiview"]
        if mv:
            eps = _sorted([0.0] + [r["eps"] for r in mv])
            its = [int(i) for i in _sorted(r["iterations"] for r in mv if int(r["iterations"]) > 0)]
            # (k, "") = the first k views; (k, "0+2") = an explicit subset of k view indices
            views = sorted({(int(r["attacked_views"]), str(r.get("view_set") or "")) for r in mv
                            if int(r["attacked_views"]) > 0})
            for metric, ylabel in (("jdr", "JDR (fraction)"), ("mpjpe", "MPJPE (mm)")):
                c = Curve(f"{model}_multiview_{metric}", f"{model}: attacked views, {metric.upper()}",
                          "eps (px)", ylabel, eps)
                for k, view_set in views:
                    for it in its:
                        attack = "fgsm" if it == 1 else "igsm_u"
                        label = f"views {view_set}" if view_set else f"{k} views"
                        c.series[f"{label}, {it} iter"] = [
                            _val(mv, attack="clean", metric=metric) if e == 0 else
                            _val(mv, attack=attack, eps=e, iterations=it, attacked_views=k, view_set=view_set,
                                 metric=metric)
                            for e in eps]
                curves.append(c)
        for exp in ("camera_swap", "rotation"):
            tr = [r for r in mrows if r["experiment"] == exp]
            if not tr:
                continue
            its = _sorted(r["iterations"] for r in tr)
            c = Curve(f"{model}_{exp}", f"{model}: {exp.replace('_', '-')}, distance to target", "iterations",
                      "MPJPE to target (mm)", its)
            for target in dict.fromkeys(r["target"] for r in tr):
                for e in _sorted(r["eps"] for r in tr):
                    c.series[f"{target}, eps={e:g}"] = [
                        _val(tr, target=target, eps=e, iterations=int(i), metric="target_mpjpe") for i in its]
            curves.append(c)
    return curves


def save_curves(curves: Sequence[Curve], out_dir: str | Path) -> list[Path]:
    """One PNG per curve under ``out_dir``; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for c in curves:
        fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100)
        for label, ys in c.series.items():
            ax.plot(c.xs, ys, marker="o", label=label)
        if c.xname.startswith("eps") and len(c.xs) > 1:
            ax.set_xscale("symlog", linthresh=0.25)
        ax.set_xlabel(c.xname)
        ax.set_ylabel(c.yname)
        ax.set_title(c.title, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = out / f"{c.name}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp)
        plt.close(fig)
        paths.append(path)
    return paths


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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return path
