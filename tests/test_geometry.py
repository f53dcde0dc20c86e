"""Geometry against independent references (OpenCV, SciPy) and autograd checks."""

import cv2
import numpy as np
import pytest
import torch
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.transform import Rotation

from poselab.geometry import (
    backproject,
    camera_to_world,
    crop_intrinsics,
    procrustes_align,
    project,
    project_world,
    projection_matrix,
    rotate_about_pelvis,
    triangulate_dlt,
    undistort_pixels,
    world_to_camera,
)

rng = np.random.default_rng(0)


def random_camera(rng: np.random.Generator, distance: float = 5000.0):
    """A camera at ``distance`` mm from the origin looking roughly at it."""
    rvec = rng.normal(size=3) * 0.3
    R = Rotation.from_rotvec(rvec).as_matrix()
    t = np.array([0.0, 0.0, distance]) + rng.normal(size=3) * 100
    K = np.array([[1145.0 + rng.normal() * 20, 0.0, 500 + rng.normal() * 10],
                  [0.0, 1145.0 + rng.normal() * 20, 500 + rng.normal() * 10],
                  [0.0, 0.0, 1.0]])
    return R, t, K


def test_world_camera_roundtrip():
    R, t, _ = random_camera(rng)
    X = torch.tensor(rng.normal(size=(5, 17, 3)) * 500)
    Xc = world_to_camera(X, torch.tensor(R), torch.tensor(t))
    np.testing.assert_allclose(Xc.numpy(), X.numpy() @ R.T + t, atol=1e-9)
    back = camera_to_world(Xc, torch.tensor(R), torch.tensor(t))
    np.testing.assert_allclose(back.numpy(), X.numpy(), atol=1e-9)


@pytest.mark.parametrize("with_dist", [False, True])
def test_projection_matches_opencv(with_dist):
    for _ in range(5):
        R, t, K = random_camera(rng)
        dist = rng.normal(size=5) * np.array([0.1, 0.05, 0.002, 0.002, 0.01]) if with_dist else np.zeros(5)
        X = rng.normal(size=(50, 3)) * 600
        ref, _ = cv2.projectPoints(X, cv2.Rodrigues(R)[0], t, K, dist)
        ours = project_world(
            torch.tensor(X), torch.tensor(R), torch.tensor(t), torch.tensor(K),
            torch.tensor(dist) if with_dist else None,
        )
        np.testing.assert_allclose(ours.numpy(), ref[:, 0], atol=1e-3)


def test_projection_batched_float32_broadcasts():
    Rs, ts, Ks = zip(*(random_camera(rng) for _ in range(4)))
    R, t, K = (torch.tensor(np.stack(a), dtype=torch.float32) for a in (Rs, ts, Ks))
    X = torch.randn(2, 1, 17, 3) * 500  # (B, 1, J, 3) broadcast against 4 cameras
    uv = project_world(X, R, t, K)
    assert uv.shape == (2, 4, 17, 2) and uv.dtype == torch.float32
    single = project_world(X[1, 0], R[2], t[2], K[2])
    torch.testing.assert_close(uv[1, 2], single)


def test_undistort_and_backproject_invert_projection():
    R, t, K = random_camera(rng)
    dist = torch.tensor([0.08, -0.03, 0.001, -0.001, 0.005], dtype=torch.float64)
    Xc = world_to_camera(torch.tensor(rng.normal(size=(17, 3)) * 500), torch.tensor(R), torch.tensor(t))
    K = torch.tensor(K)
    uv = project(Xc, K, dist)
    np.testing.assert_allclose(backproject(uv, Xc[:, 2], K, dist).numpy(), Xc.numpy(), atol=1e-4)
    ref = cv2.undistortPoints(uv.numpy()[:, None], K.numpy(), dist.numpy(), P=K.numpy())[:, 0]
    np.testing.assert_allclose(undistort_pixels(uv, K, dist).numpy(), ref, atol=1e-3)


def test_crop_intrinsics_match_warp():
    _, _, K = random_camera(rng)
    bbox = torch.tensor([300.0, 250.0, 700.0, 650.0])
    Kc = crop_intrinsics(torch.tensor(K), bbox, (64, 64))
    # a point projected with the crop K equals the full-image point mapped by the crop affine
    X = torch.tensor([[100.0, -50.0, 4000.0]], dtype=torch.float64)
    full = project(X, torch.tensor(K))
    crop = project(X, Kc)
    expected = (full - bbox[:2].double()) * 64 / 400
    np.testing.assert_allclose(crop.numpy(), expected.numpy(), atol=1e-9)


def _rig(n_views: int):
    cams = [random_camera(rng) for _ in range(n_views)]
    R = torch.tensor(np.stack([c[0] for c in cams]))
    t = torch.tensor(np.stack([c[1] for c in cams]))
    K = torch.tensor(np.stack([c[2] for c in cams]))
    return R, t, K


@pytest.mark.parametrize("n_views", [2, 3, 4])
def test_triangulation_recovers_points(n_views):
    R, t, K = _rig(n_views)
    X = torch.tensor(rng.normal(size=(3, 17, 3)) * 500)  # (B, J, 3)
    uv = project_world(X[:, None], R, t, K)  # (B, V, J, 2)
    P = projection_matrix(K, R, t).expand(3, -1, -1, -1)
    pts, valid = triangulate_dlt(P, uv)
    assert valid.all()
    assert (pts - X).abs().max() < 1e-2


def test_triangulation_agrees_with_opencv_two_views():
    R, t, K = _rig(2)
    X = torch.tensor(rng.normal(size=(17, 3)) * 500)
    uv = project_world(X, R, t, K) + torch.tensor(rng.normal(size=(2, 17, 2)))  # 1 px noise
    P = projection_matrix(K, R, t)
    h = cv2.triangulatePoints(P[0].numpy(), P[1].numpy(), uv[0].numpy().T, uv[1].numpy().T)
    ref = (h[:3] / h[3]).T
    plain, valid = triangulate_dlt(P, uv, normalize_rows=False)  # OpenCV's unnormalised system
    assert valid.all()
    np.testing.assert_allclose(plain.numpy(), ref, atol=1e-6)
    normalised, _ = triangulate_dlt(P, uv)  # better conditioned; same up to the 1 px noise
    np.testing.assert_allclose(normalised.numpy(), ref, atol=20.0)


def test_triangulation_zero_weight_removes_view():
    R, t, K = _rig(4)
    X = torch.tensor(rng.normal(size=(17, 3)) * 500)
    uv = project_world(X, R, t, K)
    corrupted = uv.clone()
    corrupted[3] += 200.0  # view 3 is wildly wrong
    P = projection_matrix(K, R, t)
    pts_w, valid = triangulate_dlt(P, corrupted, torch.tensor([1.0, 1.0, 1.0, 0.0], dtype=torch.float64))
    pts_3, _ = triangulate_dlt(P[:3], uv[:3])
    assert valid.all()
    torch.testing.assert_close(pts_w, pts_3)
    pts_bad, _ = triangulate_dlt(P, corrupted)
    assert (pts_bad - X).norm(dim=-1).mean() > 10.0
    # per-joint weights too
    w = torch.ones(4, 17, dtype=torch.float64)
    w[3, :5] = 0
    pts_j, _ = triangulate_dlt(P, corrupted, w)
    assert (pts_j[:5] - X[:5]).abs().max() < 1e-2


def test_triangulation_degenerate_is_flagged_not_raised():
    R, t, K = _rig(1)
    P = projection_matrix(K, R, t).expand(4, 3, 4)  # four identical cameras: depth undetermined
    X = torch.tensor(rng.normal(size=(17, 3)) * 500)
    uv = project_world(X, R[0], t[0], K[0]).expand(4, 17, 2)
    _, valid = triangulate_dlt(P, uv)
    assert not valid.any()
    R2, t2, K2 = _rig(3)
    uv2 = project_world(X, R2, t2, K2)
    uv2[:, 4] = float("nan")
    pts, valid2 = triangulate_dlt(projection_matrix(K2, R2, t2), uv2)
    assert not valid2[4] and valid2[torch.arange(17) != 4].all()
    assert (pts[torch.arange(17) != 4] - X[torch.arange(17) != 4]).abs().max() < 1e-2
    # only one view with weight: invalid
    _, valid3 = triangulate_dlt(projection_matrix(K2, R2, t2), project_world(X, R2, t2, K2),
                                torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64))
    assert not valid3.any()


def test_procrustes_matches_scipy():
    # scipy allows reflections; each prediction is a noisy rotated, scaled and shifted copy of its target,
    # so the best orthogonal map is a proper rotation and every case is compared (none skipped)
    gen = np.random.default_rng(7)
    rotations = Rotation.random(5, random_state=7).as_matrix()
    for R in rotations:
        target = gen.normal(size=(17, 3)) * 300
        noise = gen.normal(size=(17, 3)) * 50
        source = gen.uniform(0.5, 2.0) * target @ R.T + gen.normal(size=3) * 500 + noise
        mu_s, mu_t = source.mean(0), target.mean(0)
        xs, xt = source - mu_s, target - mu_t
        Rm, s = orthogonal_procrustes(xs, xt)  # xs @ Rm ~ xt
        assert np.linalg.det(Rm) > 0
        scale = s / (xs**2).sum()
        ref = scale * xs @ Rm + mu_t
        ours = procrustes_align(torch.tensor(source), torch.tensor(target))
        np.testing.assert_allclose(ours.numpy(), ref, atol=1e-8)


def test_procrustes_recovers_similarity_without_reflection():
    X = torch.tensor(rng.normal(size=(4, 17, 3)) * 300)
    Rm = torch.tensor(Rotation.random(4, random_state=1).as_matrix())
    Y = 1.7 * X @ Rm.transpose(-1, -2) + torch.tensor([10.0, -20.0, 300.0])
    torch.testing.assert_close(procrustes_align(Y, X), X)
    mirrored = X * torch.tensor([-1.0, 1.0, 1.0])
    aligned = procrustes_align(mirrored, X)
    assert (aligned - X).abs().max() > 1.0  # a reflection is not allowed


def test_rotate_about_pelvis_keeps_bones_and_pelvis():
    X = torch.tensor(rng.normal(size=(2, 17, 3)) * 300)
    up = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    Y = rotate_about_pelvis(X, torch.tensor(np.deg2rad(30.0)), up)
    torch.testing.assert_close(Y[:, 0], X[:, 0])
    torch.testing.assert_close((Y - Y[:, :1]).norm(dim=-1), (X - X[:, :1]).norm(dim=-1))
    ref = Rotation.from_euler("z", 30, degrees=True).apply((X[0] - X[0, :1]).numpy()) + X[0, 0].numpy()
    np.testing.assert_allclose(Y[0].numpy(), ref, atol=1e-9)


def test_gradcheck_projection_triangulation_procrustes():
    R, t, K = _rig(3)
    dist = torch.tensor([0.05, -0.02, 0.001, 0.001, 0.002], dtype=torch.float64)
    X = (torch.tensor(rng.normal(size=(4, 3))) * 300).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: project_world(x, R[0], t[0], K[0], dist), (X,))
    uv = project_world(X.detach(), R, t, K).requires_grad_(True)
    P = projection_matrix(K, R, t)
    assert torch.autograd.gradcheck(lambda p: triangulate_dlt(P, p)[0], (uv,), atol=1e-5)
    tgt = torch.tensor(rng.normal(size=(6, 3)))
    src = torch.tensor(rng.normal(size=(6, 3))).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s: procrustes_align(s, tgt), (src,))
