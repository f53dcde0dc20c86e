"""The 17-joint Human3.6M skeleton (VideoPose3D / common 17-joint order, pelvis first) of every pose in
poselab: tensors shaped (..., 17, 3) in millimetres or (..., 17, 2) in pixels."""

from __future__ import annotations

NUM_JOINTS = 17

#: Joint names by index: 0 pelvis (root), 1-3 right leg, 4-6 left leg, 7 spine, 8 thorax (base of the neck),
#: 9 neck/nose, 10 head top, 11-13 left arm, 14-16 right arm.
JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "spine", "thorax", "neck_nose",
    "head_top", "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist",
)

#: Parent of each joint (-1 for the root).
PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)

PELVIS = 0
NECK = 8  # the neck base (thorax) — JDR head size is |head_top - neck|
HEAD_TOP = 10

#: (child, parent) pairs, one per bone (16 bones).
BONES: tuple[tuple[int, int], ...] = tuple((j, p) for j, p in enumerate(PARENTS) if p >= 0)

#: Left/right joint pairs (left, right), used for flip augmentation and symmetric drawing.
LEFT_RIGHT_PAIRS: tuple[tuple[int, int], ...] = ((4, 1), (5, 2), (6, 3), (11, 14), (12, 15), (13, 16))

LEFT_JOINTS: tuple[int, ...] = tuple(left for left, _ in LEFT_RIGHT_PAIRS)
RIGHT_JOINTS: tuple[int, ...] = tuple(right for _, right in LEFT_RIGHT_PAIRS)

#: Index permutation that swaps left and right joints.
FLIP_PERMUTATION: tuple[int, ...] = tuple(
    {**{a: b for a, b in LEFT_RIGHT_PAIRS}, **{b: a for a, b in LEFT_RIGHT_PAIRS}}.get(j, j)
    for j in range(NUM_JOINTS)
)


def joint_index(name: str) -> int:
    """Index of a joint by name; raises ``KeyError`` listing valid names."""
    try:
        return JOINT_NAMES.index(name)
    except ValueError:
        raise KeyError(f"unknown joint {name!r}; expected one of {', '.join(JOINT_NAMES)}") from None
