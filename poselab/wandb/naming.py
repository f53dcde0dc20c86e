"""W&B run naming and grouping (project, group, job_type, tags, name, config: docs/WANDB.md, "Runs"), so that
W&B's own UI compares poselab runs; offline by default (:func:`wandb_mode`)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from poselab.results.runs import folder_grid

JOB_TYPES = ("train", "attack", "report")
DEFAULT_DIR = "runs/wandb"
DEFAULT_PROJECT = "poselab"
#: Group of runs whose grid is unknown (``poselab report`` on results that record no group and no grid).
DEFAULT_GROUP = "baselines"
#: The config folders whose file names name a grid (``configs/attack/quick.yaml``) or a training setup.
ATTACK_CONFIGS, TRAINER_CONFIGS = "attack", "trainer"


def stamp(now: datetime | None = None) -> str:
    """The UTC time of a run's start as ``YYYYmmdd-HHMMSS``: what makes a run name unique per invocation."""
    return (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")


def _config_stem(config_files: Sequence[Any], folder: str) -> str | None:
    """The name of the last ``--config`` file inside a folder named ``folder`` (None without one)."""
    stems = [Path(str(f)).stem for f in config_files if Path(str(f)).parent.name == folder]
    return stems[-1] if stems else None


def attack_group(preset: str | None = None, config_files: Sequence[Any] = (), out_dir: str | None = None
                 ) -> str:
    """The grid an attack run belongs to, its default W&B group: the preset's name, else the attack config
    it was given (``configs/attack/quick.yaml`` -> ``quick``), else its results root
    (``results/attack-quick`` -> ``quick``, :func:`~poselab.results.runs.folder_grid`), else ``attack``."""
    if preset:
        return str(preset)
    stem = _config_stem(config_files, ATTACK_CONFIGS)
    if stem:
        return stem
    if out_dir:
        name = folder_grid(Path(out_dir) / "run")
        if name and Path(out_dir).name != name:  # only a root named attack-<grid> names a grid
            return name
    return "attack"


def train_group(config_files: Sequence[Any] = ()) -> str:
    """A training run's default W&B group: ``train-<trainer config>`` (``configs/trainer/smoke.yaml`` ->
    ``train-smoke``: smoke runs never land beside real ones), else ``train``."""
    stem = _config_stem(config_files, TRAINER_CONFIGS)
    return f"train-{stem}" if stem else "train"


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


def run_name(job_type: str, model: str | None = None, dataset: str | None = None, suffix: str | None = None
             ) -> str:
    """``<model>-<dataset>-<job_type>[-<suffix>]``, leaving out what is None."""
    check_job_type(job_type)
    return "-".join(p for p in (model, dataset, job_type, suffix) if p)


def job_type_for(subcommand: str | None) -> str:
    """W&B job_type of a ``poselab`` sub-command: fit/validate -> train, test/predict -> attack, report."""
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


def run_kwargs(job_type: str, *, group: str, model: str | None = None, dataset: str | None = None,
               config: Any = None, name: str | None = None, tags: Sequence[str] = (),
               save_dir: str | Path = DEFAULT_DIR, project: str | None = None, offline: bool | None = None,
               scale: str | None = None, grid: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``wandb.init`` (and Lightning's ``WandbLogger``) by the conventions; ``scale``
    and ``grid`` (default the group) become tags and config entries; ``dir`` is created."""
    check_job_type(job_type)
    if not group:
        raise ValueError("group (the experiment or sweep name) must be a non-empty string")
    Path(save_dir).mkdir(parents=True, exist_ok=True)
    grid = grid or group
    all_tags = list(dict.fromkeys(t for t in (model, dataset, scale, grid, *tags) if t))
    return {
        "project": project or os.environ.get("WANDB_PROJECT", DEFAULT_PROJECT),
        "group": group,
        "job_type": job_type,
        "name": name or run_name(job_type, model, dataset, stamp()),
        "tags": all_tags,
        "config": {**(flatten_config(config) if config is not None else {}),
                   **({"scale": scale} if scale else {}), "grid": grid},
        "dir": str(save_dir),
        "mode": wandb_mode(offline),
    }


def group_of(metas: Sequence[Mapping[str, Any]], default: str = DEFAULT_GROUP) -> tuple[str, str | None]:
    """The W&B group that results with metadata ``metas`` were logged in (``meta["wandb"]["group"]``):
    (group, None) when they agree; the most common one and a warning when they differ; ``default`` (the
    results' grid, else :data:`DEFAULT_GROUP`) and a warning when none records one."""
    from collections import Counter

    groups = Counter(str(g) for m in metas if (g := (m.get("wandb") or {}).get("group")))
    if not groups:
        return default, (f"no W&B group recorded in the results (written before it was recorded, or "
                         f"without W&B): using {default!r} (--group to choose)")
    group = groups.most_common(1)[0][0]
    if len(groups) == 1:
        return group, None
    return group, f"results come from W&B groups {sorted(groups)}: using {group!r} (--group to choose)"
