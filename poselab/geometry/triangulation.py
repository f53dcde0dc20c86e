"""Algebraic (DLT) triangulation with a batched SVD, independent of the world frame (docs/EVALUATION.md).

Each view contributes the plain rows ``w_v * (u P_v[2] - P_v[0])``, ``w_v * (v P_v[2] - P_v[1])``
(``cv2.triangulatePoints`` with learnable-triangulation's weights), solved in a frame fixed by the voting
cameras (H&Z 4.4: origin their mean centre, unit their mean distance from it). A point is flagged (never
raised on) unless: two views have weight > 0 and finite inputs (weight-0 views are ignored); the two
smallest singular values differ by more than ``rank_tol`` x the largest; ``|w|`` exceeds
:data:`AT_INFINITY_FACTOR` x its rounding error ``eps * s_max / (s_3 - s_4)``; it lies in front of every
voting camera; the result is finite.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

AT_INFINITY_FACTOR = 100.0
"""A point is at infinity when ``|w|`` is within this many times its rounding error of zero."""


def _canonical_frame(proj: Tensor, votes: Tensor) -> tuple[Tensor, Tensor]:
    """Origin (..., J, 3) and unit (..., J, 1) fixed by the voting cameras: proj (..., V, 3, 4) finite where
    voting, votes (..., V, J) bool."""
    eye = torch.eye(3, 4, dtype=proj.dtype, device=proj.device)
    safe = torch.where(votes.any(-1)[..., None, None], proj, eye)  # views voting nowhere: any regular P
    centres = torch.linalg.solve_ex(safe[..., :3], -safe[..., 3:])[0].squeeze(-1)  # P [C; 1] = 0: (..., V, 3)
    mask = votes.unsqueeze(-1).to(proj.dtype)  # (..., V, J, 1)
    count = mask.sum(-3).clamp_min(1)  # (..., J, 1)
    c = centres.unsqueeze(-2)  # (..., V, 1, 3)
    c = torch.where(votes.unsqueeze(-1), c, torch.zeros_like(c))
    origin = c.sum(-3) / count  # (..., J, 3)
    dist = (c - origin.unsqueeze(-3)).norm(dim=-1, keepdim=True) * mask
    scale = dist.sum(-3) / count
    # no usable frame (coincident or singular cameras): the world frame itself
    ok = torch.isfinite(origin).all(-1, keepdim=True) & torch.isfinite(scale) & (scale > 0)
    return torch.where(ok, origin, torch.zeros_like(origin)), torch.where(ok, scale, torch.ones_like(scale))


def triangulate_dlt(
    proj: Tensor,
    points_2d: Tensor,
    weights: Tensor | None = None,
    rank_tol: float = 1e-7,
    with_sensitivity: bool = False,
) -> tuple[Tensor, Tensor] | tuple[Tensor, Tensor, Tensor]:
    """Triangulate points seen in V >= 2 views (validity rule: module docstring).

    ``proj``: P = K [R | t] (..., V, 3, 4) px per mm, ``det(P[:, :3])`` of either sign; ``points_2d``:
    undistorted pixels (..., V, J, 2); ``weights``: optional confidences >= 0, (..., V) or (..., V, J) (0
    drops the view). Returns points (..., J, 3) mm in the frame of ``proj``, valid (..., J) bool and, with
    ``with_sensitivity``, a first-order bound (..., J) mm/px on how far a point moves per pixel of its voting
    2D inputs (|dA| / (s_3 - s_4) mapped to mm; inf where not unique).
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
        weights = weights.unsqueeze(-1)
    shape = torch.broadcast_shapes(points_2d.shape[:-1], weights.shape, proj.shape[:-3] + (num_views, 1))
    weights = weights.expand(shape)
    points_2d = points_2d.expand(shape + (2,))
    proj = proj.expand(shape[:-1] + (3, 4))

    proj_finite = torch.isfinite(proj).flatten(-2).all(-1)  # (..., V)
    finite_view = proj_finite.unsqueeze(-1) & torch.isfinite(points_2d).all(-1) & torch.isfinite(weights)
    votes = weights > 0  # non-finite weights do not vote but make the point invalid below
    inputs_ok = (finite_view | ~votes).all(-2) & torch.isfinite(weights).all(-2)  # (..., J)
    votes = votes & finite_view

    # canonical frame: X = scale * Y + origin, i.e. rows act on Y_h through P M with M = [[s I, o], [0, 1]]
    proj_safe = torch.where(proj_finite[..., None, None], proj, torch.zeros_like(proj))
    origin, scale = _canonical_frame(proj_safe, votes)  # (..., J, 3), (..., J, 1)
    P = proj_safe.unsqueeze(-3)  # (..., V, 1, 3, 4)
    P_lin = P[..., :3] * scale[..., None, :, None, :]  # (..., V, J, 3, 3)
    P_off = (P[..., :3] @ origin[..., None, :, :, None]).squeeze(-1) + P[..., 3]  # (..., V, J, 3)
    Pc = torch.cat([P_lin, P_off.unsqueeze(-1)], dim=-1)  # (..., V, J, 3, 4)

    uv = torch.where(votes.unsqueeze(-1), points_2d, torch.zeros_like(points_2d))
    row_u = uv[..., 0:1] * Pc[..., 2, :] - Pc[..., 0, :]  # (..., V, J, 4)
    row_v = uv[..., 1:2] * Pc[..., 2, :] - Pc[..., 1, :]
    rows = torch.stack([row_u, row_v], dim=-2)  # (..., V, J, 2, 4)
    rows = torch.where(votes[..., None, None], rows, torch.zeros_like(rows))
    w_safe = torch.where(votes, weights, torch.zeros_like(weights))
    rows = rows * w_safe[..., None, None]
    A = rows.movedim(-4, -3).flatten(-3, -2)  # (..., J, 2V, 4)
    finite_rows = torch.isfinite(A).all(dim=(-1, -2))  # overflow of finite inputs
    A = torch.where(finite_rows[..., None, None], A, torch.zeros_like(A))

    _, S, Vh = torch.linalg.svd(A, full_matrices=False)
    Y_h = Vh[..., -1, :]  # (..., J, 4)
    w = Y_h[..., 3]
    w_sign = torch.where(w < 0, -torch.ones_like(w), torch.ones_like(w))
    w_safe_div = torch.where(w.abs() > 0, w, torch.full_like(w, torch.finfo(w.dtype).tiny))
    points = Y_h[..., :3] / w_safe_div.unsqueeze(-1) * scale + origin

    eps, tiny = torch.finfo(S.dtype).eps, torch.finfo(S.dtype).tiny
    smax = S[..., 0].clamp_min(tiny)
    gap = S[..., -2] - S[..., -1]
    well_posed = gap > rank_tol * smax
    w_error = eps * smax / gap.clamp_min(tiny)
    at_finite = w.abs() > AT_INFINITY_FACTOR * w_error
    # depth of Y in view v, up to a positive factor: sign(det M_v) * (Pc_v[2] . Y_h) * sign(w)
    depth = (Pc[..., 2, :] * Y_h.unsqueeze(-3)).sum(-1) * w_sign.unsqueeze(-2)  # (..., V, J)
    depth = depth * torch.linalg.det(proj_safe[..., :3]).sign().unsqueeze(-1)
    in_front = (depth > 0) | ~votes
    valid = inputs_ok & finite_rows & (votes.sum(dim=-2) >= 2) & well_posed & at_finite & in_front.all(-2)
    valid = valid & torch.isfinite(points).all(dim=-1)
    if not with_sensitivity:
        return points, valid
    row_norm = (Pc[..., 2, :].norm(dim=-1) * w_safe).square().sum(dim=-2).mul(2).sqrt()  # |dA|/px (..., J)
    y_norm = (Y_h[..., :3] / w_safe_div.unsqueeze(-1)).norm(dim=-1)
    sens = scale.squeeze(-1) * row_norm / gap.clamp_min(tiny) * (1 + y_norm) / w.abs().clamp_min(tiny)
    sens = torch.where(well_posed & torch.isfinite(sens), sens, torch.full_like(sens, math.inf))
    return points, valid, sens.detach()


#: Sensitivity (mm per px) above which a valid point is *near-degenerate*: a thousandth of a pixel moves it by
#: over a millimetre, so last-bit differences of the 2D network show (a spread 4-camera rig: ~10^1..10^2).
NEAR_DEGENERATE_MM_PER_PX = 1000.0


def near_degenerate(sensitivity: Tensor, valid: Tensor) -> Tensor:
    """Bool (...,) per sample from per-joint ``sensitivity`` (..., J) mm/px and ``valid`` (..., J): a valid
    triangulation with some joint above :data:`NEAR_DEGENERATE_MM_PER_PX`."""
    return valid.all(dim=-1) & (sensitivity > NEAR_DEGENERATE_MM_PER_PX).any(dim=-1)
