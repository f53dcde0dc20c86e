"""Starting and finishing W&B runs by the conventions of :mod:`poselab.wandb.naming`; W&B never blocks a run:
a failed online start is retried offline, other failures become warnings."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

from poselab.wandb.naming import run_kwargs

#: Seconds wandb.init may take before we give up (it never blocks a run for long).
INIT_TIMEOUT_S = 60
#: Validation metrics summarised by their best value (``define_metric(..., summary=...)``).
SUMMARIES = {"val/mpjpe": "min", "val/pmpjpe": "min", "val/jdr": "max"}
#: Lightning's step metric of every logged key (WandbLogger's ``*`` glob); an exact definition replaces it.
LIGHTNING_STEP = "trainer/global_step"


def _fallback_warning(err: BaseException) -> None:
    first = str(err).splitlines()[0] if str(err) else ""
    warnings.warn(f"W&B: online start failed ({type(err).__name__}: {first}); logging offline instead"
                  " (upload later with `wandb sync`)", stacklevel=3)


def make_logger(job_type: str, *, group: str, run_id: str | None = None, **kwargs: Any):
    """A Lightning ``WandbLogger`` named and grouped by the conventions (arguments of :func:`run_kwargs`).
    ``run_id``: resume that W&B run (:mod:`poselab.wandb.resume`). A given ``config`` is the run's whole
    config, so Lightning's hyper-parameter logging (the same values again, unprefixed) is skipped."""
    from pytorch_lightning.loggers import WandbLogger

    from poselab.wandb.artifacts import checkpoint_artifact_name

    kw = run_kwargs(job_type, group=group, **kwargs)
    kw["save_dir"] = kw.pop("dir")
    kw["settings"] = _settings()
    if run_id:
        kw["id"] = run_id  # WandbLogger passes resume="allow"
    logger = _fallback_logger_class(WandbLogger)(**kw)
    logger.full_config = kwargs.get("config") is not None
    if job_type == "train":
        model, scale = kwargs.get("model") or "model", kwargs.get("scale")
        logger.checkpoint_artifact = checkpoint_artifact_name(model, scale)
        logger.summaries = SUMMARIES
    return logger


def _fallback_logger_class(base: type) -> type:
    """``WandbLogger`` whose run falls back to offline (then to none) when ``wandb.init`` fails."""
    from pytorch_lightning.loggers.logger import DummyExperiment
    from pytorch_lightning.utilities import rank_zero_only

    class OfflineFallbackWandbLogger(base):  # type: ignore[misc, valid-type]
        full_config = False  # the run config given at init already holds every hyper-parameter
        #: the model artifact of the checkpoints (None: checkpoints are not logged)
        checkpoint_artifact: str | None = None
        #: metric -> its summary (``define_metric``), defined once the run starts
        summaries: dict[str, str] = {}
        _defined = False

        def log_hyperparams(self, params: Any) -> None:
            if not self.full_config:
                base.log_hyperparams(self, params)

        def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
            base.after_save_checkpoint(self, checkpoint_callback)
            if self.checkpoint_artifact:  # logged once training ends (finalize)
                self._checkpoint_callbacks[id(checkpoint_callback)] = checkpoint_callback

        @rank_zero_only
        def finalize(self, status: str) -> None:
            if status != "success" or not self.checkpoint_artifact or self._experiment is None \
                    or isinstance(self._experiment, DummyExperiment):
                return
            from poselab.wandb.artifacts import log_checkpoints

            for cb in self._checkpoint_callbacks.values():
                try:
                    score = None if cb.best_model_score is None else float(cb.best_model_score)
                    log_checkpoints(self._experiment, [(cb.best_model_path, ["best"]),
                                                       (cb.last_model_path, ["last"])],
                                    self.checkpoint_artifact, {"monitor": cb.monitor, "mode": cb.mode,
                                                               "best_score": score})
                except Exception as err:  # noqa: BLE001 - the files are written; W&B must never end a run
                    warnings.warn(f"W&B: checkpoints not logged ({type(err).__name__}: {err})", stacklevel=2)

        @property
        def experiment(self):  # noqa: ANN202 - a wandb Run
            run = self._start()
            if self.summaries and not self._defined and not isinstance(run, DummyExperiment):
                self._defined = True
                for key, summary in self.summaries.items():  # exact names: keep Lightning's step metric
                    run.define_metric(key, step_metric=LIGHTNING_STEP, summary=summary)
            return run

        def _start(self):  # noqa: ANN202 - a wandb Run
            try:
                return base.experiment.fget(self)
            except Exception as err:  # noqa: BLE001 - W&B must never end a run
                self._experiment = None
                if self._wandb_init.get("mode") != "offline":
                    _fallback_warning(err)
                    self._wandb_init["mode"] = os.environ["WANDB_MODE"] = "offline"
                    try:
                        return base.experiment.fget(self)
                    except Exception as err2:  # noqa: BLE001
                        err = err2
                warnings.warn(f"W&B run could not start ({type(err).__name__}: {err}); continuing without it",
                              stacklevel=2)
                self._experiment = DummyExperiment()
                return self._experiment

    return OfflineFallbackWandbLogger


def _settings():
    import wandb

    return wandb.Settings(init_timeout=INIT_TIMEOUT_S, silent=True, x_disable_stats=True)


def init_run(job_type: str, *, group: str, **kwargs: Any):
    """Start a W&B run by the conventions; returns it, or None (with a warning) if W&B fails."""
    kw = run_kwargs(job_type, group=group, **kwargs)
    try:
        import wandb

        try:
            return wandb.init(reinit="create_new", settings=_settings(), **kw)
        except Exception as err:  # noqa: BLE001 - online start failed (no network, ...): retry offline
            if kw["mode"] == "offline":
                raise
            _fallback_warning(err)
            kw["mode"] = os.environ["WANDB_MODE"] = "offline"
            return wandb.init(reinit="create_new", settings=_settings(), **kw)
    except Exception as err:  # noqa: BLE001 - logging must never stop a run
        warnings.warn(f"W&B run could not start ({type(err).__name__}: {err}); continuing without it",
                      stacklevel=2)
        return None


def logger_meta(loggers: Sequence[Any]) -> dict[str, Any] | None:
    """Project, group, run id and name of the first ``WandbLogger`` in ``loggers`` (None without one) for the
    results' metadata; starts nothing (the id is None when the run never started)."""
    from pytorch_lightning.loggers import WandbLogger

    logger = next((lg for lg in loggers if isinstance(lg, WandbLogger)), None)
    if logger is None:
        return None
    init = getattr(logger, "_wandb_init", {})
    version = logger.version
    return {"project": init.get("project"), "group": init.get("group"), "name": init.get("name"),
            "run_id": version if isinstance(version, str) else None}


def finish_run(run: Any) -> None:
    """Finish a run returned by :func:`init_run` (None is fine); failures become warnings."""
    if run is None:
        return
    try:
        run.finish()
    except Exception as err:  # noqa: BLE001
        warnings.warn(f"W&B run did not finish cleanly ({type(err).__name__}: {err})", stacklevel=2)


def finish_active_run() -> None:
    """Finish the process's active W&B run, if any (the next run in this process starts fresh)."""
    import wandb

    if wandb.run is not None:
        wandb.finish()
