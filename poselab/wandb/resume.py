"""A resumed training run continues its W&B run: full checkpoints record its id and name, which ``poselab fit
--ckpt_path`` gives its ``WandbLogger`` (docs/WANDB.md, "Resumed training")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytorch_lightning as pl

#: Checkpoint keys holding the W&B run id and name.
RUN_ID_KEY = "wandb_run_id"
RUN_NAME_KEY = "wandb_run_name"


def _recorded(checkpoint: Mapping[str, Any], key: str) -> str | None:
    value = checkpoint.get(key)
    return value if isinstance(value, str) and value else None


def run_id_of(checkpoint: Mapping[str, Any]) -> str | None:
    """The W&B run id recorded in a loaded checkpoint (None if it has none)."""
    return _recorded(checkpoint, RUN_ID_KEY)


def run_name_of(checkpoint: Mapping[str, Any]) -> str | None:
    """The W&B run name recorded in a loaded checkpoint (None if it has none)."""
    return _recorded(checkpoint, RUN_NAME_KEY)


class RecordRunId(pl.Callback):
    """Write the W&B run id of the trainer's ``WandbLogger`` into every full checkpoint."""

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           checkpoint: dict[str, Any]) -> None:
        from pytorch_lightning.loggers import WandbLogger

        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger) and isinstance(logger.version, str) and logger.version:
                checkpoint[RUN_ID_KEY] = logger.version
                name = getattr(logger, "_wandb_init", {}).get("name")
                if name:
                    checkpoint[RUN_NAME_KEY] = name
                return
