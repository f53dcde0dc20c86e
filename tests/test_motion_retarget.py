"""Retargeting CMU motion to the synthetic subjects: bones, root, floor, units, axes; pure steps on toys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from poselab.data.motion.bvh import forward_kinematics, load_bvh
from poselab.data.motion.cmu import CLIP_FILE, clip_joints, leg_length, subject_clip
from poselab.data.motion.retarget import (
    Y_UP_TO_Z_UP,
    Marker,
    bone_lengths,
    marker_positions,
    place,
    rescale_bones,
    yaw_about_origin,
)
from poselab.data.synthetic.pose import ANKLE_HEIGHT, SUBJECTS, make_subject, pose_world
from poselab.skeleton import BONES, JOINT_NAMES, joint_index
from studies.cmu_clip.build import write_clip

SHARED_BVH = Path(__file__).resolve().parents[1] / "../shared/data/cmu-mocap/01_01.bvh"
ANKLES = [joint_index("r_ankle"), joint_index("l_ankle")]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _forward(joints: np.ndarray) -> np.ndarray:
    """Horizontal facing direction (..., 3): up x (r_hip - l_hip), as the synthetic body frame defines it."""
    right = joints[..., joint_index("r_hip"), :] - joints[..., joint_index("l_hip"), :]
    fwd = np.cross(np.array([0.0, 0.0, 1.0]), right)
    return _unit(fwd * np.array([1.0, 1.0, 0.0]))


@pytest.mark.parametrize("subject", SUBJECTS)
def test_bones_are_the_subjects_and_directions_the_captures(subject):
    world = subject_clip(subject)
    capture = clip_joints()
    assert world.shape == capture.shape == (688, 17, 3)
    np.testing.assert_allclose(
        bone_lengths(world), np.broadcast_to(make_subject(subject).bone_lengths(), (688, 16)), rtol=1e-9
    )
    for child, parent in BONES:  # every bone points where the capture's does
        np.testing.assert_allclose(
            _unit(world[:, child] - world[:, parent]),
            _unit(capture[:, child] - capture[:, parent]),
            atol=1e-9,
        )


@pytest.mark.parametrize("subject", ["S9", "S11"])
def test_feet_on_the_floor_units_mm_and_z_up(subject):
    world, capture = subject_clip(subject), clip_joints()
    lowest = world[:, ANKLES, 2].min(axis=1)
    # the lowest ankle never sinks under its height above the floor and touches it where the capture's does
    assert lowest.min() == pytest.approx(ANKLE_HEIGHT, abs=1e-9) and np.all(lowest >= ANKLE_HEIGHT - 1e-9)
    cap_lowest = capture[:, ANKLES, 2].min(axis=1)
    contact = cap_lowest < cap_lowest.min() + 0.2  # within 0.2 CMU units (about 12 mm) of the clip's lowest
    assert contact.mean() > 0.3 and np.all(lowest[contact] < ANKLE_HEIGHT + 15)
    assert np.median(lowest) < ANKLE_HEIGHT + 30 and lowest.max() > ANKLE_HEIGHT + 250  # standing; the jumps
    # mm and z up: the head is above the pelvis above the ankles, the standing pelvis at leg height
    body = make_subject(subject)
    assert np.all(world[:, joint_index("head_top"), 2] > world[:, 0, 2])
    assert np.all(world[:, 0, 2] > world[:, ANKLES, 2].max(axis=1))
    standing = world[contact, 0, 2]
    assert 0.85 < np.median(standing) / (body.thigh + body.shin + ANKLE_HEIGHT) < 1.02


def test_axes_are_the_synthetic_worlds_not_mirrored():
    """Same handedness as the procedural prior: the nose is ahead of the thorax along up x (r_hip - l_hip),
    the left shoulder on the left hip's side, and the CMU toes point forward."""
    nose, thorax = joint_index("neck_nose"), joint_index("thorax")
    procedural = np.stack(
        [pose_world(0, "S9", a, f) for a in ("walking", "waving") for f in range(0, 200, 20)]
    )
    for joints in (procedural, subject_clip("S9")):
        ahead = np.einsum("fi,fi->f", joints[:, nose] - joints[:, thorax], _forward(joints))
        assert np.median(ahead) > 20
        left = np.einsum(
            "fi,fi->f",
            joints[:, joint_index("l_shoulder")] - joints[:, joint_index("r_shoulder")],
            joints[:, joint_index("l_hip")] - joints[:, joint_index("r_hip")],
        )
        assert np.all(left > 0)
    bvh = load_bvh(CLIP_FILE)
    pos, _ = forward_kinematics(bvh)
    toes = (pos[:, bvh.index("LeftToeBase")] - pos[:, bvh.index("LeftFoot")]) @ Y_UP_TO_Z_UP.T
    toes[:, 2] = 0
    along = np.einsum("fi,fi->f", _unit(toes), _forward(clip_joints()))
    assert np.median(along) > 0.8


def test_trajectory_is_centred_and_scaled_to_the_subjects_legs():
    capture = clip_joints()
    for subject in ("S9", "S11"):
        world, body = subject_clip(subject), make_subject(subject)
        scale = (body.thigh + body.shin) / leg_length(capture)
        xy = world[:, 0, :2]
        np.testing.assert_allclose(xy.min(0) + xy.max(0), 0, atol=1e-6)  # bounding-box centre at the origin
        step = np.linalg.norm(np.diff(xy, axis=0), axis=-1)
        np.testing.assert_allclose(
            step, scale * np.linalg.norm(np.diff(capture[:, 0, :2], axis=0), axis=-1), rtol=1e-9, atol=1e-9
        )
    assert 10 < leg_length(capture) < 20  # CMU units (about 5.6 cm each): a leg of about 0.83 m


def test_rescale_bones_on_a_toy_skeleton():
    rng = np.random.default_rng(0)
    joints = rng.normal(size=(3, 17, 3)) * 100
    lengths = rng.uniform(50, 400, size=16)
    out = rescale_bones(joints, lengths)
    np.testing.assert_allclose(out[:, 0], 0)
    np.testing.assert_allclose(bone_lengths(out), np.broadcast_to(lengths, (3, 16)))
    for child, parent in BONES:
        np.testing.assert_allclose(
            _unit(out[:, child] - out[:, parent]), _unit(joints[:, child] - joints[:, parent])
        )
    with pytest.raises(ValueError, match="16 positive bone lengths"):
        rescale_bones(joints, lengths[:5])
    joints[1, 2] = joints[1, 1]
    with pytest.raises(ValueError, match="r_hip->r_knee has zero length"):
        rescale_bones(joints, lengths)


def test_place_lifts_jumps_and_centres_the_path():
    body = np.zeros((3, 17, 3))
    body[:, ANKLES, 2] = -900.0  # ankles 900 mm under the pelvis
    capture = np.zeros((3, 17, 3))
    capture[:, ANKLES, 2] = [[1.0, 1.5], [3.0, 4.0], [1.0, 1.0]]  # frame 1: both feet 2 units up
    capture[:, 0, :2] = [[0, 0], [2, 0], [4, 2]]
    world = place(body, capture, scale=10.0, ankle_height=80.0)
    np.testing.assert_allclose(world[:, ANKLES, 2].min(axis=1), [80.0, 100.0, 80.0])
    np.testing.assert_allclose(world[:, 0], [[-20, -10, 980], [0, -10, 1000], [20, 10, 980]])


def test_markers_average_joints_and_carry_offsets_in_the_joints_frame():
    names = ["a", "b"]
    positions = np.array([[[0.0, 0, 0], [2.0, 0, 0]]])
    rotations = np.stack([Rotation.from_euler("z", 90, degrees=True).as_matrix(), np.eye(3)])[None]
    markers = [Marker(("a", "b"))] + [Marker(("a",), (1.0, 0.0, 0.0))] * 15 + [Marker(("b",), (1.0, 0, 0))]
    out = marker_positions(names, positions, rotations, markers)
    np.testing.assert_allclose(out[0, 0], [1, 0, 0])  # mean of a and b
    np.testing.assert_allclose(out[0, 1], [0, 1, 0], atol=1e-12)  # (1, 0, 0) turned by a's 90 deg about z
    np.testing.assert_allclose(out[0, 16], [3, 0, 0])
    with pytest.raises(KeyError, match="head_top"):
        marker_positions(names, positions, rotations, markers[:10] + [Marker(("c",))] + markers[11:])
    with pytest.raises(ValueError, match="need 17 markers"):
        marker_positions(names, positions, rotations, markers[:3])
    assert len(JOINT_NAMES) == 17


def test_yaw_matches_scipy():
    points = np.random.default_rng(1).normal(size=(4, 17, 3))
    expected = Rotation.from_euler("z", 0.7).apply(points.reshape(-1, 3)).reshape(points.shape)
    np.testing.assert_allclose(yaw_about_origin(points, 0.7), expected, atol=1e-12)


@pytest.mark.skipif(not SHARED_BVH.is_file(), reason="the full CMU file (../shared) is not here")
def test_shipped_clip_is_rebuilt_byte_for_byte_from_the_full_file(tmp_path):
    out = write_clip(SHARED_BVH, tmp_path / "clip.bvh.gz")
    assert out.read_bytes() == CLIP_FILE.read_bytes()
    full = load_bvh(SHARED_BVH)
    np.testing.assert_array_equal(load_bvh(out).motion, full.motion[1::4])
