"""A training run resumed from its last checkpoint continues its W&B run (same id), never opens a second one:
every full checkpoint records the id and name of the W&B run that wrote it, and ``poselab fit --ckpt_path``
starts its ``WandbLogger`` with them (``resume="allow"``; offline, ``wandb sync`` uploads both folders into
the one run). Weights-only checkpoints carry no id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytorch_lightning as pl

#: Checkpoint keys holding the W&B run id and name (a resumed run keeps the name: names are unique per
#: invocation, :mod:`poselab.wandb.naming`).
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
