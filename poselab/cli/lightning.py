"""LightningCLI wiring for ``poselab fit|validate|test|predict``: Lightning's arguments plus ``checkpoint.*``
(:class:`PoseCheckpoint`), the named callbacks and ``run.*`` (:class:`RunOptions`); ``--ckpt_path`` is
checked (``weights_only=True``, model name, image size) before Lightning reads it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import RichProgressBar
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI

from poselab.cli.checks import (
    check_accelerator,
    check_image_size,
    class_path_of,
    has_attack_callback,
    model_class_of,
)
from poselab.cli.errors import ConfigError, reported
from poselab.cpus import usable_cpus
from poselab.models import MODELS
from poselab.models.base import PoseModel
from poselab.models.checkpoint import CheckpointError, checked_hyper_parameters, read_checkpoint
from poselab.plugins import import_plugins
from poselab.scale import run_scale
from poselab.training.callbacks import ChannelsLast, PoseCheckpoint, ReseedEachEpoch
from poselab.yaml_limits import install_jsonargparse_limit

install_jsonargparse_limit()  # configs whose aliases expand beyond yaml_limits.MAX_NODES: refused


@dataclass
class RunOptions:
    """Logging options (``run.*`` in configs).

    Args:
        wandb: add a W&B logger (offline unless ``offline: false`` or ``WANDB_MODE=online``).
        offline: keep W&B offline (runs under ``<save_dir>/wandb``; sync later with ``wandb sync``).
        save_dir: root folder of W&B and CSV logs.
        group: W&B group (default: the grid, :mod:`poselab.wandb.naming`).
        name: run name (default ``<model>-<dataset>-<job_type>-<UTC time>``, unique per invocation).
        channels_last: convert the model to ``channels_last`` memory format (GPU speed-up).
        threads: torch CPU threads (None: the CPUs this process may use, :func:`poselab.cpus.usable_cpus`).
        allow_untrained: let ``poselab test`` attack without ``--ckpt_path`` (an untrained network).
        allow_image_size_mismatch: only warn (instead of refusing) when ``--ckpt_path``'s training image
            size differs from ``data.image_size``.
        plugins: modules to import before the configs are used (:mod:`poselab.plugins`).
    """

    wandb: bool = True
    offline: bool = True
    save_dir: str = "runs"
    group: str | None = None
    name: str | None = None
    channels_last: bool = False
    threads: int | None = None
    allow_untrained: bool = False
    allow_image_size_mismatch: bool = False
    plugins: list[str] = field(default_factory=list)


class PoseLightningCLI(LightningCLI):
    """LightningCLI with poselab's checkpointing, loggers and checkpoint checks."""

    #: W&B run of ``fit --ckpt_path``'s checkpoint, resumed.
    _resume_run_id: str | None = None
    _resume_run_name: str | None = None

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        from poselab.evaluation.callback import AttackEvaluation
        from poselab.training.adversarial import AdversarialTraining

        parser.add_lightning_class_args(PoseCheckpoint, "checkpoint")
        # Named, optional callbacks: each config sets its own key, so they compose (unlike a
        # trainer.callbacks list, which the last --config replaces).
        for cls, key in ((AttackEvaluation, "attack_evaluation"),
                         (AdversarialTraining, "adversarial_training")):
            parser.add_lightning_class_args(cls, key, subclass_mode=True, required=False)
        parser.add_class_arguments(RunOptions, "run")

    def before_instantiate_classes(self) -> None:
        """Import the plug-ins, set the threads; a multi-view model sees every view (no random view)."""
        cfg = self.config.get(self.subcommand) if self.subcommand else self.config
        try:
            import_plugins(cfg.get("run", {}).get("plugins") or [])
        except ValueError as err:
            raise ConfigError(f"run.plugins: {err}") from None
        threads = cfg.get("run", {}).get("threads") or usable_cpus()
        if threads != torch.get_num_threads():
            torch.set_num_threads(int(threads))
        data = cfg.get("data")
        if data is not None and "train_random_view" in data and data["train_random_view"]:
            if getattr(model_class_of(cfg.get("model")), "multiview", False):
                data["train_random_view"] = False

    def instantiate_trainer(self, **kwargs: Any) -> pl.Trainer:
        trainer_cfg = self._get(self.config_init, "trainer", default={}) or {}
        if trainer_cfg.get("logger") in (None, True):
            kwargs["logger"] = self._make_loggers()
        if trainer_cfg.get("enable_progress_bar") is False:  # no rich bar then
            defaults = self.trainer_defaults.get("callbacks", [])
            callbacks = [c for c in defaults if not isinstance(c, RichProgressBar)]
            self.trainer_defaults = {**self.trainer_defaults, "callbacks": callbacks}
        trainer = super().instantiate_trainer(**kwargs)
        from poselab.wandb.resume import RecordRunId

        trainer.callbacks.append(RecordRunId())  # full checkpoints record the W&B run id (resume)
        if self.subcommand == "fit" and trainer.loggers:  # warm-up + cosine: the learning rate per step
            from pytorch_lightning.callbacks import LearningRateMonitor

            trainer.callbacks.append(LearningRateMonitor(logging_interval="step"))
        if self._get(self.config_init, "run").channels_last:
            trainer.callbacks.append(ChannelsLast())
        return trainer

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list) -> pl.Trainer:
        """The named callbacks that a config sets (``attack_evaluation``, ...); the others are None."""
        return super()._instantiate_trainer(config, [c for c in callbacks if c is not None])

    def _make_loggers(self) -> list:
        from poselab.data.datamodule import dataset_label
        from poselab.evaluation.api import run_loggers
        from poselab.wandb.naming import job_type_for

        run = self._get(self.config_init, "run")
        config = self.config.get(self.subcommand) if self.subcommand else self.config
        job_type = job_type_for(self.subcommand or "fit")
        grid = self._grid(job_type, config) if run.wandb else None
        return run_loggers(run.save_dir, "runs folder (run.save_dir)",
                           getattr(self.model, "name", type(self.model).__name__),
                           run_scale(self.model, self.datamodule), run.wandb, run.offline, job_type,
                           group=run.group or grid, grid=grid, dataset=dataset_label(self.datamodule),
                           name=run.name or self._resume_run_name, config=config, run_id=self._resume_run_id)

    def _grid(self, job_type: str, config: Any) -> str:
        """The run's grid, its default W&B group (:mod:`poselab.wandb.naming`)."""
        from poselab.wandb.naming import attack_group, train_group

        files = list((config.get("config") if hasattr(config, "get") else None) or [])
        if job_type != "attack":
            return train_group(files)
        callback = self._get(self.config_init, "attack_evaluation")
        preset = getattr(callback, "preset", None)  # a name, or a mapping / object holding one
        name = preset.get("name") if hasattr(preset, "get") else getattr(preset, "name", preset)
        return attack_group(str(name) if name else None, files, getattr(callback, "out_dir", None))

    def _finish_wandb(self) -> None:
        """Close the W&B run so the next run in this process starts a fresh one."""
        from pytorch_lightning.loggers import WandbLogger

        if any(isinstance(lg, WandbLogger) for lg in self.trainer.loggers):
            from poselab.wandb.runs import finish_active_run

            finish_active_run()

    def after_fit(self) -> None:
        self._finish_wandb()
        ckpt = next((c for c in self.trainer.callbacks if isinstance(c, PoseCheckpoint)), None)
        if ckpt is not None and self.trainer.is_global_zero:
            print(f"poselab fit: checkpoints written to {ckpt.dirpath}/ (best: "
                  f"{ckpt.best_model_path or '-'}, last: {ckpt.last_model_path or '-'})")

    after_validate = after_test = after_predict = _finish_wandb

    # ------------------------------------------------------------------ checkpoint checks
    def _parse_ckpt_path(self) -> None:
        """Check the run and ``--ckpt_path`` (``last``: ``<dirpath>/<model>-last.ckpt``) after parsing, before
        any class is instantiated."""
        sub = self.config.get("subcommand")
        cfg = self.config.get(sub) if sub else None
        if cfg is not None:
            check_accelerator(cfg.get("trainer") or {})
            if sub == "test" and cfg.get("ckpt_path") is None and has_attack_callback(cfg) \
                    and not (cfg.get("run") or {}).get("allow_untrained"):
                raise ConfigError("ckpt_path: an attack evaluation needs a trained model: pass --ckpt_path "
                                  "checkpoints/<model>.ckpt (or --run.allow_untrained true to attack an "
                                  "untrained network on purpose)")
        if cfg is None or cfg.get("ckpt_path") is None:
            return
        class_path, cls = class_path_of(cfg.get("model")), model_class_of(cfg.get("model"))
        expected = getattr(cls, "name", None)
        path = cfg["ckpt_path"]
        if path == "last":
            path = str(Path(cfg["checkpoint"]["dirpath"]) / f"{expected}-last.ckpt")
            cfg["ckpt_path"] = path
        ckpt = read_checkpoint(path, expected_model=expected, lightning=True)
        check_image_size(ckpt, path, cfg)
        if sub == "fit":
            from poselab.wandb.resume import run_id_of, run_name_of

            self._resume_run_id, self._resume_run_name = run_id_of(ckpt), run_name_of(ckpt)
        # Not Lightning's own: it lets jsonargparse import whatever module the checkpoint's ``_class_path``
        # names. The class is the one on the command line; the checkpoint only gives plain-data arguments.
        if cls is None:
            raise CheckpointError(f"checkpoint {path}: the model class {class_path!r} could not be resolved")
        hparams = checked_hyper_parameters(ckpt, path, cls,
                                           {f"poselab.models.{m.__name__}" for m in MODELS.values()}
                                           | {class_path})
        if hparams:
            self.config = self.parser.parse_object(
                {sub: {"model": {"class_path": class_path, "init_args": hparams}}}, self.config)


SUBCOMMANDS = ("fit", "validate", "test", "predict")


def run_lightning_cli(
    argv: list[str] | None = None, run: bool = True, exit_on_error: bool = True
) -> PoseLightningCLI:
    """Run ``fit|validate|test|predict`` with poselab's configs; returns the CLI object. A user's mistake is
    one line and exit status 2, or raised with ``exit_on_error`` False (:func:`poselab.cli.errors.reported`).
    """
    import sys

    from poselab.data.datamodule import PoseDataModule

    torch.set_float32_matmul_precision("high")
    args = None if argv is not None and list(argv) == sys.argv[1:] else argv
    given = list(sys.argv[1:] if argv is None else argv)
    subcommand = next((a for a in given if a in SUBCOMMANDS), None)
    return reported(lambda: PoseLightningCLI(
        PoseModel,
        PoseDataModule,
        subclass_mode_model=True,
        seed_everything_default=0,
        trainer_defaults={"callbacks": [RichProgressBar(leave=True), ReseedEachEpoch()]},
        save_config_kwargs={"overwrite": True},
        parser_kwargs={"exit_on_error": False},
        args=args,
        run=run,
    ), subcommand, exit_on_error)
