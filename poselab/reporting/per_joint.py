"""Per-joint vulnerability: how much each joint's error grows under an untargeted attack (mm), table and
skeleton figure, from the ``per_joint.csv`` of results folders (docs/RESULTS.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from poselab import style
from poselab.reporting.tables import Table
from poselab.results.reader import JointCell
from poselab.results.schema import MPJPE
from poselab.skeleton import BONES, JOINT_NAMES

#: A canonical standing pose seen from the front: (x, y) mm, y up, pelvis at the origin (17, 2).
CANONICAL_POSE_2D: tuple[tuple[float, float], ...] = (
    (0, 0), (-120, 0), (-130, -450), (-140, -900), (120, 0), (130, -450), (140, -900), (0, 230), (0, 480),
    (0, 580), (0, 700), (170, 450), (260, 200), (320, -40), (-170, 450), (-260, 200), (-320, -40),
)

#: (attack, eps px, iterations, target); attacked_views is left out (monocular 1, multi-view all).
Setting = tuple[str, float, int, str]


def _setting(j: JointCell) -> Setting:
    return (j.attack, j.eps, j.iterations, j.target)


def attacked_settings(joints: Iterable[JointCell]) -> set[Setting]:
    """Attacked (non-clean, eps > 0) untargeted settings with per-joint rows."""
    return {_setting(j) for j in joints if j.experiment == "untargeted" and j.attack != "clean" and j.eps > 0}


def strongest(settings: Iterable[Setting]) -> Setting | None:
    """The setting with the largest eps, then the most iterations."""
    return max(settings, key=lambda s: (s[1], s[2], str(s)), default=None)


def joint_increase(joints: Sequence[JointCell], setting: Setting) -> dict[str, float]:
    """Per-joint untargeted error increase (mm) at ``setting`` over the clean (attack ``clean`` or eps 0)
    error; ValueError if the clean or attacked rows are missing."""
    rows = [j for j in joints if j.experiment == "untargeted"]
    clean: dict[str, float] = {}
    for j in rows:
        if j.attack == "clean" or j.eps == 0:
            clean.setdefault(j.joint, j.mpjpe)
    attacked = {j.joint: j.mpjpe for j in rows if _setting(j) == setting}
    if not clean:
        raise ValueError("per-joint rows have no clean (attack 'clean' or eps 0) rows")
    if not attacked:
        raise ValueError(f"per-joint rows have no rows at setting {setting}")
    return {name: attacked[name] - clean[name] for name in JOINT_NAMES if name in attacked and name in clean}


def increases_by_run(joints_by_run: Mapping[str, Sequence[JointCell]]
                     ) -> tuple[dict[str, dict[str, float]], dict[str, Setting]]:
    """Per-joint increase per run at the strongest untargeted setting all runs share (else each run's own)."""
    runs = {r: js for r, js in joints_by_run.items() if attacked_settings(js)}
    if not runs:
        return {}, {}
    shared = set.intersection(*(attacked_settings(js) for js in runs.values()))
    chosen = {r: strongest(shared) or strongest(attacked_settings(js)) for r, js in runs.items()}
    out = {}
    for r, js in runs.items():
        try:
            out[r] = joint_increase(js, chosen[r])
        except ValueError:
            continue
    return out, {r: chosen[r] for r in out}


def setting_label(s: Setting) -> str:
    attack, eps, it, target = s
    return f"{attack} eps={eps:g} it={it}" + (f" {target}" if target else "")


def increase_table(increases: Mapping[str, Mapping[str, float]], settings: Mapping[str, Setting]) -> Table:
    """Joints as rows, runs as columns, values: error increase (mm); a last row ranks the top-3 joints."""
    runs = list(increases)
    columns = ["joint"] + [f"{r} ({setting_label(settings[r])})" for r in runs]
    rows: list[list[Any]] = [[name] + [increases[r].get(name) for r in runs] for name in JOINT_NAMES]
    rows.append(["easiest to move"]
                + [", ".join(sorted(increases[r], key=increases[r].get, reverse=True)[:3]) for r in runs])
    title = "Per-joint vulnerability: MPJPE increase under attack (mm)"
    return Table("per_joint_increase", title, columns, rows, MPJPE)


def plot_skeletons(increases: Mapping[str, Mapping[str, float]], path: Path,
                   settings: Mapping[str, Setting] | None = None) -> Path:
    """One canonical skeleton per run, joints coloured by error increase (mm, shared colour scale); every
    joint named in the first panel, its increase (mm) written beside it in every panel."""
    plt = style.pyplot()
    runs = list(increases)
    if not runs:
        raise ValueError("no per-joint increases to draw")
    values = [v for inc in increases.values() for v in inc.values()]
    vmin, vmax = min(0.0, min(values)), max(values) if max(values) > 0 else 1.0
    xy = torch.tensor(CANONICAL_POSE_2D)
    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs) + 1.2, 5.6), squeeze=False)
    sc = None
    for k, (ax, run) in enumerate(zip(axes[0], runs)):
        for child, parent in BONES:
            ax.plot(xy[[child, parent], 0], xy[[child, parent], 1], color="0.6", lw=2, zorder=1)
        inc = increases[run]
        idx = [i for i, n in enumerate(JOINT_NAMES) if n in inc]
        sc = ax.scatter(xy[idx, 0], xy[idx, 1], c=[inc[JOINT_NAMES[i]] for i in idx], cmap="inferno_r",
                        vmin=vmin, vmax=vmax, s=70, edgecolors="k", zorder=2)
        for i in idx:  # the subject's right is on the left of the picture: its labels go left
            x, y = float(xy[i, 0]), float(xy[i, 1])
            text = f"{JOINT_NAMES[i]} {inc[JOINT_NAMES[i]]:.0f}" if k == 0 else f"{inc[JOINT_NAMES[i]]:.0f}"
            if x == 0 and y == 0:  # the pelvis, between the hips: below
                where = {"xytext": (0, -9), "ha": "center", "va": "top"}
            elif x == 0:  # the spine and head: above right, clear of the shoulders' labels
                where = {"xytext": (6, 5), "ha": "left", "va": "bottom"}
            else:
                side = -1 if x < 0 else 1
                where = {"xytext": (8 * side, 0), "ha": "right" if side < 0 else "left", "va": "center"}
            ax.annotate(text, (x, y), textcoords="offset points", fontsize=7, **where)
        title = run if settings is None or run not in settings else f"{run}\n{setting_label(settings[run])}"
        ax.set_title(title, fontsize=style.PANEL_TITLE_SIZE)
        ax.set_aspect("equal")
        ax.set_xlim(-720, 720)
        ax.margins(y=0.05)
        ax.axis("off")
    cbar = fig.colorbar(sc, ax=axes[0].tolist(), shrink=0.8)
    cbar.set_label("MPJPE increase (mm)", fontsize=style.LABEL_SIZE)
    cbar.ax.tick_params(labelsize=style.TICK_SIZE)
    fig.suptitle("Per-joint vulnerability: MPJPE increase under attack (mm), joint name and increase "
                 "(subject's right on the left)", fontsize=style.TITLE_SIZE)
    return style.save(fig, path)
