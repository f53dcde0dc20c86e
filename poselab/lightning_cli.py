"""LightningCLI wiring for ``poselab fit|validate|test|predict``.

Composition (what ``make train`` runs)::

    poselab fit --config configs/model/<model>.yaml --config configs/data/<data>.yaml \\
                --config configs/trainer/<trainer>.yaml [overrides, e.g. --trainer.max_steps 10]

Later arguments override earlier ones, so a trainer config can resize the model and the data
(``model.init_args.backbone``, ``data.image_size``). Added on top of Lightning's own arguments:

* ``checkpoint.*``: :class:`PoseCheckpoint` (``runs/checkpoints/<model>.ckpt`` best by ``val/mpjpe``,
  ``runs/checkpoints/<model>-last.ckpt`` last, also every ``checkpoint.last_every_n_train_steps`` steps;
  only ``--checkpoint.dirpath checkpoints`` replaces the shipped files);
  ``--ckpt_path last`` resumes from the latter, also mid-epoch (resumable training loader, RNGs reseeded
  from the step: same final state as an uninterrupted run).
* ``run.*``: logging (W&B offline by default under ``runs/wandb``, plus a CSV log under ``runs/csv``).

Checkpoints given with ``--ckpt_path`` are checked first (``weights_only=True``, model name), so a
corrupt file or another model's checkpoint is one clear error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint, RichProgressBar
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI

from poselab.models import MODELS
from poselab.models.base import PoseModel
from poselab.models.checkpoint import CheckpointError, checked_hyper_parameters, read_checkpoint
from poselab.plugins import import_plugins
from poselab.scale import run_scale, scaled_name
from poselab.wandb_utils import DEFAULT_GROUP


class PoseCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` writing ``<dirpath>/<model>.ckpt`` (best) and ``<dirpath>/<model>-last.ckpt``.

    ``dirpath`` defaults to ``runs/checkpoints``: training never overwrites the shipped, git-tracked
    ``checkpoints/<model>.ckpt`` unless asked (``--checkpoint.dirpath checkpoints``, ``make train SHIP=1``).

    Args:
        best_weights_only: save the best checkpoint without optimiser state (small files to ship);
            the last checkpoint always keeps everything needed to resume.
        last_every_n_train_steps: also write the last checkpoint every n training steps (mid-epoch;
            ``--ckpt_path last`` then resumes within the epoch). Unlike ``every_n_train_steps``, the
            best and last checkpoints are still written at every epoch end (after validation).
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
    """Re-seed all RNGs at the start of every training epoch and of every training batch.

    Epoch ``e`` starts from seed (run seed, e) and training step ``s`` from (run seed, s) - any
    randomness of a step (dropout, noise) depends only on the run seed and the step, not on how the run
    got there. Lightning does not checkpoint RNG states; with this a run resumed from
    ``<model>-last.ckpt``, also from a mid-epoch one (the training loader is resumable, see
    :mod:`poselab.data.resumable`), continues exactly as an uninterrupted one.
    """

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
        import random

        import numpy as np

        from poselab.data.synthetic.dataset import mix

        seed = mix(getattr(self, "base_seed", 0), trainer.global_step, 41) & 0xFFFFFFFF
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)  # CPU and every CUDA device


@dataclass
class RunOptions:
    """Logging options (``run.*`` in configs).

    Args:
        wandb: add a W&B logger (offline unless ``offline: false`` or ``WANDB_MODE=online``).
        offline: keep W&B offline (runs under ``<save_dir>/wandb``; sync later with ``wandb sync``).
        save_dir: root folder of W&B and CSV logs.
        group: W&B group (the experiment name).
        name: run name (default ``<model>-<dataset>-train``).
        channels_last: convert the model to ``channels_last`` memory format (GPU speed-up).
        threads: torch CPU threads (None: torch's default); 1 avoids thread thrashing on shared CPUs.
        allow_untrained: let ``poselab test`` with an ``AttackEvaluation`` callback run without
            ``--ckpt_path`` (attacks a freshly initialised network; refused by default).
        allow_image_size_mismatch: only warn (instead of refusing) when ``--ckpt_path``'s training image
            size differs from ``data.image_size``.
        plugins: modules to import before the configs are used (e.g. one registering your own attacks,
            :mod:`poselab.plugins`).
    """

    wandb: bool = True
    offline: bool = True
    save_dir: str = "runs"
    group: str = DEFAULT_GROUP
    name: str | None = None
    channels_last: bool = False
    threads: int | None = None
    allow_untrained: bool = False
    allow_image_size_mismatch: bool = False
    plugins: list[str] = field(default_factory=list)


class PoseLightningCLI(LightningCLI):
    """LightningCLI with poselab's checkpointing, loggers and checkpoint checks."""

    #: W&B run id recorded in ``fit --ckpt_path``'s checkpoint: the training run resumes that W&B run.
    _resume_run_id: str | None = None

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        from poselab.evaluation.callback import AttackEvaluation
        from poselab.training.adversarial import AdversarialTraining

        parser.add_lightning_class_args(PoseCheckpoint, "checkpoint")
        # Named, optional callbacks: each config sets its own key, so they compose (unlike a
        # trainer.callbacks list, which the last --config replaces).
        named: tuple[tuple[type, str], ...] = (
            (AttackEvaluation, "attack_evaluation"), (AdversarialTraining, "adversarial_training"))
        for cls, key in named:
            parser.add_lightning_class_args(cls, key, subclass_mode=True, required=False)
        parser.add_class_arguments(RunOptions, "run")

    def before_instantiate_classes(self) -> None:
        """The multi-view model always sees every view: switch off the data's random single view."""
        cfg = self.config.get(self.subcommand) if self.subcommand else self.config
        try:
            import_plugins(cfg.get("run", {}).get("plugins") or [])
        except ValueError as err:
            raise ConfigError(f"run.plugins: {err}") from None
        threads = cfg.get("run", {}).get("threads")
        if threads:
            torch.set_num_threads(int(threads))
        data = cfg.get("data")
        if data is not None and "train_random_view" in data and data["train_random_view"]:
            if getattr(_model_class(cfg.get("model")), "multiview", False):
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
        from poselab.wandb_resume import RecordRunId

        trainer.callbacks.append(RecordRunId())  # full checkpoints record the W&B run id (resume)
        if self._get(self.config_init, "run").channels_last:
            trainer.callbacks.append(ChannelsLast())
        return trainer

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list) -> pl.Trainer:
        """The named callbacks that a config sets (``attack_evaluation``, ...); the others are None."""
        return super()._instantiate_trainer(config, [c for c in callbacks if c is not None])

    def _make_loggers(self) -> list:
        from pytorch_lightning.loggers import CSVLogger
        from pytorch_lightning.utilities import rank_zero_only

        from poselab import safe_io, wandb_utils

        run = self._get(self.config_init, "run")
        model_name = getattr(self.model, "name", type(self.model).__name__)
        dataset = self._dataset_name()
        scale = run_scale(self.model, self.datamodule)
        # runs/csv/<model>[-<scale>]/version_<n>: runs of two scales never share a version folder; two runs
        # started at once never share one either (rank 0 reserves it; other ranks write no CSV)
        csv_root, name = Path(run.save_dir) / "csv", scaled_name(model_name, scale)
        rank0 = getattr(rank_zero_only, "rank", 0) == 0
        version = safe_io.reserve_version(csv_root / name) if rank0 else None
        loggers: list = [CSVLogger(str(csv_root), name=name, version=version)]
        if run.wandb:
            os.environ["WANDB_MODE"] = wandb_utils.wandb_mode(run.offline)
            config = self.config.get(self.subcommand) if self.subcommand else self.config
            loggers.append(
                wandb_utils.make_logger(
                    wandb_utils.job_type_for(self.subcommand or "fit"), group=run.group, model=model_name,
                    dataset=dataset, name=run.name, config=config,
                    scale=scale,
                    save_dir=str(Path(run.save_dir) / "wandb"), offline=run.offline,
                    run_id=self._resume_run_id,
                )
            )
        return loggers

    def _dataset_name(self) -> str | None:
        from poselab.data.datamodule import dataset_label

        return dataset_label(self.datamodule)

    def _finish_wandb(self) -> None:
        """Close the W&B run so the next run in this process starts a fresh one."""
        from pytorch_lightning.loggers import WandbLogger

        if any(isinstance(lg, WandbLogger) for lg in self.trainer.loggers):
            from poselab import wandb_utils

            wandb_utils.finish_active_run()

    def after_fit(self) -> None:
        self._finish_wandb()
        ckpt = next((c for c in self.trainer.callbacks if isinstance(c, PoseCheckpoint)), None)
        if ckpt is not None and self.trainer.is_global_zero:
            print(f"poselab fit: checkpoints written to {ckpt.dirpath}/ (best: "
                  f"{ckpt.best_model_path or '-'}, last: {ckpt.last_model_path or '-'})")

    def after_validate(self) -> None:
        self._finish_wandb()

    def after_test(self) -> None:
        self._finish_wandb()

    def after_predict(self) -> None:
        self._finish_wandb()

    # ------------------------------------------------------------------ checkpoint checks
    def _parse_ckpt_path(self) -> None:
        """Check the run (accelerator, attack without checkpoint) and ``--ckpt_path`` (``last`` ->
        ``<dirpath>/<model>-last.ckpt``, model, image size) before Lightning reads it; the first hook after
        parsing, before any class is instantiated."""
        sub = self.config.get("subcommand")
        cfg = self.config.get(sub) if sub else None
        if cfg is not None:
            _check_accelerator(cfg.get("trainer") or {})
            if sub == "test" and cfg.get("ckpt_path") is None and _has_attack_callback(cfg) \
                    and not (cfg.get("run") or {}).get("allow_untrained"):
                raise ConfigError("ckpt_path: an attack evaluation needs a trained model: pass --ckpt_path "
                                  "checkpoints/<model>.ckpt (or --run.allow_untrained true to attack an "
                                  "untrained network on purpose)")
        if cfg is None or cfg.get("ckpt_path") is None:
            return
        expected = _model_name(cfg.get("model"))
        path = cfg["ckpt_path"]
        if path == "last":
            path = str(Path(cfg["checkpoint"]["dirpath"]) / f"{expected}-last.ckpt")
            cfg["ckpt_path"] = path
        ckpt = read_checkpoint(path, expected_model=expected)
        _check_image_size(ckpt, path, cfg)
        if sub == "fit":
            from poselab.wandb_resume import run_id_of

            self._resume_run_id = run_id_of(ckpt)
        # Lightning's own _parse_ckpt_path hands the checkpoint's ``_class_path`` to jsonargparse, which
        # imports whatever module it names: instead the class is the one named on the command line, and the
        # checkpoint only supplies plain-data arguments of it (checked_hyper_parameters).
        class_path, cls = _class_path(cfg.get("model")), _model_class(cfg.get("model"))
        if cls is None:
            raise CheckpointError(f"checkpoint {path}: the model class {class_path!r} could not be resolved")
        hparams = checked_hyper_parameters(ckpt, path, cls,
                                           {f"poselab.models.{cls.__name__}" for cls in MODELS.values()}
                                           | {class_path})
        if hparams:
            self.config = self.parser.parse_object(
                {sub: {"model": {"class_path": class_path, "init_args": hparams}}}, self.config)


def _check_image_size(ckpt: dict[str, Any], path: str, cfg: Any) -> None:
    """Refuse (or, with ``run.allow_image_size_mismatch``, warn about) a checkpoint trained on another crop
    size than ``data.image_size``: its numbers would measure something else (a 64 px model on 128 px
    crops scores about twice its error)."""
    trained = (ckpt.get("datamodule_hyper_parameters") or {}).get("image_size")
    data = cfg.get("data") or {}
    wanted = data.get("image_size") if hasattr(data, "get") else None
    if trained is None or wanted is None or int(trained) == int(wanted):
        return
    msg = (f"data.image_size is {wanted} px but checkpoint {path} was trained on {trained} px crops; pass "
           f"--data.image_size {trained} (or the trainer config it was trained with, e.g. TRAINER=cpu for "
           "the shipped checkpoints)")
    if (cfg.get("run") or {}).get("allow_image_size_mismatch"):
        import warnings

        warnings.warn(msg + " (allowed by run.allow_image_size_mismatch)", stacklevel=2)
        return
    raise ConfigError(msg + ", or --run.allow_image_size_mismatch true to evaluate it anyway")


def _check_accelerator(trainer_cfg: Any) -> None:
    """``trainer.accelerator: gpu/cuda`` on a machine without a CUDA GPU is one clear error."""
    accel = trainer_cfg.get("accelerator") if hasattr(trainer_cfg, "get") else None
    if isinstance(accel, str) and accel.lower() in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError(f"trainer.accelerator is {accel!r} but no CUDA GPU is available here; use the "
                          "CPU trainer config (TRAINER=cpu, configs/trainer/cpu.yaml) or "
                          "--trainer.accelerator cpu")


def _has_attack_callback(cfg: Any) -> bool:
    """Whether the config sets the named ``attack_evaluation`` callback (or lists an
    :class:`~poselab.evaluation.callback.AttackEvaluation` under ``trainer.callbacks``)."""
    if cfg.get("attack_evaluation") is not None:
        return True
    callbacks = (cfg.get("trainer") or {}).get("callbacks") or []
    callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
    return any(str(getattr(c, "class_path", None) or (c.get("class_path") if hasattr(c, "get") else "")
                   ).endswith("AttackEvaluation") for c in callbacks)


def _class_path(model_cfg: Any) -> str | None:
    """The ``class_path`` of a parsed ``model`` config (as given on the command line or in a config file)."""
    return getattr(model_cfg, "class_path", None) or (model_cfg or {}).get("class_path")


def _model_class(model_cfg: Any) -> type | None:
    """The model class of a parsed ``model`` config (None if it cannot be told)."""
    import importlib

    class_path = _class_path(model_cfg)
    if not class_path:
        return None
    module, _, name = class_path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return None


def _model_name(model_cfg: Any) -> str | None:
    """Registry name of the model class in a parsed ``model`` config (None if it cannot be told)."""
    return getattr(_model_class(model_cfg), "name", None)


class ConfigError(ValueError):
    """A configuration key or value that the CLI does not accept."""


_NOISE = ("Given value", "Expected a <class 'NoneType'>", "Subtypes:", "Errors:", "Does not validate against")


def _config_message(err: BaseException) -> str:
    """jsonargparse's (multi-line) message reduced to its informative lines."""
    lines = [ln.strip(" -") for ln in str(err).splitlines()]
    return "; ".join(ln for ln in lines if ln and not ln.startswith(_NOISE))


SUBCOMMANDS = ("fit", "validate", "test", "predict")


def _user_error(err: BaseException) -> BaseException | None:
    """The data or attack-config error behind ``err`` (itself, or the cause jsonargparse wrapped), else None.

    Only poselab's own error types count (:class:`~poselab.data.errors.DataError`,
    :class:`~poselab.experiments.base.AttackConfigError`), so genuine bugs keep their traceback; only
    generic wrappers (plain ``ValueError``/``TypeError``, as jsonargparse raises when a class given in a
    config fails to instantiate) are looked through.
    """
    from poselab.data.errors import DataError
    from poselab.experiments.base import AttackConfigError

    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (DataError, AttackConfigError)):
            return current
        if type(current) not in (ValueError, TypeError):
            return None
        current = current.__cause__
    return None


def _user_message(err: BaseException) -> str:
    """A data/attack error's message (a DataLoader worker's traceback reduced to the original one)."""
    from poselab.data.errors import worker_message

    return worker_message(str(err), type(err))


def run_lightning_cli(
    argv: list[str] | None = None, run: bool = True, exit_on_error: bool = True
) -> PoseLightningCLI:
    """Run ``fit|validate|test|predict`` with poselab's configs; returns the CLI object.

    A bad config key/value (:class:`ConfigError`) or a missing, corrupt or foreign ``--ckpt_path``
    (:class:`~poselab.models.checkpoint.CheckpointError`) is reported as one ``poselab: error: ...``
    line with exit status 2, or raised when ``exit_on_error`` is False. So are data errors (a missing
    Human3.6M root, labels or image: :class:`~poselab.data.errors.DataError`, also when raised in a
    DataLoader worker) and bad attack settings of the ``AttackEvaluation`` callback
    (:class:`~poselab.experiments.base.AttackConfigError`, also when wrapped by jsonargparse), as
    ``poselab <subcommand>: error: ...``; with ``exit_on_error`` False the error itself is raised.
    """
    import argparse
    import sys

    from poselab.data.datamodule import PoseDataModule
    from poselab.safe_io import LockedError, NotWritableError, ResultsNotSavedError

    torch.set_float32_matmul_precision("high")
    args = None if argv is not None and list(argv) == sys.argv[1:] else argv
    given = list(sys.argv[1:] if argv is None else argv)
    subcommand = next((a for a in given if a in SUBCOMMANDS), None)
    try:
        try:
            return PoseLightningCLI(
                PoseModel,
                PoseDataModule,
                subclass_mode_model=True,
                seed_everything_default=0,
                trainer_defaults={"callbacks": [RichProgressBar(leave=True), ReseedEachEpoch()]},
                save_config_kwargs={"overwrite": True},
                parser_kwargs={"exit_on_error": False},
                args=args,
                run=run,
            )
        except argparse.ArgumentError as err:
            raise ConfigError(f"bad configuration: {_config_message(err)}") from None
    except (ConfigError, CheckpointError) as err:
        if not exit_on_error:
            raise
        print(f"poselab: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except (NotWritableError, LockedError, ResultsNotSavedError) as err:
        if not exit_on_error:
            raise
        prog = f"poselab {subcommand}" if subcommand else "poselab"
        print(f"{prog}: error: {err}", file=sys.stderr)
        raise SystemExit(1 if isinstance(err, ResultsNotSavedError) else 2) from None
    except (ValueError, TypeError) as err:  # DataError/AttackConfigError are ValueErrors
        user = _user_error(err)
        if user is None:
            raise
        if not exit_on_error:
            raise user from None
        prog = f"poselab {subcommand}" if subcommand else "poselab"
        print(f"{prog}: error: {_user_message(user)}", file=sys.stderr)
        raise SystemExit(2) from None


__all__ = ["ChannelsLast", "CheckpointError", "ConfigError", "PoseCheckpoint", "PoseLightningCLI",
           "ReseedEachEpoch", "RunOptions", "run_lightning_cli"]
