"""Similarity (Procrustes) alignment: scale, rotation (no reflection) and translation."""

from __future__ import annotations

import torch
from torch import Tensor


def procrustes_align(source: Tensor, target: Tensor) -> Tensor:
    """``source`` (..., J, 3) after the least-squares similarity (scale, rotation with det +1, translation)
    onto ``target`` (..., J, 3)."""
    mu_s = source.mean(dim=-2, keepdim=True)
    mu_t = target.mean(dim=-2, keepdim=True)
    xs = source - mu_s
    xt = target - mu_t
    cov = xt.transpose(-1, -2) @ xs  # (..., 3, 3) = sum_j t_j s_j^T
    U, S, Vh = torch.linalg.svd(cov)
    det = torch.det(U @ Vh)
    d = torch.ones_like(S)
    d[..., -1] = torch.sign(det)
    d = torch.where(d == 0, torch.ones_like(d), d)
    rotation = U @ torch.diag_embed(d) @ Vh
    var_s = (xs**2).sum(dim=(-1, -2)).clamp_min(torch.finfo(source.dtype).tiny)
    scale = (S * d).sum(dim=-1) / var_s
    translation = (mu_t - scale[..., None, None] * (mu_s @ rotation.transpose(-1, -2))).squeeze(-2)
    return scale[..., None, None] * source @ rotation.transpose(-1, -2) + translation.unsqueeze(-2)
