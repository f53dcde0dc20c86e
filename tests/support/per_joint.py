"""Per-joint MPJPE rows (``per_joint.csv`` schema) from running an attack through the public attacks API
(test support: the attack callback writes ``per_joint.csv`` itself)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from poselab.attacks.base import Attack, attack_mode, clone_tensors
from poselab.metrics import MPJPE as MPJPEMetric
from poselab.results.schema import CLEAN, JOINT, JOINT_MPJPE, attack_names
from poselab.skeleton import JOINT_NAMES


def per_joint_rows(
    model: nn.Module,
    batches: Iterable[Mapping[str, Any]],
    attack: Attack,
    *,
    model_name: str,
    dataset: str,
    attacked_views: int = 1,
) -> list[dict[str, Any]]:
    """Clean and attacked per-joint MPJPE rows (``per_joint.csv`` schema) from running ``attack``.

    For results folders whose callback did not write ``per_joint.csv``. ``model`` follows the model
    interface: ``model(images, batch)["pose"]`` and ``model.pose_target(batch)``; ``batches`` are
    collated sample dicts (images (B, V, 3, H, W) 0..255).
    """
    clean_m, adv_m = MPJPEMetric(), MPJPEMetric()
    with attack_mode(model):
        for raw in batches:
            batch = clone_tensors(raw)
            x = batch["images"].float()
            target = model.pose_target(batch)

            def fn(images: Tensor, batch: Mapping[str, Any] = batch) -> Tensor:
                return model(images, batch)["pose"]

            adv = attack(fn, x, target)
            with torch.no_grad():
                clean_out, adv_out = model(x, batch), model(adv, batch)
            clean_m.update(clean_out["pose"], target, clean_out.get("valid"))
            adv_m.update(adv_out["pose"], target, adv_out.get("valid"))
    base = {
        "model": model_name,
        "dataset": dataset,
        "experiment": "untargeted",
        "eps": attack.eps,
        "iterations": attack.steps,
        "attacked_views": attacked_views,
        "target": "",
    }
    if attack.name not in attack_names():
        raise ValueError(f"attack {attack.name!r} is not registered (poselab.attacks.register_attack)")
    attack_name = attack.name
    rows = []
    for name, c in zip(JOINT_NAMES, clean_m.compute_per_joint().tolist()):
        rows.append({**base, "attack": CLEAN, "eps": 0.0, "iterations": 0, JOINT: name, JOINT_MPJPE: c})
    for name, a in zip(JOINT_NAMES, adv_m.compute_per_joint().tolist()):
        rows.append({**base, "attack": attack_name, JOINT: name, JOINT_MPJPE: a})
    return rows
