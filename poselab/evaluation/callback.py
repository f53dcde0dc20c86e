"""``AttackEvaluation``: the Lightning callback that runs the adversarial experiments during ``poselab test``
(named callback ``attack_evaluation``; docs/EVALUATION.md). It re-enables gradients locally under Lightning's
``inference_mode`` and attacks a clone of each batch, the model in eval mode with frozen weights."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import pytorch_lightning as pl
import torch

from poselab import safe_io
from poselab.attacks.base import attack_mode, clone_tensors
from poselab.attacks.sweep import AutoBatch, MaxBatch, index_batch
from poselab.data.datamodule import dataset_label
from poselab.distributed import destroy_process_group_at_exit
from poselab.evaluation.checks import sanity_flags, start_checks
from poselab.evaluation.cost import cost_line
from poselab.evaluation.grid import resolve_grid
from poselab.evaluation.loaders import batches_attacked, images_attacked, loaders_fingerprint, num_views
from poselab.evaluation.output import finish_run
from poselab.evaluation.presets import FROM_PRESET, FromPreset, Preset
from poselab.experiments import state as partial
from poselab.experiments.base import Experiment
from poselab.experiments.cells import CellMetrics
from poselab.experiments.keys import ResultKey
from poselab.experiments.progress import AttackProgress
from poselab.experiments.runner import Example, RunContext, run_experiment
from poselab.results import meta as meta_keys
from poselab.results.meta import Flag
from poselab.results.schema import columns_of
from poselab.safe_io import write_csv
from poselab.scale import run_scale
from poselab.wandb.runs import logger_meta


class AttackEvaluation(pl.Callback):
    """Adversarial evaluation at test time. Options left at ``"preset"`` take the preset's value, else
    :data:`poselab.evaluation.presets.DEFAULTS`; one given explicitly is recorded in ``preset.overrides``.

    Args:
        experiments: experiment dicts, each a registered ``kind`` (untargeted, ...) and its options.
        alpha_ratio: IGSM step size as a fraction of eps (paper: 1/8), > 0.
        max_batch: most image rows per forward pass (None/"auto": adaptive; fixed: results reproducible).
        max_batches: attack only the first N test batches (None: all).
        max_samples: attack only the first N samples of each test batch (None: all).
        out_dir: results root; files go to ``out_dir/run_name``.
        run_name: results folder name (default ``<model>-<dataset>``).
        model_name, dataset_name: names written in the results (default: from the model/datamodule).
        examples: example panels per experiment (from the first batch, rank 0).
        random_start: PGD-style random start for the iterative attacks.
        print_tables: print the markdown tables at the end of testing.
        save_every: save the partial state every N attacked batches (1: every experiment; None: never).
        resume: continue from a saved partial state of the same configuration (exact without random_start).
        jdr_definition: the JDR of the multi-view rows (:data:`poselab.metrics.JDR_DEFINITIONS`).
        threads: torch CPU threads while attacking, as float sums depend on it (null: leave as is).
        allow_long_grid: run a grid above :data:`poselab.evaluation.cost.MAX_PASSES_PER_IMAGE` anyway.
        preset: a named preset (quick, paper, standard, corruptions, full) or a preset YAML path.
    """

    def __init__(
        self,
        experiments: list[dict[str, Any]] | FromPreset = FROM_PRESET,
        alpha_ratio: float | FromPreset = FROM_PRESET,
        max_batch: int | Literal["auto"] | None | FromPreset = FROM_PRESET,
        max_batches: int | None | FromPreset = FROM_PRESET,
        max_samples: int | None | FromPreset = FROM_PRESET,
        out_dir: str = "results",
        run_name: str | None = None,
        model_name: str | None = None,
        dataset_name: str | None = None,
        examples: int = 1,
        random_start: bool | FromPreset = FROM_PRESET,
        print_tables: bool = True,
        save_every: int | None = 1,
        resume: bool = True,
        jdr_definition: str | FromPreset = FROM_PRESET,
        threads: int | None | FromPreset = FROM_PRESET,
        allow_long_grid: bool = False,
        preset: str | None = None,
    ) -> None:
        super().__init__()
        grid = resolve_grid(preset, {
            "experiments": experiments, "alpha_ratio": alpha_ratio, "max_batch": max_batch,
            "max_batches": max_batches, "max_samples": max_samples, "random_start": random_start,
            "jdr_definition": jdr_definition, "threads": threads}, save_every, examples, allow_long_grid,
            {"run_name": run_name, "model_name": model_name, "dataset_name": dataset_name})
        self.preset: Preset | None = grid.preset
        self.overrides = grid.overrides
        self.specs: list[Experiment] = grid.specs
        self._cost = grid.cost
        self._numerics = grid.numerics
        self.jdr_definition = grid.jdr_definition
        self.alpha_ratio = grid.alpha_ratio
        self.max_batch = grid.max_batch
        self.auto_batch: AutoBatch | None = AutoBatch() if grid.max_batch in (None, "auto") else None
        self.max_batches = grid.max_batches
        self.max_samples = grid.max_samples
        self.out_dir = out_dir
        self.run_name = run_name
        self.model_name = model_name
        self.dataset_name = dataset_name
        self.examples = examples
        self.random_start = grid.random_start
        self.print_tables = print_tables
        self.save_every = save_every
        self.resume = resume
        self.rows: list[dict[str, Any]] = []
        self._loaders: list = []
        self._lock: safe_io.RunLock | None = None
        #: set when the final results could not be written (the tables were printed instead)
        self.write_error: BaseException | None = None
        self._reset()

    def _reset(self) -> None:
        """The state of one test run."""
        self.cell_metrics: CellMetrics | None = None
        self.example_list: list[Example] = []
        #: attacked batches per dataloader (batch_idx < done), those loaded from a partial state, and the
        #: experiments done in a batch (dataloader -> (batch, experiments))
        self.done: dict[int, int] = {}
        self.resumed: dict[int, int] = {}
        self.within: dict[int, tuple[int, int]] = {}
        self._since_save = 0
        self._state: partial.PartialState | None = None
        self._progress_bar: AttackProgress | None = None
        self._start_flags: list[Flag] | None = None

    @property
    def cells(self) -> dict[str, ResultKey]:
        """Metric key -> results cell (empty until the test data's views are known)."""
        return self.cell_metrics.cells if self.cell_metrics is not None else {}

    # ------------------------------------------------------------------------------ lifecycle
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        destroy_process_group_at_exit()  # gloo (CPU DDP) ranks must not free work while the interpreter exits
        if stage == "test":
            self._numerics.enter()  # fixed threads, deterministic kernels until teardown
            self._reset()

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Check the experiments' views against the test data, lock the results folder, print the cost."""
        loaders = trainer.test_dataloaders
        self._loaders = list(loaders) if isinstance(loaders, (list, tuple)) else [loaders]
        counts = [n for dl in self._loaders if (n := num_views(getattr(dl, "dataset", None))) is not None]
        for count in counts:
            self._check_views(count, _multiview(pl_module))
        if trainer.is_global_zero:  # before any attack: a writable folder, one run per folder
            run_dir = self._out(trainer, pl_module)
            safe_io.check_writable(run_dir, "attack results folder")
            self._lock = safe_io.RunLock(run_dir).acquire()
            images = images_attacked(self._loaders, trainer.num_test_batches, self.max_batches,
                                     self.max_samples)
            print(cost_line(self._cost, images), flush=True)
        if counts:
            self._start(trainer, pl_module, counts[0])

    def on_test_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any,
                          batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        if self.cell_metrics is None:  # the dataset did not tell its views: the first batch does
            self._start(trainer, pl_module, batch["images"].shape[1])
        if self.max_batches is not None and batch_idx >= self.max_batches:
            return
        if batch_idx < self.resumed.get(dataloader_idx, 0):
            return  # attacked before the crash: its metrics came from the partial state
        self._attack_batch(trainer, pl_module, batch, batch_idx, dataloader_idx)
        self.done[dataloader_idx] = batch_idx + 1
        self.within.pop(dataloader_idx, None)
        self._since_save += 1
        if self.save_every is not None and (self._since_save >= self.save_every or batch_idx == 0):
            self._save_all(trainer, pl_module, examples=batch_idx == 0,
                           state=self._since_save >= self.save_every)

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.cell_metrics is None:  # no test batch at all
            return
        model, dataset = self._names(trainer, pl_module)
        rows, joints = self.cell_metrics.collect(trainer.strategy, trainer.world_size, model, dataset)
        if trainer.is_global_zero:
            self.rows = rows  # finish_run adds each row's CI (in place)
            self.write_error = finish_run(
                self._out(trainer, pl_module), rows, joints, self._meta(trainer, pl_module, rows),
                self.example_list, trainer.loggers, self.print_tables,
                self.cell_metrics.worst_samples(model, dataset), self.cell_metrics.sample_values())
            if self.write_error is None:
                self._saved_state().clear()  # final results written (no rank saves any more)
        trainer.strategy.barrier("attack_evaluation_end")  # no rank tears down while rank 0 writes
        if self.write_error is not None:  # tables printed, partial state kept: fail the run
            raise self.write_error

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._release()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
                     ) -> None:
        self._release()

    def _release(self) -> None:
        """Restore the numerics settings and release the results folder's lock."""
        self._numerics.restore()
        if self._lock is not None:
            self._lock.release()

    # ------------------------------------------------------------------------------ steps
    def _start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, num_views: int) -> None:
        """Build the results cells for data of ``num_views`` views and resume a matching partial state."""
        multiview = _multiview(pl_module)
        self._check_views(num_views, multiview)
        with torch.inference_mode(False):  # Lightning tests in inference mode: metric states must be normal
            self.cell_metrics = CellMetrics(self.specs, multiview, num_views, self.jdr_definition).to(
                pl_module.device)
        self._state = partial.PartialState(self._out(trainer, pl_module), trainer.global_rank,
                                           self._fingerprint(trainer, pl_module))
        if not self.resume:
            return
        loaded = self._state.load(self.cell_metrics.metrics, trainer.is_global_zero)
        if loaded is None:
            return
        self.resumed = dict(loaded["done"])
        self.done = dict(self.resumed)
        self.within = dict(loaded["within"])
        if self.auto_batch is not None and loaded["auto_batch"] is not None:
            self.auto_batch.size = int(loaded["auto_batch"])
        if trainer.is_global_zero and self.examples:
            self.example_list = [Example(**item) for item in self._state.load_examples()]

    def _check_views(self, num_views: int, multiview: bool) -> None:
        for spec in self.specs:
            if spec.applies_to(multiview):
                spec.check_views(num_views, multiview)

    def _attack_batch(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int,
                      dataloader_idx: int) -> None:
        assert self.cell_metrics is not None
        multiview = _multiview(pl_module)
        sink = batch_idx == 0 and trainer.is_global_zero
        with attack_mode(pl_module):
            b = clone_tensors(batch)
            size = b["images"].shape[0]
            if self.max_samples is not None and size > self.max_samples:
                b = index_batch(b, torch.arange(self.max_samples), size)
            ctx = RunContext(model=pl_module, update=self.cell_metrics.update, alpha_ratio=self.alpha_ratio,
                             max_batch=self._max_batch(), examples=self.examples,
                             example_sink=self.example_list if sink and self.examples else None,
                             random_start=self.random_start)
            self._check_views(b["images"].shape[1], multiview)  # every experiment, before attacking
            if self._start_flags is None and trainer.is_global_zero:  # a few passes on the first batch
                self._start_flags = start_checks(pl_module, b, self.specs)
            specs = [spec for spec in self.specs if spec.applies_to(multiview)]
            progress = self._progress(trainer, specs, dataloader_idx)
            batch_of, first = self.within.get(dataloader_idx, (-1, 0))
            for i, spec in enumerate(specs):
                if batch_of == batch_idx and i < first:
                    continue  # done before the crash: its metrics came from the partial state
                run_experiment(spec, b, ctx)
                if progress is not None:  # one line per experiment with an ETA (rank 0)
                    progress.experiment_done(batch_idx, i)
                if self.save_every == 1 and i + 1 < len(specs):  # a crash loses at most one experiment
                    self.within[dataloader_idx] = (batch_idx, i + 1)
                    self._save_all(trainer, pl_module, examples=sink)

    def _save_all(self, trainer: pl.Trainer, pl_module: pl.LightningModule, examples: bool,
                  state: bool = True) -> None:
        """Save the example panels (with ``examples``) and the metric state, each on its own: a failed save
        only warns."""
        if examples and self.example_list:
            saved = self._saved_state()
            safe_io.try_save(lambda: saved.save_examples(self.example_list), "the example panels")
        if state:
            safe_io.try_save(lambda: self._save_partial(trainer, pl_module), "the partial state")

    def _save_partial(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        assert self.cell_metrics is not None
        state = self._saved_state()
        state.save(self.cell_metrics.metrics, self.done,
                   self.auto_batch.size if self.auto_batch is not None else None, self.within)
        self._since_save = 0
        if trainer.is_global_zero:  # progress view: rank 0's local metrics only (no collective here)
            rows = self.cell_metrics.local_rows(*self._names(trainer, pl_module))
            write_csv(state.run_dir / partial.PARTIAL_CSV, rows, columns_of(rows))  # never resumed from

    # ------------------------------------------------------------------------------ helpers
    def _saved_state(self) -> partial.PartialState:
        assert self._state is not None
        return self._state

    def _progress(self, trainer: pl.Trainer, specs: list[Experiment], dataloader_idx: int
                  ) -> AttackProgress | None:
        """The run's :class:`AttackProgress` (rank 0; created at the first attacked batch)."""
        if not trainer.is_global_zero:
            return None
        if self._progress_bar is None:
            loader = self._loaders[dataloader_idx] if dataloader_idx < len(self._loaders) else None
            limit = trainer.num_test_batches[dataloader_idx] if trainer.num_test_batches else None
            known = batches_attacked(loader, limit, self.max_batches)
            done = self.resumed.get(dataloader_idx, 0)
            total = max(known, done + 1) if known is not None else None
            self._progress_bar = AttackProgress(specs, total, done_batches=done)
            self._progress_bar.begin()
        return self._progress_bar

    def _max_batch(self) -> MaxBatch:
        """The sweeps' ``max_batch``: the fixed integer, or the remembered adaptive size."""
        return self.auto_batch if self.auto_batch is not None else self.max_batch

    def _out(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> Path:
        """The results folder ``out_dir/run_name`` (default ``<model>-<dataset>``)."""
        model, dataset = self._names(trainer, pl_module)
        return Path(self.out_dir) / (self.run_name or f"{model}-{dataset}")

    def _config(self) -> dict[str, Any]:
        return {"experiments": [s.to_dict() for s in self.specs], "alpha_ratio": self.alpha_ratio,
                "max_samples": self.max_samples, "max_batches": self.max_batches,
                "random_start": self.random_start, "jdr_definition": self.jdr_definition,
                "threads": self._numerics.threads}

    def _fingerprint(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> str:
        """Everything the accumulated numbers depend on (max_batch and print options excluded)."""
        model, dataset = self._names(trainer, pl_module)
        return partial.fingerprint_text({
            **self._config(), "model": model, "dataset": dataset, "multiview": _multiview(pl_module),
            "cells": [repr(c) for c in self.cells.values()], "weights": partial.weights_digest(pl_module),
            "world_size": trainer.world_size,
            "loaders": loaders_fingerprint(self._loaders),
        })

    def _names(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> tuple[str, str]:
        model = self.model_name or getattr(pl_module, "name", None) or type(pl_module).__name__.lower()
        dataset = self.dataset_name or dataset_label(getattr(trainer, "datamodule", None))
        return str(model), str(dataset or "unknown")

    def _meta(self, trainer: pl.Trainer, pl_module: pl.LightningModule, rows: list[dict[str, Any]]
              ) -> dict[str, Any]:
        model, dataset = self._names(trainer, pl_module)
        return {
            "model": model,
            "dataset": dataset,
            "scale": run_scale(pl_module, getattr(trainer, "datamodule", None)),  # poselab.scale
            "checkpoint": str(getattr(trainer, "ckpt_path", None) or getattr(pl_module, "checkpoint", None)
                              or ""),  # the module's own: poselab.evaluate
            "config": {**self._config(), "max_batch": self.max_batch, "world_size": trainer.world_size},
            **({meta_keys.PRESET: {**self.preset.record(_multiview(pl_module)), "overrides": self.overrides}}
               if self.preset is not None else {}),
            meta_keys.FLAGS: sanity_flags(self._start_flags, rows),  # poselab.evaluation.checks
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **({"wandb": w} if (w := logger_meta(trainer.loggers)) else {}),  # W&B group, id
        }


def _multiview(pl_module: pl.LightningModule) -> bool:
    return bool(getattr(pl_module, "multiview", False))
