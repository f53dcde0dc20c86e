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


def _numpy_dlt(P: np.ndarray, uv: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Plain (weighted) DLT of one point: P (V, 3, 4), uv (V, 2), w (V,) -> (3,)."""
    w = np.ones(len(P)) if w is None else w
    A = np.concatenate([w[:, None] * (uv[:, :1] * P[:, 2] - P[:, 0]),
                        w[:, None] * (uv[:, 1:] * P[:, 2] - P[:, 1])])
    h = np.linalg.svd(A)[2][-1]
    return h[:3] / h[3]


def _rigid(gen: np.random.Generator, max_shift: float) -> np.ndarray:
    """A random rigid motion (4, 4): rotation of any angle, translation of |T| <= max_shift mm."""
    M = np.eye(4)
    M[:3, :3] = Rotation.random(random_state=gen.integers(1 << 30)).as_matrix()
    d = gen.normal(size=3)
    M[:3, 3] = d / np.linalg.norm(d) * gen.uniform(0.5, 1.0) * max_shift
    return M


@pytest.mark.parametrize("dtype, tol_mm", [(torch.float64, 1e-6), (torch.float32, 0.5)])
@pytest.mark.parametrize("weighted", [False, True])
def test_triangulation_moves_with_the_world_frame(dtype, tol_mm, weighted):
    """Any rigid motion of the world frame (up to 20 m) moves the noisy-input result by that motion."""
    gen = np.random.default_rng(11)
    for _ in range(10):
        R, t, K = _rig(4)
        X = rng.normal(size=(17, 3)) * 500
        uv = project_world(torch.tensor(X), R, t, K) + torch.tensor(gen.normal(size=(4, 17, 2)))  # 1 px
        w = torch.tensor(gen.uniform(0.05, 1.0, size=(4, 17))) if weighted else None
        P = projection_matrix(K, R, t).numpy()
        M = _rigid(gen, 20_000.0)
        P_moved = P @ np.linalg.inv(M)  # same cameras, world frame moved by M
        weights = None if w is None else w.to(dtype)
        ref, valid = triangulate_dlt(torch.as_tensor(P, dtype=dtype), uv.to(dtype), weights)
        moved, valid_m = triangulate_dlt(torch.as_tensor(P_moved, dtype=dtype), uv.to(dtype), weights)
        assert valid.all() and valid_m.all()
        ref64 = ref.double().numpy() @ M[:3, :3].T + M[:3, 3]
        assert np.abs(moved.double().numpy() - ref64).max() <= tol_mm


def _noisy_rigs(gen: np.random.Generator, n_views: int, n_rigs: int, n_points: int):
    """Random rigs around a random world origin (up to 20 m away) with 1 px Gaussian noise."""
    for _ in range(n_rigs):
        R, t, K = _rig(n_views)
        M = torch.tensor(_rigid(gen, 20_000.0))
        P = projection_matrix(K, R, t) @ torch.linalg.inv(M)  # world frame moved
        X = rng.normal(size=(n_points, 3)) * 500
        uv = project_world(torch.tensor(X), R, t, K) + torch.tensor(gen.normal(size=(n_views, n_points, 2)))
        yield P, uv, X @ M[:3, :3].numpy().T + M[:3, 3].numpy()


def _rms(err: np.ndarray) -> float:
    return float(np.sqrt((np.linalg.norm(err, axis=-1) ** 2).mean()))


def test_triangulation_noise_matches_opencv_two_views():
    """1000 random points and rigs, 1 px noise: RMS error within 5 % of cv2.triangulatePoints."""
    gen = np.random.default_rng(3)
    ours, ref = [], []
    for P, uv, X in _noisy_rigs(gen, 2, 50, 20):
        h = cv2.triangulatePoints(P[0].numpy(), P[1].numpy(), uv[0].numpy().T, uv[1].numpy().T)
        ref.append((h[:3] / h[3]).T - X)
        pts, valid = triangulate_dlt(P, uv)
        assert valid.all()
        ours.append(pts.numpy() - X)
    rms_ours, rms_ref = _rms(np.concatenate(ours)), _rms(np.concatenate(ref))
    assert rms_ref > 1.0  # the noise matters
    assert abs(rms_ours / rms_ref - 1) <= 0.05, (rms_ours, rms_ref)


@pytest.mark.parametrize("n_views", [2, 3, 4])
@pytest.mark.parametrize("weighted", [False, True])
def test_triangulation_noise_matches_numpy_dlt(n_views, weighted):
    """1000 random points and rigs, 1 px noise: RMS error within 5 % of a plain numpy DLT."""
    gen = np.random.default_rng(5 + n_views)
    ours, ref = [], []
    for P, uv, X in _noisy_rigs(gen, n_views, 50, 20):
        w = gen.uniform(0.1, 1.0, size=(n_views, 20)) if weighted else np.ones((n_views, 20))
        ref.append(np.stack([_numpy_dlt(P.numpy(), uv[:, j].numpy(), w[:, j]) for j in range(20)]) - X)
        pts, valid = triangulate_dlt(P, uv, torch.tensor(w) if weighted else None)
        assert valid.all()
        ours.append(pts.numpy() - X)
    rms_ours, rms_ref = _rms(np.concatenate(ours)), _rms(np.concatenate(ref))
    assert rms_ref > 1.0
    assert abs(rms_ours / rms_ref - 1) <= 0.05, (rms_ours, rms_ref)


def test_triangulation_agrees_with_opencv_pointwise():
    R, t, K = _rig(2)
    X = torch.tensor(rng.normal(size=(17, 3)) * 500)
    P = projection_matrix(K, R, t)
    exact = project_world(X, R, t, K)
    h = cv2.triangulatePoints(P[0].numpy(), P[1].numpy(), exact[0].numpy().T, exact[1].numpy().T)
    pts, valid = triangulate_dlt(P, exact)
    assert valid.all()
    np.testing.assert_allclose(pts.numpy(), (h[:3] / h[3]).T, atol=1e-6)
    np.testing.assert_allclose(pts.numpy(), X.numpy(), atol=1e-6)
    uv = exact + torch.tensor(rng.normal(size=(2, 17, 2)))  # 1 px noise
    h = cv2.triangulatePoints(P[0].numpy(), P[1].numpy(), uv[0].numpy().T, uv[1].numpy().T)
    ref = (h[:3] / h[3]).T
    pts, _ = triangulate_dlt(P, uv)
    # the same residuals solved in the cameras' frame rather than world mm: far closer than the noise error
    gap = np.linalg.norm(pts.numpy() - ref, axis=-1).mean()
    assert gap < 0.25 * np.linalg.norm(ref - X.numpy(), axis=-1).mean()


def test_triangulation_zero_weight_removes_view():
    R, t, K = _rig(4)
    X = torch.tensor(rng.normal(size=(17, 3)) * 500)
    uv = project_world(X, R, t, K) + torch.tensor(rng.normal(size=(4, 17, 2)))  # 1 px noise
    corrupted = uv.clone()
    corrupted[3] += 200.0  # view 3 is wildly wrong
    P = projection_matrix(K, R, t)
    w = torch.tensor([0.7, 1.0, 0.4, 0.0], dtype=torch.float64)
    pts_w, valid = triangulate_dlt(P, corrupted, w)
    pts_3, _ = triangulate_dlt(P[:3], uv[:3], w[:3])
    assert valid.all()
    torch.testing.assert_close(pts_w, pts_3, rtol=0, atol=1e-9)
    corrupted[3] = float("nan")  # a NaN in a view of weight 0 does not matter either
    pts_nan, valid_nan = triangulate_dlt(P, corrupted, w)
    assert valid_nan.all()
    torch.testing.assert_close(pts_nan, pts_3, rtol=0, atol=1e-9)
    corrupted[3] = uv[3] + 200.0
    pts_bad, _ = triangulate_dlt(P, corrupted)
    assert (pts_bad - X).norm(dim=-1).mean() > 10.0
    # per-joint weights too
    wj = torch.ones(4, 17, dtype=torch.float64)
    wj[3, :5] = 0
    pts_j, _ = triangulate_dlt(P, corrupted, wj)
    pts_j3, _ = triangulate_dlt(P[:3], uv[:3])
    torch.testing.assert_close(pts_j[:5], pts_j3[:5], rtol=0, atol=1e-9)


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


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_triangulation_parallel_rays_are_at_infinity(dtype):
    """Two cameras with the same orientation see 200 points at the same pixels: the rays are parallel."""
    gen = np.random.default_rng(2)
    R, t, K = _rig(1)
    centre_shift = torch.tensor([[0.0, 0.0, 0.0], [300.0, 40.0, -20.0]], dtype=torch.float64)  # baseline
    t2 = t.expand(2, 3) - (R[0] @ centre_shift.T).T
    P = projection_matrix(K.expand(2, 3, 3), R.expand(2, 3, 3), t2)
    uv = torch.tensor(gen.uniform(100, 900, size=(200, 2))).expand(2, 200, 2)
    pts, valid = triangulate_dlt(P.to(dtype), uv.to(dtype))
    assert not valid.any(), pts[valid]
    # control: the same rig with the second view's pixels of a real point 5 m away is valid
    X = torch.tensor(gen.normal(size=(200, 3)) * 300) @ R[0] + camera_centre(R[0], t[0]) + R[0, 2] * 5000
    uv_good = project_world(X, R.expand(2, 3, 3), t2, K.expand(2, 3, 3))
    good, valid_good = triangulate_dlt(P.to(dtype), uv_good.to(dtype))
    assert valid_good.all()
    assert (good.double() - X).norm(dim=-1).max() < (1.0 if dtype == torch.float32 else 1e-6)


def camera_centre(R: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return -R.T @ t


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_triangulation_behind_a_camera_is_invalid(dtype):
    """Rays that cross behind a voting camera: the algebra is exact, the point is flagged."""
    K = torch.tensor(random_camera(rng)[2]).expand(3, 3, 3)
    # cameras at z = -5 m looking at +z, at z = +5 m looking back at -z, at (5, 0, 7) m looking at -x
    R = torch.tensor([[[1.0, 0, 0], [0, 1, 0], [0, 0, 1]],
                      [[-1.0, 0, 0], [0, 1, 0], [0, 0, -1]],
                      [[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]]], dtype=torch.float64)
    t = torch.tensor([[0.0, 0, 5000], [0, 0, 5000], [-7000, 0, 5000]], dtype=torch.float64)
    X = torch.tensor(rng.normal(size=(17, 3)) * 500) + torch.tensor([0.0, 0, 7000])  # behind camera 1 only
    depth = world_to_camera(X, R[:, None], t[:, None])[..., 2]
    assert (depth[0] > 0).all() and (depth[1] < 0).all() and (depth[2] > 0).all()
    P64 = projection_matrix(K, R, t)
    h = torch.einsum("vij,nj->vni", P64, torch.cat([X, torch.ones(17, 1, dtype=torch.float64)], -1))
    uv = h[..., :2] / h[..., 2:]  # a point behind a camera still projects to finite pixels (mirrored)
    P = P64.to(dtype)
    pts, valid = triangulate_dlt(P[:2], uv[:2].to(dtype))
    assert not valid.any()
    tol = 5.0 if dtype == torch.float32 else 1e-6
    assert (pts.double() - X).norm(dim=-1).max() < tol  # the coordinates are reported anyway
    _, valid_all = triangulate_dlt(P, uv.to(dtype))
    assert not valid_all.any()
    # camera 1 with weight 0 does not vote: the point is in front of the two that do
    _, valid_drop = triangulate_dlt(P, uv.to(dtype), torch.tensor([1.0, 0.0, 1.0], dtype=dtype))
    assert valid_drop.all()
    good, valid_good = triangulate_dlt(P[[0, 2]], uv[[0, 2]].to(dtype))  # control: in front of both
    assert valid_good.all() and (good.double() - X).norm(dim=-1).max() < tol


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_triangulation_non_finite_inputs(dtype, bad):
    R, t, K = _rig(3)
    X = torch.tensor(rng.normal(size=(17, 3)) * 500)
    uv = project_world(X, R, t, K).to(dtype)
    P = projection_matrix(K, R, t).to(dtype)
    clean, _ = triangulate_dlt(P, uv)
    pix = uv.clone()
    pix[1, 3, 0] = bad  # a voting view's pixel
    pts, valid = triangulate_dlt(P, pix)
    assert not valid[3] and valid[torch.arange(17) != 3].all()
    torch.testing.assert_close(pts[torch.arange(17) != 3], clean[torch.arange(17) != 3])
    w = torch.ones(3, 17, dtype=dtype)
    w[1, 3] = 0.0  # ... of weight 0: ignored
    pts0, valid0 = triangulate_dlt(P, pix, w)
    assert valid0.all() and torch.isfinite(pts0).all()
    w[1, 3] = bad  # a non-finite weight
    _, valid_w = triangulate_dlt(P, uv, w)
    assert not valid_w[3] and valid_w[torch.arange(17) != 3].all()
    Pb = P.clone()
    Pb[2, 0, 3] = bad  # a voting camera's projection matrix: every point
    _, valid_p = triangulate_dlt(Pb, uv)
    assert not valid_p.any()
    _, valid_p0 = triangulate_dlt(Pb, uv, torch.tensor([1.0, 1.0, 0.0], dtype=dtype))  # unless of weight 0
    assert valid_p0.all()


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


def test_sensitivity_bounds_how_far_2d_changes_move_a_point_and_flags_nearly_parallel_rays():
    """The sensitivity (mm per px, a first-order bound) covers the movement under random 1e-3 px changes of
    every 2D input; it is ~10^1..10^2 for a spread rig and > 10^4 for two cameras 1 mm apart."""
    from poselab.geometry.triangulation import NEAR_DEGENERATE_MM_PER_PX, near_degenerate

    def moved(P, uv):
        p, valid, sens = triangulate_dlt(P, uv, with_sensitivity=True)
        d = torch.tensor(rng.uniform(-1e-3, 1e-3, size=uv.shape))
        return (triangulate_dlt(P, uv + d)[0] - p).norm(dim=-1), valid, sens

    R, t, K = _rig(4)
    X = torch.tensor(rng.normal(size=(8, 17, 3)) * 500)
    uv = project_world(X[:, None], R, t, K) + torch.tensor(rng.normal(size=(8, 4, 17, 2)))  # noisy 2D
    dist, valid, sens = moved(projection_matrix(K, R, t).expand(8, -1, -1, -1), uv)
    assert valid.all() and sens.shape == (8, 17) and (sens < 0.2 * NEAR_DEGENERATE_MM_PER_PX).all()
    assert (dist <= 1e-3 * sens).all() and not near_degenerate(sens, valid).any()

    R2 = torch.eye(3, dtype=torch.float64).expand(2, 3, 3)
    t2 = torch.tensor([[0.0, 0.0, 5000.0], [1.0, 0.0, 5000.0]], dtype=torch.float64)
    K2 = torch.tensor([[1000.0, 0, 32], [0, 1000.0, 32], [0, 0, 1]], dtype=torch.float64).expand(2, 3, 3)
    Y = torch.tensor(rng.normal(size=(1, 17, 3)) * 300)
    dist, valid, sens = moved(projection_matrix(K2, R2, t2)[None], project_world(Y[:, None], R2, t2, K2))
    assert valid.all() and (sens > 10 * NEAR_DEGENERATE_MM_PER_PX).all() and (dist <= 1e-3 * sens).all()
    assert near_degenerate(sens, valid).all()
    assert not near_degenerate(sens, torch.zeros_like(valid)).any()  # a failed one counts as failed, not here
