"""Synthetic multi-view dataset: geometry against OpenCV, determinism, subjects, motion, bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from support.sample import validate_sample

from poselab.data.synthetic import (
    ACTIONS,
    TEST_SUBJECTS,
    TRAIN_SUBJECTS,
    SyntheticMultiView,
    h36m_like_rig,
    make_subject,
    pose_world,
)
from poselab.geometry import project_world
from poselab.skeleton import BONES, PELVIS


@pytest.fixture(scope="module")
def dataset() -> SyntheticMultiView:
    return SyntheticMultiView(subjects=["S1", "S9"], size=28, image_size=48, seed=3)


def _opencv_project(points: np.ndarray, R, t, K, dist) -> np.ndarray:
    rvec, _ = cv2.Rodrigues(R.astype(np.float64))
    uv, _ = cv2.projectPoints(points.astype(np.float64), rvec, t.astype(np.float64), K.astype(np.float64),
                              dist.astype(np.float64))
    return uv.reshape(-1, 2)


def test_samples_follow_the_contract_and_their_own_cameras(dataset):
    for i in range(0, 28, 3):
        s = dataset[i]
        validate_sample(s)
        assert s["images"].shape == (4, 3, 48, 48) and s["camera_ids"].tolist() == [0, 1, 2, 3]
        world = s["joints_world"].numpy()
        for v in range(4):
            R, t, K, dist = (s[k][v].numpy() for k in ("R", "t", "K", "dist"))
            # camera-space joints are R X + t
            np.testing.assert_allclose(s["joints_cam"][v].numpy(), world @ R.T + t, atol=1e-2)
            # OpenCV's projection with the sample's own cameras gives joints_2d
            err = np.abs(_opencv_project(world, R, t, K, dist) - s["joints_2d"][v].numpy()).max()
            assert err < 0.5
        ours = project_world(s["joints_world"], s["R"], s["t"], s["K"], s["dist"])
        assert (ours - s["joints_2d"]).abs().max() < 0.5
        # the person is inside the square crop box, which is in full-image pixels
        uv = s["joints_2d"]
        assert (uv > 0).all() and (uv < 48).all()
        box = s["bbox"]
        torch.testing.assert_close(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1])


def test_rig_is_shaped_like_human36m():
    rig = h36m_like_rig()
    assert len(rig) == 4
    np.testing.assert_allclose(rig.K[:, 0, 0], 1145, rtol=0.01)
    assert (np.abs(rig.K[:, :2, 2] - 500) < 30).all()
    centres = rig.centres
    distances = np.linalg.norm(centres[:, :2], axis=1)
    assert ((distances > 4500) & (distances < 6000)).all()
    assert ((centres[:, 2] > 1200) & (centres[:, 2] < 1800)).all()  # chest height, z up
    angles = np.sort(np.degrees(np.arctan2(centres[:, 1], centres[:, 0])) % 360)
    np.testing.assert_allclose(np.diff(angles), 90, atol=1)  # one camera per corner
    for R in rig.R:
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-5)
        assert np.linalg.det(R) > 0
    assert (np.abs(rig.dist) < 0.3).all() and (rig.dist != 0).any()
    # the centre of the capture space is seen near the image centre by every camera
    uv = project_world(torch.tensor([[0.0, 0.0, 900.0]]), torch.from_numpy(rig.R), torch.from_numpy(rig.t),
                       torch.from_numpy(rig.K), torch.from_numpy(rig.dist))
    assert ((uv - 500).abs() < 60).all()


def test_same_index_same_pixels_across_instances_and_processes(dataset):
    other = SyntheticMultiView(subjects=["S1", "S9"], size=28, image_size=48, seed=3)
    for i in (0, 5, 27):
        a, b = dataset[i], other[i]
        assert torch.equal(a["images"], b["images"]) and torch.equal(a["joints_2d"], b["joints_2d"])
    loader = torch.utils.data.DataLoader(other, batch_size=2, num_workers=2, shuffle=False)
    for k, batch in enumerate(loader):
        if k == 2:
            break
        ref = torch.utils.data.default_collate([dataset[2 * k], dataset[2 * k + 1]])
        assert torch.equal(batch["images"], ref["images"]) and torch.equal(batch["K"], ref["K"])
    changed = SyntheticMultiView(subjects=["S1", "S9"], size=28, image_size=48, seed=4)[5]
    assert not torch.equal(changed["images"], dataset[5]["images"])


def test_split_subjects_are_disjoint_and_bodies_differ():
    assert not set(TRAIN_SUBJECTS) & set(TEST_SUBJECTS)
    assert set(TRAIN_SUBJECTS) == {"S1", "S5", "S6", "S7", "S8"} and set(TEST_SUBJECTS) == {"S9", "S11"}

    def bones(pose):
        return np.array([np.linalg.norm(pose[c] - pose[p]) for c, p in BONES])

    lengths = {}
    for subject in TRAIN_SUBJECTS + TEST_SUBJECTS:
        per_frame = np.stack([bones(pose_world(0, subject, a, f)) for a in ("walking", "crouching")
                              for f in (0, 40, 90)])
        np.testing.assert_allclose(per_frame, per_frame[:1].repeat(len(per_frame), 0), rtol=1e-4)  # rigid
        lengths[subject] = per_frame[0]
    names = list(lengths)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.abs(lengths[a] - lengths[b]).max() > 5.0, (a, b)  # mm
    assert len({make_subject(s).shirt for s in names}) == len(names)


def test_actions_move_smoothly_and_travel_in_the_capture_space():
    assert len(ACTIONS) >= 6
    for action in ACTIONS:
        poses = np.stack([pose_world(1, "S5", action, f) for f in range(400)])
        step = np.linalg.norm(np.diff(poses, axis=0), axis=-1).max()
        assert step < 80.0, action  # mm per frame (50 fps-like): smooth
        rel = poses - poses[:, PELVIS : PELVIS + 1]
        assert np.linalg.norm(rel - rel.mean(0), axis=-1).max() > 100.0, action  # the body moves
        assert np.abs(poses[..., 2].min(-1) - 80.0).max() < 1e-3  # feet on the floor
        assert np.abs(poses[..., :2]).max() < 2500.0  # stays inside the capture space
    walk = np.stack([pose_world(1, "S5", "walking", f) for f in range(0, 800, 10)])
    assert np.ptp(walk[:, PELVIS, :2], axis=0).max() > 500.0
    assert not np.allclose(pose_world(1, "S5", "walking", 10), pose_world(2, "S5", "walking", 10))


def test_random_view_is_one_deterministic_view_of_views():
    ds = SyntheticMultiView(subjects=["S1"], size=24, image_size=16, views=[1, 3], random_view=True, seed=5)
    ids = [ds[i]["camera_ids"].tolist() for i in range(24)]
    assert all(len(x) == 1 and x[0] in (1, 3) for x in ids) and {x[0] for x in ids} == {1, 3}
    assert ids == [ds[i]["camera_ids"].tolist() for i in range(24)]
    full = SyntheticMultiView(subjects=["S1"], size=24, image_size=16, seed=5)
    one, all_views = ds[4], full[4]
    cam = one["camera_ids"][0].item()
    assert one["images"].shape == (1, 3, 16, 16)
    # a view's pixels do not depend on which other views are rendered
    assert torch.equal(one["images"][0], all_views["images"][cam])


def test_the_person_is_drawn_where_joints_2d_say():
    from poselab.data.synthetic.render import N_EXTRA, lighting, part_colours, render_view

    ds = SyntheticMultiView(subjects=["S6"], size=4, image_size=64, seed=0)
    s = ds.render("S6", "crouching", 40, [0, 1, 2, 3])
    # the lighting draws render() uses for (seed 0, S6 = subject 2, crouching = action 5, frame 40)
    light = lighting(np.random.default_rng([0, 2, 5, 40, 5]), 4)
    subj = make_subject("S6")
    far = np.full((17 + N_EXTRA, 2), -1e4)  # everything off-screen: the background alone
    for v in range(4):
        empty = render_view(far, np.full(17 + N_EXTRA, 5000.0), float(s["K"][v, 0, 0]), 64,
                            part_colours(subj), subj.girth, light[v], 0)
        body = np.abs(s["images"][v].permute(1, 2, 0).numpy().astype(int) - empty).sum(-1) > 0
        uv = s["joints_2d"][v].numpy()
        torso = uv[[0, 7, 8]].round().astype(int)
        assert body[torso[:, 1], torso[:, 0]].all()  # pelvis, spine, thorax are covered
        ys, xs = np.nonzero(body)
        lo, hi = uv.min(0) - 12, uv.max(0) + 12  # limb radii and feet around the joints
        inside = (xs >= lo[0]) & (xs <= hi[0]) & (ys >= lo[1]) & (ys <= hi[1])
        assert inside.mean() > 0.98 and 0.05 < body.mean() < 0.7
    other = ds.render("S6", "walking", 40, [0])
    assert not torch.equal(other["images"][0], s["images"][0])


@pytest.mark.parametrize("kwargs, message", [
    ({"image_size": 0}, "image_size must be a positive integer"),
    ({"image_size": -4}, "image_size must be a positive integer"),
    ({"subjects": ["S2"]}, "unknown subject 'S2'"),
    ({"actions": ["juggling"]}, "unknown action 'juggling'"),
    ({"views": [0, 4]}, "unknown camera index 4"),
    ({"views": []}, "at least one camera"),
])
def test_bad_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SyntheticMultiView(**{"size": 4, **kwargs})
