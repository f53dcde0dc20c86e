"""A training run resumed from its last checkpoint continues its W&B run (same id), never opens a second one.

Every full checkpoint (``<model>-last.ckpt``: the one ``--ckpt_path last`` resumes from) records the id and
name of the W&B run that wrote it under :data:`RUN_ID_KEY` and :data:`RUN_NAME_KEY`; ``poselab fit
--ckpt_path ...`` reads them back and starts its ``WandbLogger`` with that id and name
(``resume="allow"``). Online, W&B appends to the same run. Offline, wandb writes a second
``offline-run-*-<id>`` folder with the same id; ``wandb sync`` uploads the folders of one run in order
of their start time into that one run. Weights-only checkpoints (the shipped best ones) carry no id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytorch_lightning as pl

#: Checkpoint keys holding the W&B run id and name (a resumed run keeps the name: names are unique per
#: invocation, :mod:`poselab.wandb.naming`).
RUN_ID_KEY = "wandb_run_id"
RUN_NAME_KEY = "wandb_run_name"


def run_id_of(checkpoint: Mapping[str, Any]) -> str | None:
    """The W&B run id recorded in a loaded checkpoint (None if it has none)."""
    value = checkpoint.get(RUN_ID_KEY)
    return value if isinstance(value, str) and value else None


def run_name_of(checkpoint: Mapping[str, Any]) -> str | None:
    """The W&B run name recorded in a loaded checkpoint (None if it has none)."""
    value = checkpoint.get(RUN_NAME_KEY)
    return value if isinstance(value, str) and value else None


class RecordRunId(pl.Callback):
    """Write the W&B run id of the trainer's ``WandbLogger`` into every full checkpoint."""

    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        from pytorch_lightning.loggers import WandbLogger

        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger) and isinstance(logger.version, str) and logger.version:
                checkpoint[RUN_ID_KEY] = logger.version
                name = getattr(logger, "_wandb_init", {}).get("name")
                if name:
                    checkpoint[RUN_NAME_KEY] = name
                return
