"""Crash-safe partial state of :class:`~poselab.evaluation.callback.AttackEvaluation`: per rank,
``<run dir>/.partial/rank<R>.pt`` holds every cell's metric states, the batches (and experiments) done, the
adaptive chunk size and a fingerprint of everything the numbers depend on (resumed only when it matches)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import nn

from poselab import safe_io

#: bump when the saved layout changes (part of the fingerprint: old files are never mixed in)
VERSION = 2
PARTIAL_DIR = ".partial"
STALE_DIR = ".partial-stale"
PARTIAL_CSV = "results.partial.csv"


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
    """CPU copies of every metric's states: tensor states, and list (``cat``) states as a list of one tensor
    (their parts concatenated: the per-sample values stay one tensor per state however many batches)."""
    out: dict[str, dict[str, Any]] = {}
    for key, metric in metrics.items():
        states: dict[str, Any] = {}
        for name, value in metric.metric_state.items():
            if isinstance(value, torch.Tensor):
                states[name] = value.detach().cpu().clone()
            else:
                states[name] = [torch.cat([v.detach().cpu().reshape(-1) for v in value])] if value else []
        out[key] = {"states": states, "update_count": int(getattr(metric, "_update_count", 0))}
    return out


def load_metric_states(metrics: nn.ModuleDict, saved: dict[str, dict[str, Any]]) -> None:
    """Put saved states back (same keys and state names required; raises ``KeyError``/``ValueError``)."""
    if set(saved) != set(metrics.keys()):
        raise KeyError("saved cells differ from the current cells")
    with torch.inference_mode(False):  # Lightning's test loop runs in inference mode: make normal tensors
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
                    setattr(metric, name, [v.to(metric.device).clone() for v in value])
            metric._update_count = int(saved[key]["update_count"])
            metric._computed = None


def save_state(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` to a temp file in the same folder, then ``os.replace`` (mode 0666 & ~umask)."""
    safe_io.atomic_save(state, path)


def load_state(path: Path) -> dict[str, Any]:
    """Read a partial state (tensors, numbers, strings only: ``weights_only``)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or "fingerprint" not in state:
        raise ValueError(f"{path} is not an attack-evaluation partial state")
    return state


class PartialState:
    """The partial state of one results folder as seen by one rank (global ``rank``: one file each);
    ``fingerprint``: :func:`fingerprint_text` of everything the accumulated numbers depend on."""

    def __init__(self, run_dir: Path, rank: int, fingerprint: str) -> None:
        self.run_dir, self.rank, self.fingerprint = Path(run_dir), rank, fingerprint
        self.path = self.run_dir / PARTIAL_DIR / f"rank{rank}.pt"

    def load(self, metrics: nn.ModuleDict, is_global_zero: bool) -> dict[str, Any] | None:
        """Load the saved metric states into ``metrics``; the state's other entries, or None. An unusable
        state (other configuration, corrupt) leaves ``metrics`` reset, goes to ``.partial-stale/``, warned."""
        from pytorch_lightning.utilities import rank_zero_info, rank_zero_warn

        if not self.path.exists():
            return None
        try:
            state = load_state(self.path)
            if state["fingerprint"] != self.fingerprint:
                keys = fingerprint_diff(state["fingerprint"], self.fingerprint)
                raise ValueError(f"it was saved with another configuration (differs in: {', '.join(keys)})")
            load_metric_states(metrics, state["metrics"])
        except Exception as err:  # noqa: BLE001 - any unusable state: start fresh, keep the file aside
            with torch.inference_mode(False):  # Lightning tests in inference mode: keep normal tensors
                for metric in metrics.values():
                    metric.reset()
            stale = self.run_dir / STALE_DIR / self.path.name  # kept for the user, never resumed
            stale.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.path, stale)
            if is_global_zero:
                (self.run_dir / PARTIAL_CSV).unlink(missing_ok=True)
            rank_zero_warn(f"attack evaluation: not resuming from the partial state {self.path}: {err}; "
                           f"starting fresh (old state moved to {stale.parent})")
            return None
        done = {int(k): int(v) for k, v in state["done"].items()}
        within = {int(k): (int(v[0]), int(v[1])) for k, v in (state.get("within") or {}).items()}
        more = "".join(f", and {n} experiment(s) of batch {b}" for b, n in within.values())
        rank_zero_info(f"attack evaluation: resuming from {self.path.parent} "
                       f"({sum(done.values())} batches already attacked{more})")
        return {"done": done, "within": within, "auto_batch": state.get("auto_batch")}

    def save(self, metrics: nn.ModuleDict, done: dict[int, int], auto_batch: int | None,
             within: dict[int, tuple[int, int]] | None = None) -> None:
        """Save the metric states; ``done``: batches done per dataloader; ``within``: per dataloader, the
        batch it is in and how many of that batch's experiments are done (their metrics included)."""
        save_state(self.path, {"fingerprint": self.fingerprint, "done": dict(done),
                               "within": {k: list(v) for k, v in (within or {}).items()},
                               "metrics": metric_states(metrics), "auto_batch": auto_batch})

    def save_examples(self, examples: list[Any]) -> None:
        items = [{k: v.detach().cpu() if isinstance(v, torch.Tensor) else v for k, v in vars(ex).items()}
                 for ex in examples]
        save_state(self.run_dir / PARTIAL_DIR / "examples.pt",
                   {"fingerprint": self.fingerprint, "examples": items})

    def load_examples(self) -> list[dict[str, Any]]:
        """The saved example panels' fields (empty if none or of another configuration)."""
        try:
            state = load_state(self.run_dir / PARTIAL_DIR / "examples.pt")
        except (OSError, ValueError, RuntimeError):
            return []
        return list(state["examples"]) if state["fingerprint"] == self.fingerprint else []

    def clear(self) -> None:
        """Remove the partial states and the progress csv (after the final results are written)."""
        shutil.rmtree(self.run_dir / PARTIAL_DIR, ignore_errors=True)
        (self.run_dir / PARTIAL_CSV).unlink(missing_ok=True)
