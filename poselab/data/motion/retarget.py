"""Retargeting a motion capture to poselab's 17 joints on a synthetic subject's body (pure numpy):
:func:`marker_positions`, :func:`rescale_bones`, then :func:`place` gives world joints (F, 17, 3) mm, z up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from poselab.geometry.rotation import axis_rotation
from poselab.skeleton import BONES, JOINT_NAMES, NUM_JOINTS, joint_index

#: Y-up capture axes (BVH: x, y up, z) -> the synthetic world (z up, mm): a proper rotation (+90 deg about x).
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
ANKLES = (joint_index("r_ankle"), joint_index("l_ankle"))


@dataclass(frozen=True)
class Marker:
    """Where a poselab joint sits on a capture skeleton: the mean of the ``joints``' world positions plus
    ``offset`` in the local frame of ``joints[0]`` (capture units; an end site's frame is its parent's)."""

    joints: tuple[str, ...]
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)


def marker_positions(
    names: Sequence[str], positions: np.ndarray, rotations: np.ndarray, markers: Sequence[Marker]
) -> np.ndarray:
    """The poselab joints (F, 17, 3) from capture world positions (F, N, 3) and rotations (F, N, 3, 3),
    one :class:`Marker` per joint of :data:`~poselab.skeleton.JOINT_NAMES`; capture axes and units."""
    if len(markers) != NUM_JOINTS:
        raise ValueError(f"need {NUM_JOINTS} markers (one per poselab joint), got {len(markers)}")
    index = {n: i for i, n in enumerate(names)}
    out = np.empty((positions.shape[0], NUM_JOINTS, 3))
    for j, m in enumerate(markers):
        missing = [n for n in m.joints if n not in index]
        if missing:
            raise KeyError(f"marker of {JOINT_NAMES[j]} names joints absent from the skeleton: {missing}")
        out[:, j] = positions[:, [index[n] for n in m.joints]].mean(axis=1)
        out[:, j] += rotations[:, index[m.joints[0]]] @ np.asarray(m.offset, dtype=np.float64)
    return out


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Lengths (..., 16) of the bones of :data:`~poselab.skeleton.BONES` for joints (..., 17, 3)."""
    child, parent = np.array(BONES).T
    return np.linalg.norm(joints[..., child, :] - joints[..., parent, :], axis=-1)


def rescale_bones(joints: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Joints (F, 17, 3), pelvis at the origin, with each bone's direction from ``joints`` and its length
    from ``lengths`` (16,) (same unit as the result, e.g. mm)."""
    lengths = np.asarray(lengths, dtype=np.float64)
    if lengths.shape != (len(BONES),) or not np.all(lengths > 0):
        raise ValueError(f"lengths must be {len(BONES)} positive bone lengths, got shape {lengths.shape}")
    out = np.zeros(joints.shape, dtype=np.float64)
    for (child, parent), length in zip(BONES, lengths):  # BONES lists parents before children
        vec = joints[..., child, :] - joints[..., parent, :]
        norm = np.linalg.norm(vec, axis=-1, keepdims=True)
        if np.any(norm <= 0):
            raise ValueError(
                f"bone {JOINT_NAMES[parent]}->{JOINT_NAMES[child]} has zero length in the capture"
            )
        out[..., child, :] = out[..., parent, :] + length * vec / norm
    return out


def place(body: np.ndarray, capture: np.ndarray, scale: float, ankle_height: float) -> np.ndarray:
    """World joints (F, 17, 3) mm: ``body`` (F, 17, 3) mm, pelvis at the origin, on the trajectory of
    ``capture`` (F, 17, 3) z-up capture units, ``scale`` mm per capture unit.

    Horizontally the pelvis follows the capture's (the clip's bounding-box centre at x = y = 0); vertically
    the lowest ankle sits ``ankle_height + scale * lift`` mm up, ``lift`` being the capture's lowest ankle
    above its lowest value over the clip.
    """
    pelvis_xy = capture[:, 0, :2] * scale
    centre = 0.5 * (pelvis_xy.min(axis=0) + pelvis_xy.max(axis=0))
    lowest = capture[:, ANKLES, 2].min(axis=1)
    lift = scale * (lowest - lowest.min())
    world = body.copy()
    world[..., :2] += (pelvis_xy - centre)[:, None]
    world[..., 2] += (ankle_height + lift - body[:, ANKLES, 2].min(axis=1))[:, None]
    return world


def yaw_about_origin(joints: np.ndarray, yaw: float) -> np.ndarray:
    """Joints (..., 3) turned by ``yaw`` radians about the world z axis through the origin."""
    return joints @ axis_rotation("Z", yaw).T
