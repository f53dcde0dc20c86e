"""``poselab.evaluate``: any pose model on a preset attack grid, as ``poselab test`` runs it (``Trainer.test``
of a thin LightningModule around a :class:`~poselab.models.adapter.PoseAdapter`; docs/EXTENDING.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor

from poselab.data.errors import DataError
from poselab.distributed import destroy_process_group_at_exit
from poselab.experiments.base import AttackConfigError
from poselab.metrics import JDR, MPJPE, PMPJPE
from poselab.models.adapter import PoseAdapter, as_adapter
from poselab.models.base import Batch, log_pose_metrics
from poselab.paths import project_path

#: Data names of ``configs/data/<name>.yaml`` that ``data=`` accepts as a word.
DATA_NAMES = ("synthetic", "h36m")


class ImageSizeMismatchError(DataError):
    """The data's crop size differs from the size the model declares."""


class EvaluatedModel(pl.LightningModule):
    """The LightningModule ``Trainer.test`` runs: the adapter's forward, ``pose_target``, ``multiview``,
    ``name`` and the clean test metrics of ``PoseModel``."""

    def __init__(self, adapter: PoseAdapter) -> None:
        super().__init__()
        self.adapter = adapter
        self.name = adapter.name
        self.multiview = adapter.multiview
        self.checkpoint = adapter.checkpoint  # recorded in results.json
        if adapter.hparams:  # a poselab model's backbone names the run's scale (poselab.scale)
            self.save_hyperparameters(adapter.hparams, logger=False)
        self.test_mpjpe, self.test_pmpjpe, self.test_jdr = MPJPE(), PMPJPE(), JDR()

    def forward(self, images: Tensor, batch: Batch) -> dict[str, Tensor]:
        return self.adapter(images, batch)

    def pose_target(self, batch: Batch) -> Tensor:
        return self.adapter.pose_target(batch)

    def setup(self, stage: str) -> None:
        destroy_process_group_at_exit()  # gloo (CPU DDP) ranks must not free work while the interpreter exits

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        log_pose_metrics(self, self(batch["images"].float(), batch), batch, "test")


def make_datamodule(data: Any, input_size: int | None, options: Mapping[str, Any] | None = None
                    ) -> pl.LightningDataModule:
    """A LightningDataModule as given, or a ``PoseDataModule`` of a data name (:data:`DATA_NAMES`, at
    ``input_size`` px) or of YAML data config paths (later files win), ``options`` applied last."""
    from poselab.data.config import data_kwargs, is_config
    from poselab.data.datamodule import PoseDataModule

    if isinstance(data, pl.LightningDataModule):
        if options:
            raise DataError("data_options apply to a data name or config, not to a given LightningDataModule")
        return data
    if isinstance(data, str) and data in DATA_NAMES:
        kwargs = data_kwargs([project_path("configs", "data", f"{data}.yaml")])
        if input_size is not None:
            kwargs["image_size"] = input_size
    else:
        paths = [data] if isinstance(data, (str, Path)) else list(data)
        if not paths or not all(is_config(str(p)) for p in paths):
            raise DataError(f"data must be one of {', '.join(DATA_NAMES)}, YAML data config path(s) or a "
                            f"LightningDataModule, got {data!r}")
        try:
            kwargs = data_kwargs(paths)
        except ValueError as err:
            raise DataError(str(err)) from None
    kwargs.update(options or {})
    try:
        return PoseDataModule(**kwargs)
    except TypeError as err:
        raise DataError(f"bad data option: {err}") from None


def check_image_size(input_size: int | None, datamodule: Any, allow: bool = False) -> None:
    """:class:`ImageSizeMismatchError` (``allow``: a warning) when the data's ``hparams.image_size`` is known
    and differs from the model's ``input_size``."""
    hp = getattr(datamodule, "hparams", None) or {}
    size = hp.get("image_size") if hasattr(hp, "get") else None
    if input_size is None or size is None or int(size) == int(input_size):
        return
    msg = f"the data's image_size is {size} px but the model declares input_size {input_size} px"
    if allow:
        import warnings

        warnings.warn(msg + " (allowed by allow_image_size_mismatch)", stacklevel=3)
        return
    raise ImageSizeMismatchError(f"{msg}: give data at {input_size} px, or allow the mismatch explicitly "
                                 "(allow_image_size_mismatch=True; --allow-image-size-mismatch)")


def evaluate(model: Any, data: Any = "synthetic", preset: str | None = "quick", out: str | Path | None = None,
             *, allow_image_size_mismatch: bool = False, data_options: Mapping[str, Any] | None = None,
             trainer_options: Mapping[str, Any] | None = None, wandb: bool = True, offline: bool = True,
             group: str | None = None, save_dir: str | Path = "runs", seed: int = 0,
             **overrides: Any) -> list[dict[str, Any]]:
    """Evaluate ``model`` (an adapter, a poselab model, checkpoint path or baseline name, or a module the
    adapter wraps) under ``preset`` (None: give ``experiments=``); write the results folder (``out``, default
    ``results/attack-<preset>``), run report, CSV log and W&B run (under ``save_dir``; group: the preset) and
    return the rows (rank 0; other ranks and the caller of ``ddp_spawn`` get ``[]``). ``overrides``:
    ``AttackEvaluation`` arguments; the other options: docs/EXTENDING.md.
    """
    from poselab.evaluation.callback import AttackEvaluation

    adapter = _checkpoint_adapter(model) if isinstance(model, (str, Path)) else as_adapter(model)
    options: dict[str, Any] = {"preset": str(preset)} if preset is not None else {}
    options.update(overrides)
    grid = Path(str(preset)).stem if preset is not None else "custom"
    options["out_dir"] = str(out) if out is not None else options.get("out_dir", f"results/attack-{grid}")
    if "experiments" not in options and "preset" not in options:
        raise AttackConfigError("no attack grid: give a preset name or experiments=[...]")
    datamodule = make_datamodule(data, adapter.input_size, data_options)
    check_image_size(adapter.input_size, datamodule, allow_image_size_mismatch)
    callback = AttackEvaluation(**options)  # checks every option before any work
    pl.seed_everything(seed, verbose=False)
    module = EvaluatedModel(adapter)
    trainer_kwargs: dict[str, Any] = {
        "accelerator": "auto", "devices": 1, "precision": "32-true", "enable_checkpointing": False,
        "enable_model_summary": False, "default_root_dir": str(save_dir),
        "limit_test_batches": callback.max_batches or 1.0,
        **dict(trainer_options or {}),
    }
    trainer_kwargs["callbacks"] = [callback, *trainer_kwargs.get("callbacks", [])]
    if "logger" not in trainer_kwargs:  # absolute: W&B's service may run in another working directory
        config = {"preset": preset, "options": options, "data": str(data)}
        from poselab.data.datamodule import dataset_label
        from poselab.scale import run_scale
        from poselab.wandb.naming import job_type_for

        trainer_kwargs["logger"] = run_loggers(
            Path(save_dir).absolute(), "runs folder (save_dir)", module.name, run_scale(module, datamodule),
            wandb, offline, job_type_for("test"), group=group or grid, dataset=dataset_label(datamodule),
            config=config)
    precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high")  # as poselab test
    try:
        trainer = pl.Trainer(**trainer_kwargs)
        trainer.test(module, datamodule=datamodule)
    finally:
        torch.set_float32_matmul_precision(precision)
        if wandb and trainer_kwargs["logger"]:
            from poselab.wandb.runs import finish_active_run

            finish_active_run()
    return list(callback.rows)


def _checkpoint_adapter(path: str | Path) -> PoseAdapter:
    """A poselab checkpoint file, or a baseline's name for its shipped checkpoint."""
    from poselab.models.registry import MODELS
    from poselab.paths import checkpoint_path

    if isinstance(path, str) and path in MODELS:
        return PoseAdapter.from_checkpoint(checkpoint_path(path), path)
    return PoseAdapter.from_checkpoint(path)


def run_loggers(save_dir: str | Path, what: str, model: str, scale: str | None, wandb: bool, offline: bool,
                job_type: str, **wandb_args: Any) -> list:
    """A CSV log ``save_dir/csv/<model>[-<scale>]/version_<n>`` (rank 0 reserves the version) and, with
    ``wandb``, a W&B run under ``save_dir/wandb`` (``wandb_args``: :func:`make_logger`'s). ``what`` names
    ``save_dir`` when it is not writable."""
    from pytorch_lightning.loggers import CSVLogger
    from pytorch_lightning.utilities import rank_zero_only

    from poselab import safe_io
    from poselab.scale import scaled_name
    from poselab.wandb.naming import wandb_mode
    from poselab.wandb.runs import make_logger

    rank0 = getattr(rank_zero_only, "rank", 0) == 0
    if rank0:
        safe_io.check_writable(save_dir, what)
    csv_root, name = Path(save_dir) / "csv", scaled_name(model, scale)
    loggers: list = [CSVLogger(str(csv_root), name=name,
                               version=safe_io.reserve_version(csv_root / name) if rank0 else None)]
    if wandb:
        os.environ["WANDB_MODE"] = wandb_mode(offline)
        loggers.append(make_logger(job_type, model=model, scale=scale, save_dir=str(Path(save_dir) / "wandb"),
                                   offline=offline, **wandb_args))
    return loggers

