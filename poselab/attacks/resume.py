"""Crash-safe partial state of :class:`~poselab.attacks.callback.AttackEvaluation` (nothing lost on a crash).

After attacked test batches the callback saves, per rank, ``<run dir>/.partial/rank<R>.pt``: the
torchmetrics states of every results cell (``metric.metric_state``: torchmetrics keeps its states out of
``state_dict`` unless made persistent), the number of batches done per dataloader, the example panels
collected so far, the adaptive chunk size and a *fingerprint* of everything the numbers depend on
(experiments, alpha, max_samples, max_batches, random_start, model/dataset names, a digest of the
weights, world size, test loaders' lengths and batch sizes). A state is only resumed when its fingerprint
equals the current one. Files are written with ``torch.save`` to a temp file and ``os.replace``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from poselab import safe_io

#: bump when the saved layout changes (part of the fingerprint: old files are never mixed in)
VERSION = 1
PARTIAL_DIR = ".partial"
STALE_DIR = ".partial-stale"
PARTIAL_CSV = "results.partial.csv"


def partial_file(run_dir: Path, rank: int) -> Path:
    return run_dir / PARTIAL_DIR / f"rank{rank}.pt"


def weights_digest(module: nn.Module) -> str:
    """A cheap digest of the parameters and buffers (names, shapes, float64 sums and absolute sums)."""
    h = hashlib.sha256()
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if not isinstance(t, torch.Tensor):
                continue
            t64 = t.detach().to(torch.float64)
            h.update(f"{name}:{tuple(t.shape)}:{float(t64.sum()):.12g}:{float(t64.abs().sum()):.12g};".encode())
    return h.hexdigest()[:16]


def fingerprint_text(config: dict[str, Any]) -> str:
    """Canonical JSON of a fingerprint dict (compared as text)."""
    return json.dumps({"version": VERSION, **config}, sort_keys=True, default=str)


def fingerprint_diff(saved: str, current: str) -> list[str]:
    """Top-level keys that differ between two fingerprint texts (for the warning)."""
    try:
        a, b = json.loads(saved), json.loads(current)
    except (TypeError, ValueError):
        return ["<unreadable>"]
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def metric_states(metrics: nn.ModuleDict) -> dict[str, dict[str, Any]]:
    """CPU copies of every metric's states (tensor states only; list states are copied element-wise)."""
    out: dict[str, dict[str, Any]] = {}
    for key, metric in metrics.items():
        states: dict[str, Any] = {}
        for name, value in metric.metric_state.items():
            if isinstance(value, torch.Tensor):
                states[name] = value.detach().cpu().clone()
            else:
                states[name] = [v.detach().cpu().clone() for v in value]
        out[key] = {"states": states, "update_count": int(getattr(metric, "_update_count", 0))}
    return out


def load_metric_states(metrics: nn.ModuleDict, saved: dict[str, dict[str, Any]]) -> None:
    """Put saved states back (same keys and state names required; raises ``KeyError``/``ValueError``)."""
    if set(saved) != set(metrics.keys()):
        raise KeyError("saved cells differ from the current cells")
    with torch.inference_mode(False):  # Lightning's test loop runs in inference mode: make normal tensors
        _load_metric_states(metrics, saved)


def _load_metric_states(metrics: nn.ModuleDict, saved: dict[str, dict[str, Any]]) -> None:
    for key, metric in metrics.items():
        states = saved[key]["states"]
        if set(states) != set(metric.metric_state):
            raise KeyError(f"saved states of {key} differ: {sorted(states)}")
        for name, value in states.items():
            current = getattr(metric, name)
            if isinstance(current, torch.Tensor):
                if value.shape != current.shape:
                    raise ValueError(f"state {key}.{name}: shape {tuple(value.shape)} "
                                     f"!= {tuple(current.shape)}")
                setattr(metric, name, value.to(device=current.device, dtype=current.dtype).clone())
            else:
                device = metric.device
                setattr(metric, name, [v.to(device).clone() for v in value])
        metric._update_count = int(saved[key]["update_count"])
        metric._computed = None


def save_state(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` to a temp file in the same folder, then ``os.replace`` (mode 0666 & ~umask)."""
    safe_io.atomic_save(state, path)  # [safe-io] the project's one atomic writer


def load_state(path: Path) -> dict[str, Any]:
    """Read a partial state (tensors, numbers, strings only: ``weights_only``)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or "fingerprint" not in state:
        raise ValueError(f"{path} is not an attack-evaluation partial state")
    return state


def move_aside(path: Path, run_dir: Path) -> Path:
    """Move a stale partial file to ``<run dir>/.partial-stale/`` (kept for the user, never resumed)."""
    dest = run_dir / STALE_DIR / path.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, dest)
    return dest
