"""Realism check: joint angles recover the prior's own parameters, invariances, coverage, files written."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from poselab.data.synthetic.pose import ANKLE_HEIGHT, body_joints, make_subject, pose_world
from poselab.skeleton import joint_index
from studies.motion_realism import realism


def _pose(**angles: float) -> np.ndarray:
    return body_joints(make_subject("S9"), angles)[None]


@pytest.mark.parametrize(
    ("angles", "name", "side", "expected"),
    [
        ({"knee_r": 1.1}, "knee flexion", 0, 1.1),
        ({"knee_l": 0.4, "hip_flex_l": 0.9}, "knee flexion", 1, 0.4),
        ({"elbow_l": 1.3, "sh_flex_l": 0.5}, "elbow flexion", 1, 1.3),
        ({"hip_flex_r": 0.8}, "hip flexion", 0, 0.8),
        ({"hip_flex_l": -0.3}, "hip flexion", 1, -0.3),
        ({"hip_abd_r": 0.35}, "hip abduction", 0, 0.35),
        ({"hip_abd_l": 0.5}, "hip abduction", 1, 0.5),
        ({"sh_flex_r": 2.2}, "shoulder elevation", 0, 2.2),
        ({"sh_abd_l": 1.4}, "shoulder elevation", 1, 1.4),
        ({"lean": 0.9}, "trunk lean", None, 0.9),
        ({"lean": -0.2}, "trunk lean", None, -0.2),
        ({"twist": 0.5}, "trunk twist", None, 0.5),
    ],
)
def test_angles_recover_the_priors_parameters(angles, name, side, expected):
    base = {"knee": 0.0, "elbow": 0.0, "hip_abd": 0.0, "sh_abd": 0.0}  # the prior's parameters in isolation
    value = realism.joint_angles(_pose(**{**base, **angles}))[name][0]
    value = value if side is None else value[side]
    assert value == pytest.approx(np.degrees(expected), abs=1e-6)


def test_angles_do_not_depend_on_place_or_facing():
    joints = np.stack([pose_world(0, "S9", a, 40) for a in ("walking", "waving", "crouching")]).astype(float)
    c, s = np.cos(1.2), np.sin(1.2)
    moved = joints @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]]).T + np.array([500.0, -300.0, 0.0])
    a, b = realism.joint_angles(joints), realism.joint_angles(moved)
    for name in realism.ANGLE_NAMES:
        np.testing.assert_allclose(a[name], b[name], atol=1e-6)
    np.testing.assert_allclose(realism.canonical(joints), realism.canonical(moved), atol=1e-6)
    np.testing.assert_allclose(realism.floor_clearance(joints), ANKLE_HEIGHT, atol=1e-3)


def test_nearest_distances_match_a_brute_force_reference():
    rng = np.random.default_rng(0)
    bank, queries = rng.normal(size=(300, 17, 3)), rng.normal(size=(40, 17, 3))
    queries[:3] = bank[[5, 17, 200]]
    d = realism.nearest_distances(queries, bank)
    assert np.all(d[:3] == 0)
    reference = np.array([[np.linalg.norm(q - b, axis=-1).mean() for b in bank] for q in queries[3:6]]).min(1)
    np.testing.assert_allclose(d[3:6], reference)
    # with one joint the mean per-joint distance is the plain Euclidean one
    np.testing.assert_allclose(
        realism.nearest_distances(queries[:, :1], bank[:, :1]), cdist(queries[:, 0], bank[:, 0]).min(1)
    )


def test_bone_ratios_of_a_subject():
    body = make_subject("S11")
    ratios = realism.bone_ratios(body.bone_lengths())
    assert ratios["shin / thigh"] == pytest.approx(body.shin / body.thigh)
    assert ratios["forearm / upper arm"] == pytest.approx(body.forearm / body.upper_arm)
    assert ratios["torso / leg"] == pytest.approx(2 * body.spine / (body.thigh + body.shin))
    assert ratios["hip width / shoulder width"] == pytest.approx(
        body.hip_width / np.hypot(body.shoulder_width, 30.0)
    )  # shoulders sit 30 mm under the thorax
    assert joint_index("thorax") == 8


def test_report_and_figure_are_written(tmp_path):
    m = realism.measure("S9", seeds=range(1), frames=range(0, 60, 20))
    assert m["n_prior"] == 21 and m["n_real"] == 688
    out = realism.outside_prior(m)
    assert 0 <= out["knee flexion"] <= out["any angle"] <= 1
    # the prior never leaves the floor, the real clip jumps
    assert (
        np.all(m["clearance"]["prior"] == pytest.approx(ANKLE_HEIGHT)) and m["clearance"]["real"].max() > 300
    )
    realism.figure(m, tmp_path / "realism.png")
    text = realism.report(m)
    assert (tmp_path / "realism.png").stat().st_size > 10_000
    assert "| elbow flexion |" in text and "CMU subject 01" in text
