"""Consistent W&B run naming and grouping so that W&B's own UI compares poselab runs.

Conventions (every poselab run follows them):

* ``project``  = ``poselab`` (or ``$WANDB_PROJECT``)
* ``group``    = the experiment / sweep name (all runs of one comparison share it)
* ``job_type`` = ``train`` | ``attack`` | ``report``
* ``tags``     = model name and dataset name (plus extras)
* ``name``     = ``<model>-<dataset>-<job_type>`` (+ ``-<suffix>``)
* ``config``   = the full run config, flattened to dotted keys, once (not again unprefixed)
* results      = per-point history under model-independent keys with ``eps`` / ``iterations`` as step
  metrics, and one numeric table (:func:`log_results`, :mod:`poselab.wandb_results`; docs/WANDB.md)

The report run joins the group recorded in the results it compares (:func:`group_of`); a training run
resumed from its last checkpoint continues its W&B run (``run_id``, :mod:`poselab.wandb_resume`).

Runs are offline by default (under ``runs/wandb``); ``WANDB_MODE=online`` (or ``offline=False``)
goes online. Helpers never block a run: W&B failures become warnings. Online without an API key
(``WANDB_API_KEY`` or a ``.netrc`` entry for the W&B host) runs offline from the start, and an online
``wandb.init`` that fails (no network: after ``INIT_TIMEOUT_S``) is retried offline - one warning each,
never a traceback; ``wandb sync`` uploads the offline run later.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

JOB_TYPES = ("train", "attack", "report")
DEFAULT_DIR = "runs/wandb"
DEFAULT_PROJECT = "poselab"
#: Group of runs that name none (``run.group`` of the CLI; ``poselab report`` on results that record none).
DEFAULT_GROUP = "baselines"
#: Seconds wandb.init may take before we give up (it never blocks a run for long).
INIT_TIMEOUT_S = 60


def wandb_mode(offline: bool | None = None) -> str:
    """``$WANDB_MODE`` if set, else ``offline`` (default) or ``online`` when ``offline`` is False; ``online``
    without an API key becomes ``offline`` (one warning, ``$WANDB_MODE`` set to it)."""
    env = os.environ.get("WANDB_MODE")
    mode = env if env else ("online" if offline is False else "offline")
    if mode == "online" and not has_api_key():
        warnings.warn("W&B: WANDB_MODE=online but no API key is configured (WANDB_API_KEY or `wandb login`); "
                      "logging offline instead (upload later with `wandb sync`)", stacklevel=2)
        os.environ["WANDB_MODE"] = mode = "offline"
    return mode


def has_api_key() -> bool:
    """Whether a W&B API key is configured: ``$WANDB_API_KEY`` or a ``.netrc`` entry (``$NETRC`` or
    ``~/.netrc``) for the W&B host (``$WANDB_BASE_URL``, default api.wandb.ai). Reads no network."""
    import netrc
    from urllib.parse import urlparse

    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or "api.wandb.ai"
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    try:
        auth = netrc.netrc(str(path)).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return False
    return bool(auth and auth[2])


def _fallback_warning(err: BaseException) -> None:
    first = str(err).splitlines()[0] if str(err) else ""
    warnings.warn(f"W&B: online start failed ({type(err).__name__}: {first}); logging offline instead"
                  " (upload later with `wandb sync`)", stacklevel=3)


def run_name(
    job_type: str, model: str | None = None, dataset: str | None = None, suffix: str | None = None
) -> str:
    """``<model>-<dataset>-<job_type>[-<suffix>]``, leaving out what is None."""
    check_job_type(job_type)
    return "-".join(p for p in (model, dataset, job_type, suffix) if p)


def job_type_for(subcommand: str | None) -> str:
    """W&B job_type of a ``poselab`` sub-command: fit/validate -> ``train``, test/predict -> ``attack``
    (the attack evaluation runs in ``poselab test``), report -> ``report``."""
    mapping = {"fit": "train", "validate": "train", "test": "attack", "predict": "attack", "report": "report"}
    if subcommand not in mapping:
        raise ValueError(f"no W&B job_type for sub-command {subcommand!r}; expected one of {list(mapping)}")
    return mapping[subcommand]


def check_job_type(job_type: str) -> str:
    if job_type not in JOB_TYPES:
        raise ValueError(f"job_type must be one of {JOB_TYPES}, got {job_type!r}")
    return job_type


def flatten_config(config: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings / sequences / jsonargparse Namespaces -> ``{"a.b.0": value}`` with plain values."""
    if hasattr(config, "as_dict"):
        config = config.as_dict()
    elif hasattr(config, "__dict__") and not isinstance(config, type) and not _is_plain(config):
        config = vars(config)
    out: dict[str, Any] = {}
    if isinstance(config, Mapping):
        items = [(str(k), v) for k, v in config.items()]
    elif isinstance(config, list | tuple):
        items = [(str(i), v) for i, v in enumerate(config)]
    else:
        return {prefix or "value": config if _is_plain(config) else str(config)}
    if not items and prefix:
        return {prefix: config if isinstance(config, Mapping) else list(config)}
    for key, value in items:
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping | list | tuple) or hasattr(value, "as_dict"):
            out.update(flatten_config(value, name))
        else:
            out[name] = value if _is_plain(value) else str(value)
    return out


def _is_plain(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def run_kwargs(
    job_type: str,
    *,
    group: str,
    model: str | None = None,
    dataset: str | None = None,
    config: Any = None,
    name: str | None = None,
    tags: Sequence[str] = (),
    save_dir: str | Path = DEFAULT_DIR,
    project: str | None = None,
    offline: bool | None = None,
    scale: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``wandb.init`` following the conventions above.

    ``scale`` (:mod:`poselab.scale`, e.g. ``r18-128``) becomes a tag and ``config["scale"]``.

    ``dir`` is created; everything else is plain data, so the same dict also feeds
    :class:`pytorch_lightning.loggers.WandbLogger` (see :func:`make_logger`).
    """
    check_job_type(job_type)
    if not group:
        raise ValueError("group (the experiment or sweep name) must be a non-empty string")
    Path(save_dir).mkdir(parents=True, exist_ok=True)
    all_tags = list(dict.fromkeys(t for t in (model, dataset, scale, *tags) if t))
    return {
        "project": project or os.environ.get("WANDB_PROJECT", DEFAULT_PROJECT),
        "group": group,
        "job_type": job_type,
        "name": name or run_name(job_type, model, dataset),
        "tags": all_tags,
        "config": {**(flatten_config(config) if config is not None else {}),
                   **({"scale": scale} if scale else {})},
        "dir": str(save_dir),
        "mode": wandb_mode(offline),
    }


def make_logger(job_type: str, *, group: str, run_id: str | None = None, **kwargs: Any):
    """A Lightning ``WandbLogger`` named and grouped by the conventions (arguments of :func:`run_kwargs`).

    ``run_id``: resume that W&B run (same id; a training run resumed from its last checkpoint, see
    :mod:`poselab.wandb_resume`) instead of starting a new one. When ``config`` is given it is the run's
    whole config (dotted keys, e.g. ``model.init_args.lr``), so Lightning's automatic hyper-parameter logging
    (the same values again, unprefixed: ``lr``, ``backbone``, ...) is skipped by this logger.

    Example, in a LightningCLI subclass or script::

        trainer = pl.Trainer(logger=make_logger("train", group="baselines", model="regression",
                                                dataset="synthetic", config=cli.config))
    """
    from pytorch_lightning.loggers import WandbLogger

    kw = run_kwargs(job_type, group=group, **kwargs)
    kw["save_dir"] = kw.pop("dir")
    kw["settings"] = _settings()
    if run_id:
        kw["id"] = run_id  # WandbLogger passes resume="allow"
    logger = _fallback_logger_class(WandbLogger)(**kw)
    logger.full_config = kwargs.get("config") is not None
    return logger


def _fallback_logger_class(base: type) -> type:
    """``WandbLogger`` whose run falls back to offline (then to none) when ``wandb.init`` fails."""
    from pytorch_lightning.loggers.logger import DummyExperiment

    class OfflineFallbackWandbLogger(base):  # type: ignore[misc, valid-type]
        full_config = False  # the run config given at init already holds every hyper-parameter

        def log_hyperparams(self, params: Any) -> None:
            if not self.full_config:
                base.log_hyperparams(self, params)

        @property
        def experiment(self):  # noqa: ANN202 - a wandb Run
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
        warnings.warn(
            f"W&B run could not start ({type(err).__name__}: {err}); continuing without it", stacklevel=2
        )
        return None


def logger_meta(loggers: Sequence[Any]) -> dict[str, Any] | None:
    """Project, group, run id and name of the first ``WandbLogger`` in ``loggers`` (None without one), for
    the results' metadata: ``poselab report`` joins that group, ``poselab dashboard`` shows it. Starts
    nothing (the id is None when the run never started)."""
    from pytorch_lightning.loggers import WandbLogger

    logger = next((lg for lg in loggers if isinstance(lg, WandbLogger)), None)
    if logger is None:
        return None
    init = getattr(logger, "_wandb_init", {})
    version = logger.version
    return {"project": init.get("project"), "group": init.get("group"), "name": init.get("name"),
            "run_id": version if isinstance(version, str) else None}


def group_of(metas: Sequence[Mapping[str, Any]]) -> tuple[str, str | None]:
    """The W&B group that results with metadata ``metas`` were logged in (``meta["wandb"]["group"]``):
    (group, None) when they agree; the most common one and a warning when they differ; :data:`DEFAULT_GROUP`
    and a warning when none records one."""
    from collections import Counter

    groups = Counter(str(g) for m in metas if (g := (m.get("wandb") or {}).get("group")))
    if not groups:
        return DEFAULT_GROUP, (f"no W&B group recorded in the results (written before it was recorded, or "
                               f"without W&B): using {DEFAULT_GROUP!r} (--group to choose)")
    group = groups.most_common(1)[0][0]
    if len(groups) == 1:
        return group, None
    return group, f"results come from W&B groups {sorted(groups)}: using {group!r} (--group to choose)"


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


def log_table(run: Any, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Log a table (None cells become NaN so W&B types the columns as numbers where possible)."""
    import wandb

    clean_rows = [[float("nan") if v is None else v for v in row] for row in rows]
    run.log({key: wandb.Table(columns=list(columns), data=clean_rows, allow_mixed_types=True)})


def log_images(run: Any, images: Mapping[str, str | Path]) -> None:
    """Log PNG files as ``figures/<name>`` images."""
    import wandb

    run.log({f"figures/{name}": wandb.Image(str(path)) for name, path in images.items()})


def log_line_series(
    run: Any,
    key: str,
    xs: Sequence[float],
    ys: Sequence[Sequence[float]],
    keys: Sequence[str],
    xname: str = "x",
) -> None:
    """Log a W&B native multi-line chart (one line per entry of ``ys``/``keys``)."""
    import wandb

    run.log(
        {
            key: wandb.plot.line_series(
                xs=list(xs), ys=[list(y) for y in ys], keys=list(keys), title=key, xname=xname
            )
        }
    )


def define_steps(run: Any, steps: Mapping[str, str]) -> None:
    """``define_metric(key, step_metric=step)`` for every key (exact names: they take precedence over the
    ``*`` glob that Lightning's ``WandbLogger`` defines against ``trainer/global_step``); step metrics
    themselves are hidden from W&B's automatic panels."""
    for step in dict.fromkeys(steps.values()):
        run.define_metric(step, hidden=True)
    for key, step in steps.items():
        run.define_metric(key, step_metric=step)


def log_results(run: Any, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Log attack results rows (the ``results.csv`` schema) so that W&B compares runs natively
    (:mod:`poselab.wandb_results`): one history row per x value (``eps`` / ``iterations``) with
    model-independent keys ``<experiment>/<metric>/<series>`` defined against that step, then the numeric
    results table (``attack/results``, :func:`log_results_table`). Returns the history keys logged."""
    from poselab import wandb_results as wr

    steps = wr.step_definitions(rows)
    define_steps(run, steps)
    for row in wr.history_rows(rows):
        run.log(row)
    log_results_table(run, rows, wr.TABLE_KEY)
    return list(steps)


def log_results_table(run: Any, rows: Sequence[Mapping[str, Any]], key: str, with_run: bool = False) -> None:
    """Log the numeric results table of ``rows`` (:func:`poselab.wandb_results.results_table`: the same
    columns for every model; ``with_run``: a first column ``run`` for rows of several runs)."""
    import wandb

    from poselab import wandb_results as wr

    columns, data = wr.results_table(rows, with_run)
    run.log({key: wandb.Table(columns=columns, data=data, dtype=wr.column_types(columns))})


def log_report_runs(run: Any, runs: Sequence[Any]) -> None:
    """The rows of every compared run (:class:`~poselab.results.reader.RunResults`) as one numeric table
    ``results`` (first column ``run``, then the columns of the attack runs' ``attack/results``)."""
    from poselab.wandb_results import rows_of_runs

    log_results_table(run, rows_of_runs(runs), "results", with_run=True)


def log_run_report(run: Any, rows: Sequence[Mapping[str, Any]], report: Any, jdr_definition: str | None = None
                   ) -> None:
    """Log one run's attack results to ``run``: per-point history and the numeric table
    (:func:`log_results`), the JDR definition (summary ``attack/jdr_definition``) and the run report's
    figures and example panels (``attack/figures/<name>``). ``report`` is the run's
    :class:`~poselab.reporting.report.Report`."""
    import wandb

    from poselab.metrics import DEFAULT_JDR
    from poselab.results.schema import JDR

    log_results(run, rows)
    summary = getattr(run, "summary", None)
    if any(r["metric"] == JDR for r in rows) and hasattr(summary, "__setitem__"):
        summary["attack/jdr_definition"] = jdr_definition or DEFAULT_JDR  # (not on a stand-in run)
    if report.figures:
        run.log({f"attack/figures/{name}": wandb.Image(str(path)) for name, path in report.figures.items()})
