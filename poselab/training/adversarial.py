"""Adversarial training (Madry et al.): train any baseline on a mix of clean and PGD images
(``--config configs/adv_train.yaml``)."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor

from poselab.attacks.base import attack_mode
from poselab.attacks.igsm import IGSMU
from poselab.attacks.losses import mpjpe_loss
from poselab.attacks.sweep import index_batch


class AdversarialTraining(pl.Callback):
    """Replace a fraction of each training batch's images by PGD images against the current model (MPJPE
    to ``pose_target``, crafted in eval mode with frozen weights); logs ``train/clean_mpjpe``,
    ``train/adv_mpjpe`` (mm, replaced samples) and ``train/adv_fraction``.

    Args:
        eps: L-inf budget in pixels (0..255 image scale), > 0.
        steps: PGD steps, >= 1.
        alpha: step size in pixels; None -> 2.5 * eps / steps (Madry et al.).
        fraction: share of each batch replaced, in (0, 1].
        random_start: start PGD from a uniform point in the eps-ball.
        image_key: batch key of the images (B, V, 3, H, W), uint8 or float 0..255.
        seed: seed of the generator that picks samples and random starts (reproducible runs).
    """

    def __init__(
        self,
        eps: float = 4.0,
        steps: int = 3,
        alpha: float | None = None,
        fraction: float = 0.5,
        random_start: bool = True,
        image_key: str = "images",
        seed: int = 0,
    ) -> None:
        super().__init__()
        if eps <= 0:
            raise ValueError(f"eps must be > 0 pixels, got {eps}")
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
        if int(steps) != steps or steps < 1:
            raise ValueError(f"steps must be a positive integer, got {steps}")
        alpha = 2.5 * eps / steps if alpha is None else alpha
        self.attack = IGSMU(eps=eps, steps=steps, alpha=alpha, random_start=random_start)
        self.fraction = float(fraction)
        self.image_key = image_key
        self.generator = torch.Generator().manual_seed(seed)

    def num_adversarial(self, batch_size: int) -> int:
        """How many samples of a batch are replaced (at least one)."""
        return max(1, round(self.fraction * batch_size))

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if not isinstance(batch, dict) or self.image_key not in batch:
            raise TypeError(
                f"AdversarialTraining needs a batch dict with {self.image_key!r} (sample contract)"
            )
        images = batch[self.image_key]
        b = images.shape[0]
        idx = torch.randperm(b, generator=self.generator)[: self.num_adversarial(b)].to(images.device)
        x = images.float()
        sub = index_batch(batch, idx, b)
        x0 = x.index_select(0, idx)
        with attack_mode(pl_module):
            target = pl_module.pose_target(sub).detach()

            def fn(imgs: Tensor) -> Tensor:
                return pl_module(imgs, sub)["pose"]

            gen = self.generator if x0.device.type == "cpu" else None
            x_adv = self.attack(fn, x0, target, generator=gen).detach()
            with torch.no_grad():
                clean = mpjpe_loss(fn(x0), target).mean()
                adv = mpjpe_loss(fn(x_adv), target).mean()
        x[idx] = x_adv
        batch[self.image_key] = x
        n = int(idx.numel())
        pl_module.log("train/clean_mpjpe", clean, on_step=True, on_epoch=True, batch_size=n)
        pl_module.log("train/adv_mpjpe", adv, on_step=True, on_epoch=True, batch_size=n)
        pl_module.log("train/adv_fraction", n / b, on_step=False, on_epoch=True, batch_size=b)
