"""Algebraic (DLT) triangulation with a batched SVD.

For each point, every view v contributes two rows ``w_v * (u P_v[2] - P_v[0])`` and
``w_v * (v P_v[2] - P_v[1])``; the homogeneous point is the right singular vector of the stacked
(2V, 4) matrix with the smallest singular value (as in learnable-triangulation-pytorch, with
per-view weights). Rows are normalised for conditioning, which does not change the solution of
the noise-free problem.
"""

from __future__ import annotations

import torch
from torch import Tensor


def triangulate_dlt(
    proj: Tensor,
    points_2d: Tensor,
    weights: Tensor | None = None,
    rank_tol: float = 1e-7,
    normalize_rows: bool = True,
) -> tuple[Tensor, Tensor]:
    """Triangulate points seen in V >= 2 views.

    Args:
        proj: projection matrices P = K [R | t], (..., V, 3, 4) (pixels per mm).
        points_2d: undistorted pixel coordinates, (..., V, J, 2).
        weights: optional non-negative confidences, (..., V) per view or (..., V, J) per point.
            A weight of zero removes that view's influence.
        rank_tol: a point is flagged invalid when its two smallest singular values are within
            this relative gap (the system does not pin down a unique point).
        normalize_rows: scale each equation to unit norm before weighting (better conditioned;
            False gives the plain DLT of ``cv2.triangulatePoints``).

    Returns:
        points (..., J, 3) in the frame of ``proj`` (mm), and a bool validity flag (..., J).
        Invalid points (degenerate geometry, non-finite input, fewer than two weighted views,
        a point at infinity) are never raised on; their coordinates may be NaN.
    """
    if proj.shape[-2:] != (3, 4):
        raise ValueError(f"proj must be (..., V, 3, 4), got {tuple(proj.shape)}")
    if points_2d.shape[-1] != 2:
        raise ValueError(f"points_2d must be (..., V, J, 2), got {tuple(points_2d.shape)}")
    num_views = points_2d.shape[-3]
    if num_views < 2:
        raise ValueError(f"triangulation needs at least 2 views, got {num_views}")
    if weights is None:
        weights = torch.ones(points_2d.shape[:-1], dtype=points_2d.dtype, device=points_2d.device)
    elif weights.shape == points_2d.shape[:-2]:
        weights = weights.unsqueeze(-1).expand(points_2d.shape[:-1])

    P = proj.unsqueeze(-3)  # (..., V, 1, 3, 4)
    u = points_2d[..., 0:1]  # (..., V, J, 1)
    v = points_2d[..., 1:2]
    row_u = u * P[..., 2, :] - P[..., 0, :]  # (..., V, J, 4)
    row_v = v * P[..., 2, :] - P[..., 1, :]
    rows = torch.stack([row_u, row_v], dim=-2)  # (..., V, J, 2, 4)
    if normalize_rows:
        rows = rows / rows.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(rows.dtype).tiny)
    rows = rows * weights[..., None, None]
    A = rows.movedim(-4, -3).flatten(-3, -2)  # (..., J, 2V, 4)

    finite_in = torch.isfinite(A).all(dim=(-1, -2))
    A_safe = torch.where(finite_in[..., None, None], A, torch.zeros_like(A))
    _, S, Vh = torch.linalg.svd(A_safe, full_matrices=False)
    X_h = Vh[..., -1, :]  # (..., J, 4)
    w = X_h[..., 3:4]
    points = X_h[..., :3] / w

    n_views = (weights > 0).sum(dim=-2)  # (..., J)
    smax = S[..., 0].clamp_min(torch.finfo(S.dtype).tiny)
    well_posed = (S[..., -2] - S[..., -1]) > rank_tol * smax
    at_finite = w.squeeze(-1).abs() > 1e-12 * X_h[..., :3].norm(dim=-1)
    valid = finite_in & (n_views >= 2) & well_posed & at_finite & torch.isfinite(points).all(dim=-1)
    points = torch.where(finite_in[..., None], points, torch.full_like(points, float("nan")))
    return points, valid
