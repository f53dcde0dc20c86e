"""Training callbacks of ``poselab fit``: checkpoint files, reseeding (exact resume), channels-last."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint

from poselab.hashing import mix


class PoseCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` writing ``<dirpath>/<model>.ckpt`` (best) and ``<dirpath>/<model>-last.ckpt``;
    the default ``dirpath`` keeps training off the shipped ``checkpoints/`` (``make train SHIP=1``).

    Args:
        best_weights_only: save the best checkpoint without optimiser state (small files to ship);
            the last checkpoint always keeps everything needed to resume.
        last_every_n_train_steps: also write the last checkpoint every n training steps (``--ckpt_path last``
            then resumes mid-epoch); best and last are still written at every epoch end.
        (others as :class:`~pytorch_lightning.callbacks.ModelCheckpoint`)
    """

    def __init__(
        self,
        dirpath: str = "runs/checkpoints",
        monitor: str | None = "val/mpjpe",
        mode: str = "min",
        save_last: bool = True,
        best_weights_only: bool = True,
        every_n_train_steps: int | None = None,
        every_n_epochs: int | None = None,
        last_every_n_train_steps: int | None = None,
    ) -> None:
        super().__init__(
            dirpath=dirpath, monitor=monitor, mode=mode, save_last=save_last, save_top_k=1,
            every_n_train_steps=every_n_train_steps, every_n_epochs=every_n_epochs,
            enable_version_counter=False, auto_insert_metric_name=False,
        )
        self.best_weights_only = best_weights_only
        if last_every_n_train_steps is not None and last_every_n_train_steps < 0:
            raise ValueError(f"last_every_n_train_steps must be >= 0, got {last_every_n_train_steps}")
        self.last_every_n_train_steps = last_every_n_train_steps or 0

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        name = getattr(pl_module, "name", type(pl_module).__name__.lower())
        self.filename = name
        self.CHECKPOINT_NAME_LAST = f"{name}-last"
        super().setup(trainer, pl_module, stage)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        n = self.last_every_n_train_steps
        if not n or not self.save_last or trainer.global_step % n:
            return
        if self._should_skip_saving_checkpoint(trainer):
            return
        # not counted as "saved at this step": the epoch-end save (best + last, after validation) still runs
        saved_step = self._last_global_step_saved
        self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        self._last_global_step_saved = saved_step

    def _save_checkpoint(self, trainer: pl.Trainer, filepath: str) -> None:
        is_last = Path(filepath).stem == self.CHECKPOINT_NAME_LAST
        weights_only = self.save_weights_only or (self.best_weights_only and not is_last)
        trainer.save_checkpoint(filepath, weights_only)
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = filepath
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.after_save_checkpoint(self)


class ChannelsLast(pl.Callback):
    """Put the model in ``channels_last`` memory format before fitting/testing (faster convs on GPU)."""

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        pl_module.to(memory_format=torch.channels_last)


class ReseedEachEpoch(pl.Callback):
    """Re-seed all RNGs from (run seed, epoch) at every training epoch and (run seed, step) at every batch, so
    a run resumed from ``<model>-last.ckpt`` (also mid-epoch) continues exactly as an uninterrupted one."""

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.base_seed = int(os.environ.get("PL_GLOBAL_SEED", 0))

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        base = getattr(self, "base_seed", 0)
        seed = base * 1000 + trainer.current_epoch
        pl.seed_everything(seed, workers=True, verbose=False)
        os.environ["PL_GLOBAL_SEED"] = str(base)  # seed_everything overwrote the run's seed
        loader = trainer.fit_loop._combined_loader
        for dl in loader.flattened if loader is not None else []:
            sampler = getattr(dl, "sampler", None)
            if isinstance(sampler, torch.utils.data.RandomSampler):
                sampler.generator = torch.Generator().manual_seed(seed)

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        seed = mix(getattr(self, "base_seed", 0), trainer.global_step, 41) & 0xFFFFFFFF
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)  # CPU and every CUDA device
