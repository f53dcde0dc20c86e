"""Realism check of the procedural pose prior against real motion capture (the shipped CMU clip).

    python -m studies.motion_realism.realism --out docs/results/motion     # realism.png + realism.md

Both sides are measured the same way, from 17-joint world positions (z up, mm):

- joint angles (:func:`joint_angles`, degrees): knee and elbow flexion, hip flexion and abduction in the
  pelvis frame (right = r_hip - l_hip, up = world z), shoulder elevation in the thorax frame (right =
  r_shoulder - l_shoulder, up = thorax - spine), trunk lean (pelvis -> thorax against the vertical,
  forward positive) and twist (shoulder line against hip line about the vertical);
- the lowest ankle's height above the floor (mm);
- bone-length ratios (:func:`bone_ratios`) of the seven synthetic subjects and of the CMU subject's skeleton;
- coverage (:func:`nearest_distances`): each real pose's mean per-joint distance (mm) to the nearest pose
  the prior produced for the same body, pelvis at the origin and facing turned to +y, against the same
  distance for fresh procedural poses (another seed) - how far real poses lie from anything the prior makes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from poselab.data.motion.cmu import clip_joints, subject_clip
from poselab.data.motion.retarget import ANKLES, bone_lengths, yaw_about_origin
from poselab.data.synthetic.pose import ACTIONS, SUBJECTS, make_subject, pose_world
from poselab.skeleton import BONES, joint_index
from poselab.style import pyplot

J = {
    name: joint_index(name)
    for name in (
        "pelvis",
        "r_hip",
        "l_hip",
        "spine",
        "thorax",
        "r_shoulder",
        "l_shoulder",
        "r_knee",
        "l_knee",
        "r_elbow",
        "l_elbow",
    )
}
#: limb chains (root, middle, end) per side: legs then arms, right then left
_LEGS = (("r_hip", "r_knee", "r_ankle"), ("l_hip", "l_knee", "l_ankle"))
_ARMS = (("r_shoulder", "r_elbow", "r_wrist"), ("l_shoulder", "l_elbow", "l_wrist"))
ANGLE_NAMES = (
    "knee flexion",
    "elbow flexion",
    "hip flexion",
    "hip abduction",
    "shoulder elevation",
    "trunk lean",
    "trunk twist",
)
#: bone-length ratios: name -> (numerator bones, denominator bones), bones named by their child joint
RATIOS = {
    "shin / thigh": (("r_ankle", "l_ankle"), ("r_knee", "l_knee")),
    "forearm / upper arm": (("r_wrist", "l_wrist"), ("r_elbow", "l_elbow")),
    "upper arm / thigh": (("r_elbow", "l_elbow"), ("r_knee", "l_knee")),
    "hip width / shoulder width": (("r_hip", "l_hip"), ("r_shoulder", "l_shoulder")),
    "torso / leg": (("spine", "thorax"), ("r_knee", "r_ankle")),
}
_BONE_OF = {joint: b for b, (joint, _) in enumerate((JOINT, P) for JOINT, P in BONES)}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("...i,...i->...", a, b)


def _frame(right: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orthonormal (right, forward, up) from a right vector and an approximate up (forward = up x right)."""
    right = _unit(right)
    up = _unit(up - _dot(up, right)[..., None] * right)
    return right, np.cross(up, right), up


def joint_angles(joints: np.ndarray) -> dict[str, np.ndarray]:
    """Angles (degrees) of world poses (N, 17, 3), z up: limb angles (N, 2) [right, left], trunk ones (N,)."""
    x = np.asarray(joints, dtype=np.float64)
    z = np.broadcast_to([0.0, 0.0, 1.0], x[:, 0].shape)
    p_right, p_fwd, p_up = _frame(x[:, J["r_hip"]] - x[:, J["l_hip"]], z)
    t_right, _, t_up = _frame(
        x[:, J["r_shoulder"]] - x[:, J["l_shoulder"]], x[:, J["thorax"]] - x[:, J["spine"]]
    )

    def bend(chains) -> np.ndarray:  # flexion of the middle joint: 0 = straight
        a = [_unit(x[:, joint_index(m)] - x[:, joint_index(r)]) for r, m, _ in chains]
        b = [_unit(x[:, joint_index(e)] - x[:, joint_index(m)]) for _, m, e in chains]
        return np.stack([np.degrees(np.arccos(np.clip(_dot(u, v), -1, 1))) for u, v in zip(a, b)], axis=1)

    thigh = np.stack([_unit(x[:, joint_index(m)] - x[:, joint_index(r)]) for r, m, _ in _LEGS], axis=1)
    upper = np.stack([_unit(x[:, joint_index(m)] - x[:, joint_index(r)]) for r, m, _ in _ARMS], axis=1)
    outward = np.array([1.0, -1.0])[None, :, None]  # right limbs go out along +right, left ones along -right
    torso = x[:, J["thorax"]] - x[:, J["pelvis"]]
    hips_h, shoulders_h = (x[:, J["r_hip"]] - x[:, J["l_hip"]])[:, :2], t_right[:, :2]
    return {
        "knee flexion": bend(_LEGS),
        "elbow flexion": bend(_ARMS),
        "hip flexion": np.degrees(np.arctan2(_dot(thigh, p_fwd[:, None]), -_dot(thigh, p_up[:, None]))),
        "hip abduction": np.degrees(np.arcsin(np.clip(_dot(thigh, outward * p_right[:, None]), -1, 1))),
        "shoulder elevation": np.degrees(np.arccos(np.clip(-_dot(upper, t_up[:, None]), -1, 1))),
        "trunk lean": np.degrees(np.arctan2(_dot(torso, p_fwd), torso[:, 2])),
        "trunk twist": np.degrees(
            np.arctan2(
                hips_h[:, 0] * shoulders_h[:, 1] - hips_h[:, 1] * shoulders_h[:, 0], _dot(hips_h, shoulders_h)
            )
        ),
    }


def floor_clearance(joints: np.ndarray) -> np.ndarray:
    """Height (N,) mm of the lowest ankle above the floor (z = 0) of world poses (N, 17, 3)."""
    return np.asarray(joints)[:, list(ANKLES), 2].min(axis=1)


def bone_ratios(lengths: np.ndarray) -> dict[str, float]:
    """:data:`RATIOS` of bone lengths (16,) (any unit), bones in :data:`~poselab.skeleton.BONES` order."""
    total = lambda names: sum(lengths[_BONE_OF[joint_index(n)]] for n in names)  # noqa: E731
    return {name: float(total(num) / total(den)) for name, (num, den) in RATIOS.items()}


def canonical(joints: np.ndarray) -> np.ndarray:
    """Poses (N, 17, 3), pelvis at the origin, turned about z so that r_hip - l_hip points to +x."""
    x = np.asarray(joints, dtype=np.float64) - np.asarray(joints, dtype=np.float64)[:, :1]
    right = x[:, J["r_hip"]] - x[:, J["l_hip"]]
    yaw = np.arctan2(right[:, 1], right[:, 0])
    return np.stack([yaw_about_origin(p, -a) for p, a in zip(x, yaw)])


def nearest_distances(queries: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """For each canonical pose (N, 17, 3): mean per-joint distance (mm) to its nearest pose in ``bank``."""
    out = np.empty(len(queries))
    for start in range(0, len(queries), 256):
        q = queries[start : start + 256]
        d = np.linalg.norm(q[:, None] - bank[None], axis=-1).mean(-1)  # (n, M)
        out[start : start + 256] = d.min(axis=1)
    return out


def prior_poses(subject: str, seeds: range, frames: range) -> np.ndarray:
    """World poses (N, 17, 3) of the procedural prior: every action, seed and frame for ``subject``."""
    return np.stack([pose_world(s, subject, a, f) for s in seeds for a in ACTIONS for f in frames]).astype(
        float
    )


def measure(subject: str = "S9", seeds: range = range(3), frames: range = range(0, 480, 2)) -> dict:
    """Everything the figure and the table show: prior vs real on ``subject``'s body."""
    prior = prior_poses(subject, seeds, frames)
    fresh = prior_poses(subject, range(100, 101), range(1, 480, 5))
    real = np.asarray(subject_clip(subject), dtype=np.float64)
    bank = canonical(prior)
    return {
        "subject": subject,
        "n_prior": len(prior),
        "n_real": len(real),
        "n_fresh": len(fresh),
        "angles": {"prior": joint_angles(prior), "real": joint_angles(real)},
        "clearance": {"prior": floor_clearance(prior), "real": floor_clearance(real)},
        "nearest": {
            "prior (fresh seed)": nearest_distances(canonical(fresh), bank),
            "real": nearest_distances(canonical(real), bank),
        },
        "ratios": {
            "synthetic": {s: bone_ratios(make_subject(s).bone_lengths()) for s in SUBJECTS},
            "CMU subject 01": bone_ratios(np.median(bone_lengths(clip_joints()), axis=0)),
        },
    }


def outside_prior(m: dict) -> dict[str, float]:
    """Per angle, the fraction of real frames (either side) outside the prior's [min, max]; ``any angle``."""
    out, any_out = {}, np.zeros(m["n_real"], dtype=bool)
    for name in ANGLE_NAMES:
        prior, real = m["angles"]["prior"][name], m["angles"]["real"][name]
        lo, hi = prior.min(), prior.max()
        bad = (real < lo) | (real > hi)
        bad = bad.reshape(len(bad), -1).any(axis=1)
        out[name] = float(bad.mean())
        any_out |= bad
    out["any angle"] = float(any_out.mean())
    return out


def figure(m: dict, path: Path) -> None:
    plt = pyplot()

    fig, axes = plt.subplots(2, 5, figsize=(19, 7.4))
    colours = {"prior": "tab:blue", "real": "tab:red"}
    for ax, name in zip(axes.flat, ANGLE_NAMES):
        values = {k: v[name].ravel() for k, v in m["angles"].items()}
        bins = np.linspace(min(v.min() for v in values.values()), max(v.max() for v in values.values()), 46)
        for k, v in values.items():
            ax.hist(
                v,
                bins=bins,
                density=True,
                alpha=0.5,
                color=colours[k],
                label=f"{'procedural prior' if k == 'prior' else 'CMU 01_01 (real)'}",
            )
        ax.set_title(f"{name} (deg)")
        ax.set_yticks([])
    axes.flat[0].legend(fontsize=8)
    ax = axes.flat[7]
    clearance = m["clearance"]
    bins = np.linspace(0, max(v.max() for v in clearance.values()) + 10, 40)
    for k, v in clearance.items():
        ax.hist(v, bins=bins, alpha=0.5, color=colours[k], weights=np.full(len(v), 1 / len(v)))
    ax.set_yscale("log")
    ax.set_title("lowest ankle above floor (mm)")
    ax = axes.flat[8]
    nearest = m["nearest"]
    bins = np.linspace(0, max(v.max() for v in nearest.values()) + 5, 40)
    for (k, v), c in zip(nearest.items(), ("tab:blue", "tab:red")):
        ax.hist(v, bins=bins, density=True, alpha=0.5, color=c, label=f"{k}: median {np.median(v):.0f}")
    ax.set_title("distance to nearest prior pose (mm)")
    ax.legend(fontsize=8)
    ax.set_yticks([])
    ax = axes.flat[9]
    names = list(RATIOS)
    for i, name in enumerate(names):
        synth = [r[name] for r in m["ratios"]["synthetic"].values()]
        ax.scatter(
            synth,
            np.full(len(synth), i),
            color="tab:blue",
            s=18,
            label="synthetic subjects" if i == 0 else None,
        )
        ax.scatter(
            [m["ratios"]["CMU subject 01"][name]],
            [i],
            color="tab:red",
            marker="*",
            s=120,
            label="CMU subject 01" if i == 0 else None,
        )
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_ylim(-0.6, len(names) + 0.4)
    ax.set_title("bone-length ratios")
    ax.legend(fontsize=8, loc="upper center", ncol=2, handletextpad=0.1, columnspacing=0.6)
    fig.suptitle(
        f"Procedural pose prior ({m['n_prior']} poses) vs real motion capture ({m['n_real']} frames), "
        f"both on subject {m['subject']}'s bones"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def report(m: dict) -> str:
    """Markdown tables of :func:`measure`'s numbers."""
    out = outside_prior(m)
    lines = [
        f"Subject {m['subject']}'s bones; prior: {m['n_prior']} poses (3 seeds x 7 actions x 240 frames); "
        f"real: the {m['n_real']} frames of CMU 01_01 at 30 Hz.",
        "",
        "| angle (deg) | prior 1-99 % | real 1-99 % | prior min..max | real min..max | real frames outside "
        "the prior's min..max |",
        "|---|---|---|---|---|---:|",
    ]
    for name in ANGLE_NAMES:
        p, r = (m["angles"][k][name].ravel() for k in ("prior", "real"))
        lines.append(
            f"| {name} | {np.percentile(p, 1):.0f}..{np.percentile(p, 99):.0f} | "
            f"{np.percentile(r, 1):.0f}..{np.percentile(r, 99):.0f} | {p.min():.0f}..{p.max():.0f} | "
            f"{r.min():.0f}..{r.max():.0f} | {100 * out[name]:.1f} % |"
        )
    lines.append(f"| any of them | | | | | {100 * out['any angle']:.1f} % |")
    c = m["clearance"]
    lines += [
        "",
        "| | prior | real |",
        "|---|---|---|",
        "| lowest ankle above floor, median / 90 % / max (mm) | "
        + " | ".join(
            f"{np.median(v):.0f} / {np.percentile(v, 90):.0f} / {v.max():.0f}"
            for v in (c["prior"], c["real"])
        )
        + " |",
        "| frames with both feet > 50 mm above contact height | "
        + " | ".join(f"{100 * np.mean(v > v.min() + 50):.1f} %" for v in (c["prior"], c["real"]))
        + " |",
    ]
    n = m["nearest"]
    lines += [
        "",
        "| distance to the nearest prior pose (mm; pelvis-rooted, facing aligned) | median | 90 % | max |",
        "|---|---:|---:|---:|",
    ]
    for k, v in n.items():
        lines.append(
            f"| {k} ({len(v)} poses) | {np.median(v):.0f} | {np.percentile(v, 90):.0f} | {v.max():.0f} |"
        )
    names = list(RATIOS)
    lines += ["", "| bone-length ratio | synthetic subjects (min..max) | CMU subject 01 |", "|---|---|---:|"]
    for name in names:
        synth = [r[name] for r in m["ratios"]["synthetic"].values()]
        lines.append(
            f"| {name} | {min(synth):.2f}..{max(synth):.2f} | {m['ratios']['CMU subject 01'][name]:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Realism check of the procedural pose prior against CMU motion."
    )
    parser.add_argument("--out", default="docs/results/motion", help="folder for realism.png and realism.md")
    parser.add_argument("--subject", default="S9", choices=SUBJECTS, help="body both are measured on")
    args = parser.parse_args(argv)
    m = measure(args.subject)
    out = Path(args.out)
    figure(m, out / "realism.png")
    text = report(m)
    (out / "realism.md").write_text(text)
    print(text)
    print(f"wrote {out / 'realism.png'} and {out / 'realism.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
