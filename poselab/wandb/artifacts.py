"""W&B artifacts, the lineage training run -> checkpoint -> attack run -> results (docs/WANDB.md, "Lineage").
W&B failures are the caller's to turn into warnings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CHECKPOINT_TYPE = "model"
RESULTS_TYPE = "results"
#: The checkpoint file's entry in a checkpoint artifact, logged and used alike (the digest covers names).
CHECKPOINT_ENTRY = "model.ckpt"
#: Results-folder entries left out of the results artifact (partial state kept after a crash).
SKIPPED_PREFIXES = (".partial",)


def _safe(name: str) -> str:
    """An artifact name: letters, digits, ``-``, ``_`` and ``.`` (anything else becomes ``-``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "unnamed"


def checkpoint_artifact_name(model: str, scale: str | None = None) -> str:
    """``ckpt-<model>[-<scale>]``: the checkpoint artifact of a model at a scale (:mod:`poselab.scale`)."""
    return _safe("-".join(p for p in ("ckpt", model, scale) if p))


def results_artifact_name(grid: str | None, folder: str | Path) -> str:
    """``results-<grid>-<results folder name>``, e.g. ``results-quick-regression-synthetic``."""
    return _safe("-".join(p for p in ("results", grid, Path(folder).name) if p))


def _checkpoint(path: str | Path, name: str, reference: bool, metadata: dict[str, Any]) -> Any:
    import wandb

    path = Path(path)
    artifact = wandb.Artifact(name, type=CHECKPOINT_TYPE, metadata={"file": path.name, **metadata})
    if reference:
        artifact.add_reference(path.resolve().as_uri(), name=CHECKPOINT_ENTRY)
    else:
        artifact.add_file(str(path), name=CHECKPOINT_ENTRY)
    return artifact


def log_checkpoints(run: Any, files: Sequence[tuple[str | Path, Sequence[str]]], name: str,
                    metadata: dict[str, Any] | None = None) -> list[Any]:
    """Log each (checkpoint file, aliases) of ``files`` as a version of the ``model`` artifact ``name``
    (files that do not exist are skipped; one file named twice is logged once with both alias lists)."""
    merged: dict[Path, list[str]] = {}
    for path, aliases in files:
        if path and Path(path).is_file():
            merged.setdefault(Path(path).resolve(), []).extend(aliases)
    out = []
    for path, aliases in merged.items():
        artifact = _checkpoint(path, name, reference=False, metadata=metadata or {})
        out.append(run.log_artifact(artifact, aliases=list(dict.fromkeys(aliases))))
    return out


def use_checkpoint(run: Any, path: str | Path, name: str, metadata: dict[str, Any] | None = None) -> Any:
    """Declare checkpoint ``path`` an input of ``run`` (artifact ``name``, by reference); None without it."""
    if not path or not Path(path).is_file():
        return None
    artifact = _checkpoint(path, name, reference=True, metadata=metadata or {})
    if getattr(run, "offline", False) is True:  # use_artifact refuses offline: the same record it writes
        return run._log_artifact(artifact, is_user_created=True, use_after_commit=True)
    return run.use_artifact(artifact)


def log_results_folder(run: Any, folder: str | Path, name: str, metadata: dict[str, Any] | None = None,
                       aliases: Sequence[str] = ()) -> Any:
    """Log ``folder`` (every file but the partial state) as the ``results`` artifact ``name`` of ``run``."""
    import wandb

    folder = Path(folder)
    artifact = wandb.Artifact(name, type=RESULTS_TYPE, metadata=metadata or {})
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not rel.parts[0].startswith(SKIPPED_PREFIXES):
            artifact.add_file(str(path), name=rel.as_posix())
    return run.log_artifact(artifact, aliases=list(aliases) or None)


def log_attack_lineage(run: Any, meta: dict[str, Any], folder: str | Path) -> None:
    """An attack run's lineage: the checkpoint it evaluated (``meta["checkpoint"]``) as input, its results
    folder as output (names from ``meta["model"]``, ``meta["scale"]`` and the run's grid, else its group)."""
    scale = meta.get("scale")
    use_checkpoint(run, meta.get("checkpoint") or "", checkpoint_artifact_name(str(meta["model"]), scale),
                   {"model": meta["model"], "scale": scale})
    config, group = getattr(run, "config", None), getattr(run, "group", None)
    grid = config.get("grid") if hasattr(config, "get") else None
    grid = grid if isinstance(grid, str) else group if isinstance(group, str) else None
    log_results_folder(run, folder, results_artifact_name(grid, folder),
                       {"model": meta["model"], "dataset": meta.get("dataset"), "scale": scale,
                        "checkpoint": meta.get("checkpoint") or None})
