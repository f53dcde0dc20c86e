"""``AttackEvaluation``: a Lightning callback that runs the adversarial experiments during ``poselab test``.

On every test batch (up to ``max_batches``) it runs the configured experiments (see
:mod:`poselab.attacks.experiments`) and accumulates one torchmetrics accumulator per results cell.
At the end of testing all ranks synchronise the metrics (DDP-safe), then rank 0 writes
``results.csv``, ``results.json``, ``per_joint.csv`` and ``tables.md`` atomically, saves PNG curves and
example panels, prints the four tables and finally logs them to W&B when a ``WandbLogger`` is attached.

Nothing is lost on a crash: after every ``save_every`` attacked batches each rank saves its metric states
to ``<run dir>/.partial/rank<R>.pt`` (atomically; see :mod:`poselab.attacks.resume`) and rank 0 writes its
local rows so far to ``results.partial.csv``. Re-running the same command (``resume: true``) loads the
state when its configuration fingerprint matches and attacks only the batches not done yet (Lightning
still iterates them); a state of another configuration is moved to ``.partial-stale/`` with a warning.
Both are removed once the final results are written.

Lightning runs ``test`` under ``torch.inference_mode``; the callback re-enables gradients locally
(``inference_mode(False)`` + ``enable_grad``) and clones the batch, so no trainer setting is needed.
Model weights are frozen (``requires_grad=False``) and the model is in eval mode while attacking.

Example (YAML, under ``trainer.callbacks``)::

    - class_path: poselab.attacks.callback.AttackEvaluation
      init_args:
        out_dir: results
        max_batches: 2
        experiments:
          - {kind: untargeted, eps: [0, 1, 4, 16], iterations: [1, 10]}
          - {kind: multiview, eps: [0, 1, 4, 16], iterations: [1, 10], views: [1, 2, 4]}
          - {kind: camera_swap, eps: [8], iterations: [0, 20, 100], targets: [2, 3, 4]}
          - {kind: rotation, eps: [8], iterations: [10, 100], angles: [10, 30]}
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from torch import nn

from poselab import safe_io
from poselab.attacks import resume as partial
from poselab.attacks.base import attack_mode, clone_tensors
from poselab.attacks.determinism import DEFAULT_THREADS, DeterministicNumerics
from poselab.attacks.experiments import (
    AttackConfigError,
    Cell,
    Example,
    ExperimentSpec,
    RunContext,
    check_views,
    experiments_from_config,
    make_metric,
    run_experiment,
)
from poselab.attacks.plots import build_curves, save_curves, save_example
from poselab.attacks.progress import AttackProgress
from poselab.attacks.sweep import AutoBatch, MaxBatch, index_batch
from poselab.attacks.tables import render_tables, table_camera_swap, table_multiview, table_rotation
from poselab.attacks.tables import table_untargeted as _table_untargeted
from poselab.metrics import DEFAULT_JDR, check_jdr_definition

COLUMNS = ["model", "dataset", "experiment", "attack", "eps", "iterations", "attacked_views", "target",
           "metric", "value", "n"]
#: Optional column after ``attacked_views``: the attacked view indices ("0+2") of explicit view subsets.
VIEW_SET = "view_set"


def columns_of(rows: list[dict[str, Any]]) -> list[str]:
    """The results columns: :data:`COLUMNS`, plus ``view_set`` when a row attacked an explicit view subset
    (files of the first-k form keep the original columns)."""
    if not any(r.get(VIEW_SET) for r in rows):
        return list(COLUMNS)
    i = COLUMNS.index("attacked_views") + 1
    return [*COLUMNS[:i], VIEW_SET, *COLUMNS[i:]]


#: [safe-io] results files: temp file + rename, mode 0666 & ~umask (one writer for the whole project)
atomic_write = safe_io.atomic_write_text


class AttackEvaluation(pl.Callback):
    """Adversarial evaluation at test time.

    Args:
        experiments: list of experiment dicts (see :class:`~poselab.attacks.experiments.ExperimentSpec`:
            kind untargeted/multiview/camera_swap/rotation, eps, iterations, views, targets, angles, ...).
        alpha_ratio: IGSM step size as a fraction of eps (paper: 1/8), > 0.
        max_batch: largest number of images rows (eps x targets x samples) per forward pass; None or
            "auto": adaptive, all rows at once and on out-of-memory errors half as many, remembering the
            size that worked for later batches (logged once, rank 0). Results do not depend on it.
        max_batches: attack only the first N test batches (None: all).
        max_samples: attack only the first N samples of each test batch (None: all).
        out_dir: results root; files go to ``out_dir/run_name``.
        run_name: results folder name (default ``<model>-<dataset>``).
        model_name, dataset_name: names written in the results (default: from the model/datamodule).
        examples: example panels per experiment (from the first batch, rank 0).
        num_views: views per test sample (used to validate views/targets).
        random_start: PGD-style random start for IGSM.
        print_tables: print the markdown tables at the end of testing.
        save_every: save the partial state after every N attacked batches (None: never).
        resume: at test start, continue from a saved partial state of the same configuration.
            Exact with ``random_start: false``; with a random start the resumed batches draw other noise.
        jdr_definition: the JDR of the multi-view rows, one of :data:`poselab.metrics.JDR_DEFINITIONS`
            (default ``"qiu2019"``, the published multi-view one); recorded in results.json and named in
            the Table 2 header.
        threads: torch CPU threads while attacking (default 2; null: leave as is). Float sums depend on
            the thread count, and attacked triangulations amplify that, so it is fixed for identical
            results.csv on any core count; GPU kernels are made deterministic too
            (:mod:`poselab.attacks.determinism`).
    """

    def __init__(
        self,
        experiments: list[dict[str, Any]],
        alpha_ratio: float = 0.125,
        max_batch: int | Literal["auto"] | None = 256,
        max_batches: int | None = None,
        max_samples: int | None = None,
        out_dir: str = "results",
        run_name: str | None = None,
        model_name: str | None = None,
        dataset_name: str | None = None,
        examples: int = 1,
        num_views: int = 4,
        random_start: bool = False,
        print_tables: bool = True,
        save_every: int | None = 1,
        resume: bool = True,
        jdr_definition: str = DEFAULT_JDR,
        threads: int | None = DEFAULT_THREADS,
    ) -> None:
        super().__init__()
        try:
            self.jdr_definition = check_jdr_definition(jdr_definition)
        except ValueError as err:
            raise AttackConfigError(str(err)) from None
        if alpha_ratio <= 0:
            raise AttackConfigError(f"alpha_ratio must be > 0, got {alpha_ratio}")
        if max_batch is not None and max_batch != "auto" and (
                isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1):
            raise AttackConfigError(f"max_batch must be an integer >= 1, 'auto' or null, got {max_batch!r}")
        if max_batches is not None and max_batches < 1:
            raise AttackConfigError(f"max_batches must be >= 1, got {max_batches}")
        if max_samples is not None and max_samples < 1:
            raise AttackConfigError(f"max_samples must be >= 1, got {max_samples}")
        if save_every is not None and (isinstance(save_every, bool) or not isinstance(save_every, int)
                                       or save_every < 1):
            raise AttackConfigError(f"save_every must be an integer >= 1 or null, got {save_every!r}")
        if examples < 0:
            raise AttackConfigError(f"examples must be >= 0, got {examples}")
        self.specs: list[ExperimentSpec] = experiments_from_config(experiments, num_views)
        try:
            self._numerics = DeterministicNumerics(threads)
        except ValueError as err:
            raise AttackConfigError(str(err)) from None
        self.alpha_ratio = alpha_ratio
        self.max_batch = max_batch
        #: the adaptive chunk size (max_batch None/"auto"), shared by every batch and experiment
        self.auto_batch: AutoBatch | None = AutoBatch() if max_batch in (None, "auto") else None
        self.max_batches = max_batches
        self.max_samples = max_samples
        self.out_dir = out_dir
        self.run_name = run_name
        self.model_name = model_name
        self.dataset_name = dataset_name
        self.examples = examples
        self.random_start = random_start
        self.print_tables = print_tables
        self.save_every = save_every
        self.resume = resume
        self.metrics = nn.ModuleDict()
        self.cells: dict[str, Cell] = {}
        self.example_list: list[Example] = []
        self.rows: list[dict[str, Any]] = []
        self.result_dir: Path | None = None
        #: attacked batches per dataloader (in order: batch_idx < done), and those loaded from a partial state
        self.done: dict[int, int] = {}
        self.resumed: dict[int, int] = {}
        self._since_save = 0
        self._run_dir: Path | None = None
        self._fingerprint = ""
        self._lock: safe_io.RunLock | None = None
        #: set when the final results could not be written (the tables were printed instead)
        self.write_error: BaseException | None = None

    # ------------------------------------------------------------------------------ lifecycle
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "test":
            return
        self._numerics.enter()  # [determinism] fixed threads, deterministic kernels until teardown
        multiview = bool(getattr(pl_module, "multiview", False))
        self.metrics = nn.ModuleDict()
        self.cells = {}
        for spec in self.specs:
            if not spec.applies_to(multiview):
                continue
            for cell in spec.cells(multiview):
                key = f"m{len(self.cells)}"
                self.cells[key] = cell
                self.metrics[key] = make_metric(cell.metric, self.jdr_definition)
        self._key_of = {cell: key for key, cell in self.cells.items()}
        self.metrics.to(pl_module.device)
        self.example_list = []
        self.done, self.resumed, self._since_save = {}, {}, 0
        self._progress_bar: AttackProgress | None = None

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Check the experiments' views against the test data's views before any attack work."""
        multiview = bool(getattr(pl_module, "multiview", False))
        loaders = trainer.test_dataloaders
        loaders = loaders if isinstance(loaders, (list, tuple)) else [loaders]
        for loader in loaders:
            num_views = _num_views(getattr(loader, "dataset", None))
            if num_views is not None:
                self._check_views(num_views, multiview)
        self._run_dir = self._out(trainer, pl_module)
        if trainer.is_global_zero:  # [safe-io] before any attack: writable folder, one run per folder
            safe_io.check_writable(self._run_dir, "attack results folder")
            self._lock = safe_io.RunLock(self._run_dir).acquire()
        self._fingerprint = self._fingerprint_of(trainer, pl_module, loaders)
        if self.resume:
            self._load_partial(trainer)

    def _check_views(self, num_views: int, multiview: bool) -> None:
        for spec in self.specs:
            if spec.applies_to(multiview):
                check_views(spec, num_views, multiview)

    def on_test_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any,
                          batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        if self.max_batches is not None and batch_idx >= self.max_batches:
            return
        if batch_idx < self.resumed.get(dataloader_idx, 0):
            return  # attacked before the crash: its metrics came from the partial state
        multiview = bool(getattr(pl_module, "multiview", False))
        sink = self.example_list if (batch_idx == 0 and trainer.is_global_zero and self.examples) else None

        def update(cell: Cell, args: tuple) -> None:
            metric = self.metrics[self._key_of[cell]]
            if cell.metric == "failed":
                valid, pred = args
                metric.update(valid, pred)
            elif cell.metric == "jdr":
                metric.update(*args)
            else:
                pred, target, valid = args
                metric.update(pred, target, valid)

        with attack_mode(pl_module):
            b = clone_tensors(batch)
            size = b["images"].shape[0]
            if self.max_samples is not None and size > self.max_samples:
                b = index_batch(b, torch.arange(self.max_samples), size)
            ctx = RunContext(model=pl_module, update=update, alpha_ratio=self.alpha_ratio,
                             max_batch=self._max_batch(), examples=self.examples, example_sink=sink,
                             random_start=self.random_start)
            self._check_views(b["images"].shape[1], multiview)  # every experiment, before attacking
            specs = [spec for spec in self.specs if spec.applies_to(multiview)]
            progress = self._progress(trainer, specs, dataloader_idx)
            for i, spec in enumerate(specs):
                run_experiment(spec, b, ctx)
                if progress is not None:  # [progress] one line per experiment with an ETA (rank 0)
                    progress.experiment_done(batch_idx - self.resumed.get(dataloader_idx, 0), i)
        self.done[dataloader_idx] = batch_idx + 1
        self._since_save += 1
        try:  # a failed save (disk full, ...) must not end hours of attacks: warn and go on
            if sink is not None and self.save_every is not None:
                self._save_examples()
            if self.save_every is not None and self._since_save >= self.save_every:
                self._save_partial(trainer, pl_module)
        except safe_io.SAVE_ERRORS as err:  # [safe-io] torch.save raises RuntimeError on a full disk
            import warnings

            warnings.warn(f"attack evaluation: could not save the partial state: {err}", stacklevel=2)

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        rows = self._collect(trainer, pl_module)  # collective: every rank
        if trainer.is_global_zero:
            self._finish(trainer, pl_module, rows)
            if self._run_dir is not None and self.write_error is None:  # [safe-io] written: drop the partials
                shutil.rmtree(self._run_dir / partial.PARTIAL_DIR, ignore_errors=True)
                (self._run_dir / partial.PARTIAL_CSV).unlink(missing_ok=True)
        trainer.strategy.barrier("attack_evaluation_end")  # no rank tears down while rank 0 writes
        if self.write_error is not None:  # [safe-io] tables printed, partial state kept: fail the run
            raise self.write_error

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._numerics.restore()  # [determinism]
        if self._lock is not None:  # [safe-io] release the results folder's lock
            self._lock.release()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
                     ) -> None:
        self._numerics.restore()  # [determinism]
        if self._lock is not None:  # [safe-io] release the results folder's lock
            self._lock.release()

    def _finish(self, trainer: pl.Trainer, pl_module: pl.LightningModule, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        meta = self._meta(trainer, pl_module)
        out = self._out(trainer, pl_module)
        self.result_dir = out
        tables = render_tables(rows, self.jdr_definition)
        curves = build_curves(rows)
        self.write_error = None
        try:  # [safe-io] a failed final write: print the tables, say where they could not go, keep .partial
            self._write(out, rows, meta)
            atomic_write(out / "tables.md", tables)
            save_curves(curves, out / "plots")
            example_paths = [save_example(ex, out / "examples" / f"example_{i:02d}.png")
                             for i, ex in enumerate(self.example_list)]
        except safe_io.SAVE_ERRORS as err:
            state = out / partial.PARTIAL_DIR
            kept = (f"the saved partial state in {state} was kept: re-run the same command once the folder "
                    "is writable to write the results without attacking again" if state.is_dir()
                    else "no partial state was saved (save_every: null)")
            self.write_error = safe_io.ResultsNotSavedError(
                f"could not write the attack results to {out} ({type(err).__name__}: {err}); the tables are "
                f"printed above; {kept}")
            print(f"\nAdversarial evaluation of {meta['model']} on {meta['dataset']} (NOT SAVED)\n")
            print(tables)
            return
        if self.print_tables:
            print(f"\nAdversarial evaluation of {meta['model']} on {meta['dataset']} -> {out}\n")
            print(tables)
        try:  # [safe-io] the results are written: W&B can no longer lose them, nor end the run
            self._log_wandb(trainer, rows, curves, example_paths)
        except Exception as err:  # noqa: BLE001
            import warnings

            warnings.warn(f"attack evaluation: W&B logging failed ({type(err).__name__}: {err}); the results "
                          f"are in {out}", stacklevel=2)

    # ------------------------------------------------------------------------------ partial state
    def _out(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> Path:
        """The results folder ``out_dir/run_name`` (default ``<model>-<dataset>``)."""
        model, dataset = self._names(trainer, pl_module)
        return Path(self.out_dir) / (self.run_name or f"{model}-{dataset}")

    def _fingerprint_of(self, trainer: pl.Trainer, pl_module: pl.LightningModule, loaders: list) -> str:
        """Everything the accumulated numbers depend on (max_batch and print options excluded)."""
        model, dataset = self._names(trainer, pl_module)
        return partial.fingerprint_text({
            "experiments": [s.to_dict() for s in self.specs], "alpha_ratio": self.alpha_ratio,
            "max_samples": self.max_samples, "max_batches": self.max_batches,
            "random_start": self.random_start, "model": model, "dataset": dataset,
            "jdr_definition": self.jdr_definition,
            "multiview": bool(getattr(pl_module, "multiview", False)),
            "cells": [repr(c) for c in self.cells.values()], "weights": partial.weights_digest(pl_module),
            "world_size": trainer.world_size, "threads": self._numerics.threads,
            "loaders": [{"batches": _len(loader), "batch_size": getattr(loader, "batch_size", None),
                         "samples": _len(getattr(loader, "dataset", None))} for loader in loaders],
        })

    def _load_partial(self, trainer: pl.Trainer) -> None:
        from pytorch_lightning.utilities import rank_zero_info, rank_zero_warn

        assert self._run_dir is not None
        path = partial.partial_file(self._run_dir, trainer.global_rank)
        if not path.exists():
            return
        try:
            state = partial.load_state(path)
            if state["fingerprint"] != self._fingerprint:
                keys = partial.fingerprint_diff(state["fingerprint"], self._fingerprint)
                raise ValueError(f"it was saved with another configuration (differs in: {', '.join(keys)})")
            partial.load_metric_states(self.metrics, state["metrics"])
        except Exception as err:  # noqa: BLE001 - any unusable state: start fresh, keep the file aside
            with torch.inference_mode(False):  # Lightning tests in inference mode: keep normal tensors
                for metric in self.metrics.values():
                    metric.reset()
            stale = partial.move_aside(path, self._run_dir)
            if trainer.is_global_zero:
                (self._run_dir / partial.PARTIAL_CSV).unlink(missing_ok=True)
            rank_zero_warn(f"attack evaluation: not resuming from the partial state {path}: {err}; "
                           f"starting fresh (old state moved to {stale.parent})")
            return
        self.resumed = {int(k): int(v) for k, v in state["done"].items()}
        self.done = dict(self.resumed)
        if self.auto_batch is not None and state.get("auto_batch") is not None:
            self.auto_batch.size = int(state["auto_batch"])
        if trainer.is_global_zero and self.examples:
            self.example_list = self._load_examples()
        rank_zero_info(f"attack evaluation: resuming from {path.parent} "
                       f"({sum(self.resumed.values())} batches already attacked)")

    def _save_partial(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        assert self._run_dir is not None
        state = {"fingerprint": self._fingerprint, "done": dict(self.done),
                 "metrics": partial.metric_states(self.metrics),
                 "auto_batch": self.auto_batch.size if self.auto_batch is not None else None}
        partial.save_state(partial.partial_file(self._run_dir, trainer.global_rank), state)
        self._since_save = 0
        if trainer.is_global_zero:  # progress view: rank 0's local metrics only (no collective here)
            names = self._names(trainer, pl_module)
            values, counts = [], []
            for key, cell in self.cells.items():
                metric = self.metrics[key]
                values.append(float(type(metric).compute(metric)))  # unwrapped: no sync, no cache
                counts.append(float(metric.total if cell.metric == "failed" else metric.count))
            rows = self._make_rows(names, values, counts)
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=columns_of(rows), lineterminator="\n",
                                    extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
            atomic_write(self._run_dir / partial.PARTIAL_CSV, buf.getvalue())

    def _save_examples(self) -> None:
        assert self._run_dir is not None
        fields = ("clean", "adversarial", "pred_2d", "gt_2d")
        items = [{"title": ex.title, **{f: getattr(ex, f).detach().cpu() for f in fields}}
                 for ex in self.example_list]
        partial.save_state(self._run_dir / partial.PARTIAL_DIR / "examples.pt",
                           {"fingerprint": self._fingerprint, "examples": items})

    def _load_examples(self) -> list[Example]:
        assert self._run_dir is not None
        path = self._run_dir / partial.PARTIAL_DIR / "examples.pt"
        try:
            state = partial.load_state(path)
        except (OSError, ValueError, RuntimeError):
            return []
        if state["fingerprint"] != self._fingerprint:
            return []
        return [Example(**item) for item in state["examples"]]

    # ------------------------------------------------------------------------------ helpers
    def _progress(self, trainer: pl.Trainer, specs: list[ExperimentSpec], dataloader_idx: int
                  ) -> AttackProgress | None:
        """The run's :class:`AttackProgress` (rank 0; created at the first attacked batch)."""
        if not trainer.is_global_zero:
            return None
        if getattr(self, "_progress_bar", None) is None:
            loaders = trainer.test_dataloaders
            loaders = loaders if isinstance(loaders, (list, tuple)) else [loaders]
            n = _len(loaders[dataloader_idx]) if dataloader_idx < len(loaders) else None
            limit = trainer.num_test_batches[dataloader_idx] if trainer.num_test_batches else None
            known = [x for x in (n, limit, self.max_batches) if x is not None and x != float("inf")]
            left = max(int(min(known)) - self.resumed.get(dataloader_idx, 0), 1) if known else None
            self._progress_bar = AttackProgress(specs, left)
            self._progress_bar.begin()
        return self._progress_bar

    def _max_batch(self) -> MaxBatch:
        """The sweeps' ``max_batch``: the fixed integer, or the remembered adaptive size."""
        if self.auto_batch is not None:
            return self.auto_batch
        assert isinstance(self.max_batch, int)
        return self.max_batch

    def _collect(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> list[dict[str, Any]]:
        model_name, dataset_name = self._names(trainer, pl_module)
        values, local_n, per_joint = [], [], []
        for key, cell in self.cells.items():
            metric = self.metrics[key]
            value = metric.compute()  # torchmetrics syncs across processes here
            values.append(float(value))
            local_n.append(metric.total if cell.metric == "failed" else metric.count)
            if cell.metric == "mpjpe":
                per_joint.append(metric.sum_per_joint.clone())
            metric.reset()
        n = torch.stack(local_n).to(torch.float64) if local_n else torch.zeros(0, dtype=torch.float64)
        n = trainer.strategy.reduce(n, reduce_op="sum") if trainer.world_size > 1 else n
        if per_joint:
            pj = torch.stack(per_joint)
            pj = trainer.strategy.reduce(pj, reduce_op="sum") if trainer.world_size > 1 else pj
        self._per_joint = []
        rows = self._make_rows((model_name, dataset_name), values, n.tolist())
        pj_i = 0
        for row, count in zip(rows, n.tolist()):
            if row["metric"] == "mpjpe":
                self._per_joint.append((row, pj[pj_i] / max(count, 1)))
                pj_i += 1
        return rows

    def _make_rows(self, names: tuple[str, str], values: list[float], counts: list[float]
                   ) -> list[dict[str, Any]]:
        return [{"model": names[0], "dataset": names[1], "experiment": cell.experiment,
                 "attack": cell.attack, "eps": cell.eps, "iterations": cell.iterations,
                 "attacked_views": cell.attacked_views, VIEW_SET: cell.view_set,
                 "target": cell.target, "metric": cell.metric, "value": value, "n": int(count)}
                for cell, value, count in zip(self.cells.values(), values, counts)]

    def _names(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> tuple[str, str]:
        model = self.model_name or getattr(pl_module, "name", None) or type(pl_module).__name__.lower()
        dataset = self.dataset_name
        dm = getattr(trainer, "datamodule", None)
        if dataset is None and dm is not None:
            for attr in ("dataset_name", "name", "dataset"):
                value = getattr(dm, attr, None)
                if isinstance(value, str):
                    dataset = value
                    break
            if dataset is None:
                hp = getattr(dm, "hparams", {}) or {}
                value = hp.get("dataset") if hasattr(hp, "get") else None
                dataset = value if isinstance(value, str) else None
        return str(model), str(dataset or "unknown")

    def _meta(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, Any]:
        model, dataset = self._names(trainer, pl_module)
        return {
            "model": model,
            "dataset": dataset,
            "checkpoint": str(getattr(trainer, "ckpt_path", None) or ""),
            "config": {"experiments": [s.to_dict() for s in self.specs], "alpha_ratio": self.alpha_ratio,
                       "max_batch": self.max_batch, "max_batches": self.max_batches,
                       "max_samples": self.max_samples,
                       "random_start": self.random_start, "world_size": trainer.world_size,
                       "jdr_definition": self.jdr_definition,
                       "threads": self._numerics.threads},
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def _write(self, out: Path, rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
        columns = columns_of(rows)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write(out / "results.csv", buf.getvalue())
        json_rows = [{c: (r[c] if c != "value" or math.isfinite(r[c]) else None) for c in columns}
                     for r in rows]
        atomic_write(out / "results.json", json.dumps({"meta": meta, "rows": json_rows}, indent=1) + "\n")
        from poselab.skeleton import JOINT_NAMES

        buf = io.StringIO()
        cols = [c for c in columns if c not in ("metric", "value", "n")] + ["joint", "mpjpe"]
        writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        for row, values in self._per_joint:
            for name, v in zip(JOINT_NAMES, values.tolist()):
                writer.writerow({**row, "joint": name, "mpjpe": v})
        atomic_write(out / "per_joint.csv", buf.getvalue())

    def _log_wandb(self, trainer: pl.Trainer, rows: list[dict[str, Any]], curves: list, example_paths: list
                   ) -> None:
        from pytorch_lightning.loggers import WandbLogger

        loggers = [lg for lg in trainer.loggers if isinstance(lg, WandbLogger)]
        if not loggers:
            return
        import wandb

        run = loggers[0].experiment
        payload: dict[str, Any] = {}
        def multiview_table(r: list[dict[str, Any]]) -> str:
            return table_multiview(r, self.jdr_definition)

        for name, fn in (("untargeted", _table_untargeted), ("multiview", multiview_table),
                         ("camera_swap", table_camera_swap), ("rotation", table_rotation)):
            if not any(r["experiment"] == name for r in rows):
                continue
            lines = [ln for ln in fn(rows).splitlines() if ln.startswith("|") and not ln.startswith("|---")]
            cells = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
            payload[f"attack/table_{name}"] = wandb.Table(columns=cells[0], data=cells[1:])
        columns = columns_of(rows)
        payload["attack/results"] = wandb.Table(columns=columns, data=[[r[c] for c in columns] for r in rows])
        for c in curves:
            keys = list(c.series)
            ys = [[y if math.isfinite(y) else None for y in c.series[k]] for k in keys]
            payload[f"attack/curve_{c.name}"] = wandb.plot.line_series(
                xs=c.xs, ys=ys, keys=keys, title=c.title, xname=c.xname)
        if example_paths:
            payload["attack/examples"] = [wandb.Image(str(p)) for p in example_paths]
        run.log(payload)


def _num_views(dataset: Any) -> int | None:
    """Views per sample of a poselab dataset (``views_of``/``views``); None when it cannot be told cheaply."""
    try:
        if hasattr(dataset, "views_of") and len(dataset) > 0:
            return len(dataset.views_of(0))
        views = getattr(dataset, "views", None)
        return len(views) if views is not None else None
    except (TypeError, IndexError):
        return None


def _len(obj: Any) -> int | None:
    try:
        return len(obj)
    except TypeError:
        return None
