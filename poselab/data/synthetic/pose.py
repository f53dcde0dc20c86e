"""Subjects, joint-angle kinematics and actions of the synthetic dataset.

Bodies are built from joint angles (radians) and bone lengths (mm) in a body frame (x right, y forward,
z up), then turned and placed with the feet on the floor (world z = 0); every pose is a pure function of
(seed, subject, action, frame), without global random state.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

from poselab.data.errors import DataError
from poselab.geometry.rotation import axis_rotation
from poselab.skeleton import BONES, NUM_JOINTS

#: Human3.6M protocol split.
TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS = ("S9", "S11")
SUBJECTS = TRAIN_SUBJECTS + TEST_SUBJECTS
ACTIONS = ("walking", "sitting", "reaching", "bending", "turning", "crouching", "waving")

#: Joint-angle limits (radians): name -> (low, high).
LIMITS = {
    "hip_flex": (-0.7, 2.3), "hip_abd": (-0.2, 0.8), "knee": (0.0, 2.5),
    "sh_flex": (-1.0, 3.0), "sh_abd": (0.0, 2.9), "elbow": (0.0, 2.5),
    "lean": (-0.3, 1.5), "side": (-0.4, 0.4), "twist": (-0.7, 0.7), "head_pitch": (-0.6, 0.7),
}
ANGLES = tuple(LIMITS)
ANKLE_HEIGHT = 80.0  # mm above the floor


@dataclass(frozen=True)
class Subject:
    """Body measures (mm) and clothing colours (RGB 0..255) of one subject."""

    name: str
    index: int
    thigh: float
    shin: float
    hip_width: float  # half distance between the hips
    spine: float  # pelvis -> spine and spine -> thorax, each
    neck: float  # thorax -> neck/nose
    head: float  # neck/nose -> head top
    shoulder_width: float  # half distance between the shoulders
    upper_arm: float
    forearm: float
    girth: float  # scale of limb and torso radii
    skin: tuple[int, int, int]
    shirt: tuple[int, int, int]
    pants: tuple[int, int, int]
    hair: tuple[int, int, int]

    def bone_lengths(self) -> np.ndarray:
        """Lengths of the 16 bones of :data:`poselab.skeleton.BONES` (mm), from a neutral pose."""
        j = body_joints(self, {a: 0.0 for a in ANGLES})
        return np.array([np.linalg.norm(j[c] - j[p]) for c, p in BONES])


def _colour(rng: np.random.Generator, lo: int, hi: int) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(lo, hi, size=3))


@cache
def make_subject(name: str) -> Subject:
    """The subject called ``name`` (e.g. "S9"); its body depends on the name only, not on the seed."""
    if name not in SUBJECTS:
        raise DataError(f"unknown subject {name!r}; expected one of {', '.join(SUBJECTS)}")
    rng = np.random.default_rng([7919, int(name[1:])])
    height = rng.uniform(0.88, 1.12)  # overall scale around a 1.75 m person
    s = lambda base, spread=0.05: float(base * height * rng.uniform(1 - spread, 1 + spread))  # noqa: E731
    skin_tones = ((236, 188, 160), (198, 134, 100), (141, 85, 54), (224, 172, 105), (110, 70, 45))
    return Subject(
        name=name, index=SUBJECTS.index(name),
        thigh=s(440), shin=s(430), hip_width=s(130, 0.1), spine=s(230), neck=s(200), head=s(115),
        shoulder_width=s(160, 0.1), upper_arm=s(280), forearm=s(250), girth=float(rng.uniform(0.8, 1.25)),
        skin=skin_tones[int(rng.integers(len(skin_tones)))], shirt=_colour(rng, 20, 235),
        pants=_colour(rng, 10, 160), hair=_colour(rng, 10, 90),
    )


def _limb(flex: float, abd: float, side: float) -> np.ndarray:
    """Unit direction of a limb hanging down (0, 0, -1), raised forward by ``flex`` and out by ``abd``."""
    return np.array([side * np.sin(abd), np.sin(flex) * np.cos(abd), -np.cos(flex) * np.cos(abd)])


def clip_angles(angles: dict[str, float]) -> dict[str, float]:
    """Angles clipped to :data:`LIMITS` (keys ending in ``_l``/``_r`` use their base limits)."""
    base = lambda key: key[:-2] if key.endswith(("_l", "_r")) else key  # noqa: E731
    return {key: float(np.clip(value, *LIMITS[base(key)])) for key, value in angles.items()}


def body_joints(subject: Subject, angles: dict[str, float]) -> np.ndarray:
    """Joints (17, 3) mm in the body frame (pelvis at the origin) from :data:`ANGLES` (radians; limb angles
    may be given per side with ``_l``/``_r``)."""
    a = clip_angles({**{k: angles.get(k, 0.0) for k in ANGLES}, **angles})
    side = lambda name, s: a.get(f"{name}_{s}", a[name])  # noqa: E731
    J = np.zeros((NUM_JOINTS, 3))
    # legs: right = +x (index 1..3), left = -x (4..6)
    for s, (hip, knee, ankle), sign in (("r", (1, 2, 3), 1.0), ("l", (4, 5, 6), -1.0)):
        flex, abd = side("hip_flex", s), side("hip_abd", s)
        J[hip] = (sign * subject.hip_width, 0.0, 0.0)
        J[knee] = J[hip] + subject.thigh * _limb(flex, abd, sign)
        J[ankle] = J[knee] + subject.shin * _limb(flex - side("knee", s), abd * 0.7, sign)
    # torso: lean forward (towards +y), bend sideways (about y), twist (about z)
    torso = axis_rotation("Z", a["twist"]) @ axis_rotation("Y", a["side"]) @ axis_rotation("X", -a["lean"])
    up = torso @ np.array([0.0, 0.0, 1.0])
    J[7] = subject.spine * up
    J[8] = J[7] + subject.spine * up
    head_dir = torso @ axis_rotation("X", -(0.25 + a["head_pitch"])) @ np.array([0.0, 0.0, 1.0])  # nose ahead
    J[9] = J[8] + subject.neck * head_dir
    J[10] = J[9] + subject.head * (torso @ axis_rotation("X", -a["head_pitch"]) @ np.array([0.0, 0.0, 1.0]))
    # arms hang in the torso frame
    for s, (sh, el, wr), sign in (("l", (11, 12, 13), -1.0), ("r", (14, 15, 16), 1.0)):
        flex, abd = side("sh_flex", s), side("sh_abd", s)
        J[sh] = J[8] + torso @ np.array([sign * subject.shoulder_width, 0.0, -30.0])
        J[el] = J[sh] + subject.upper_arm * (torso @ _limb(flex, abd, sign))
        J[wr] = J[el] + subject.forearm * (torso @ _limb(flex + side("elbow", s), abd, sign))
    return J


def _wave(f: float, rng_params: np.ndarray) -> float:
    """Smooth zero-mean variation: a sum of 3 sinusoids with per-sequence frequencies and phases."""
    freq, phase, amp = rng_params
    return float(np.sum(amp * np.sin(freq * f + phase)))


def action_angles(action: str, phase: float, amp: float) -> dict[str, float]:
    """The action's joint angles at ``phase`` (radians along its cycle), amplitude scale ``amp``."""
    s, c = np.sin(phase), 0.5 - 0.5 * np.cos(phase)  # c goes 0 -> 1 -> 0 smoothly
    if action in ("walking", "turning"):
        swing = (0.45 if action == "walking" else 0.2) * amp
        return {
            "hip_flex_r": swing * s, "hip_flex_l": -swing * s,
            "knee_r": 0.15 + 0.7 * amp * max(0.0, -np.sin(phase - 0.6)),
            "knee_l": 0.15 + 0.7 * amp * max(0.0, np.sin(phase - 0.6)),
            "sh_flex_l": 0.5 * swing * s, "sh_flex_r": -0.5 * swing * s, "sh_abd": 0.12,
            "elbow_l": 0.3 + 0.2 * max(0.0, s), "elbow_r": 0.3 + 0.2 * max(0.0, -s), "lean": 0.08,
        }
    if action == "sitting":
        return {"hip_flex": 1.55 * c * amp, "knee": 1.65 * c * amp, "lean": 0.35 * c, "hip_abd": 0.12,
                "sh_flex": 0.5 * c, "elbow": 0.5 + 0.6 * c, "sh_abd": 0.1}
    if action == "reaching":
        return {"sh_flex_r": 2.6 * c * amp, "sh_abd_r": 0.3 + 0.4 * c, "elbow_r": 0.5 * (1 - c),
                "sh_flex_l": 1.2 * (0.5 - 0.5 * np.cos(phase + 1.3)) * amp, "sh_abd_l": 0.2, "elbow_l": 0.4,
                "lean": -0.1 * c, "head_pitch": -0.3 * c, "knee": 0.05, "hip_abd": 0.1}
    if action == "bending":
        return {"lean": 1.35 * c * amp, "hip_flex": 0.2 * c, "knee": 0.35 * c, "hip_abd": 0.12,
                "sh_flex": 1.2 * c, "sh_abd": 0.1, "elbow": 0.2, "head_pitch": -0.4 * c}
    if action == "crouching":
        return {"hip_flex": 2.0 * c * amp, "knee": 2.3 * c * amp, "lean": 0.7 * c, "hip_abd": 0.3 * c + 0.1,
                "sh_flex": 0.9 * c, "elbow": 0.6 * c + 0.2, "sh_abd": 0.15}
    if action == "waving":
        return {"sh_abd_l": 1.2 + 1.2 * amp * c, "sh_flex_l": 0.3, "elbow_l": 1.0 + 0.6 * s,
                "sh_abd_r": 0.15, "elbow_r": 0.3, "twist": 0.25 * s, "hip_abd": 0.15, "knee": 0.05}
    raise DataError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")


@lru_cache(maxsize=4096)
def _sequence(seed: int, subject: str, action: str) -> dict:
    """Per-sequence random parameters (period, amplitude, trajectory, smooth noise) of one sequence."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, SUBJECTS.index(subject), ACTIONS.index(action), 31])
    noise = {k: np.stack([rng.uniform(0.01, 0.06, 3), rng.uniform(0, 2 * np.pi, 3), rng.uniform(0, 0.08, 3)])
             for k in (*ANGLES, "hip_flex_l", "sh_flex_l", "sh_abd_l", "elbow_l", "knee_l")}
    return {
        "period": rng.uniform(60, 110) if action in ("walking", "turning", "waving")
        else rng.uniform(120, 220),
        "phase0": rng.uniform(0, 2 * np.pi),
        "amp": rng.uniform(0.75, 1.15),
        "centre": rng.uniform(-900, 900, 2),
        "radius": rng.uniform(600, 1300),
        "yaw0": rng.uniform(-np.pi, np.pi),
        "orbit": rng.choice([-1.0, 1.0]) * rng.uniform(0.004, 0.008),  # rad/frame of the walking circle
        "drift": np.stack([rng.uniform(0.002, 0.01, 2), rng.uniform(0, 2 * np.pi, 2)]),
        "noise": noise,
    }


def pose_world(seed: int, subject: str, action: str, frame: int) -> np.ndarray:
    """World joints (17, 3) mm of ``subject`` doing ``action`` at ``frame`` (z up, feet on the floor)."""
    subj = make_subject(subject)
    if action not in ACTIONS:
        raise DataError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    p = _sequence(seed, subject, action)
    f = float(frame)
    phase = p["phase0"] + 2 * np.pi * f / p["period"]
    angles = action_angles(action, phase, p["amp"])
    for key, params in p["noise"].items():
        if key.endswith("_l"):
            angles[key] = angles.get(key, angles.get(key[:-2], 0.0)) + _wave(f, params)
        else:
            for k in (key, f"{key}_r"):
                if k in angles or k == key:
                    angles[k] = angles.get(k, 0.0) + _wave(f, params)
    body = body_joints(subj, angles)
    # global placement: walkers orbit a circle facing along it, others drift slowly and turn
    if action == "walking":
        theta = p["yaw0"] + p["orbit"] * f
        pos = p["centre"] * 0.5 + p["radius"] * np.array([np.cos(theta), np.sin(theta)])
        yaw = theta + np.sign(p["orbit"]) * np.pi / 2 - np.pi / 2
    else:
        freq, ph = p["drift"]
        pos = p["centre"] + 350.0 * np.sin(freq * f + ph)
        yaw = p["yaw0"] + (0.02 * f if action == "turning" else 0.5 * np.sin(0.005 * f + ph[0]))
    world = body @ axis_rotation("Z", yaw).T
    world[:, :2] += pos
    world[:, 2] += ANKLE_HEIGHT - world[[3, 6], 2].min()
    return world.astype(np.float32)
