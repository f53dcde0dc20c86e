"""What the attack evaluation can tell about its test loaders without iterating them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def length(obj: Any) -> int | None:
    """``len(obj)``, or None when it has none (an iterable dataset or loader)."""
    try:
        return len(obj)
    except TypeError:
        return None


def num_views(dataset: Any) -> int | None:
    """Views per sample of a poselab dataset (``views_of``/``views``); None when it cannot be told cheaply."""
    try:
        if hasattr(dataset, "views_of") and len(dataset) > 0:
            return len(dataset.views_of(0))
        views = getattr(dataset, "views", None)
        return len(views) if views is not None else None
    except (TypeError, IndexError):
        return None


def batches_attacked(loader: Any, limit: float | int | None, max_batches: int | None) -> int | None:
    """The smallest known of ``loader``'s length, Lightning's limit and ``max_batches`` (None: none known)."""
    known = [x for x in (length(loader), limit, max_batches) if x is not None and x != float("inf")]
    return int(min(known)) if known else None


def images_attacked(loaders: Sequence[Any], limits: Sequence[float] | None, max_batches: int | None,
                    max_samples: int | None) -> int | None:
    """Images the run attacks in the first loader (None when its size is unknown)."""
    if not loaders:
        return None
    batches = batches_attacked(loaders[0], limits[0] if limits else None, max_batches)
    size = getattr(loaders[0], "batch_size", None)
    if not batches or not size:
        return None
    return batches * min(size, max_samples or size)


def loaders_fingerprint(loaders: Sequence[Any]) -> list[dict[str, Any]]:
    """Lengths and batch sizes of the test loaders (a resumed state must have seen the same ones)."""
    return [{"batches": length(loader), "batch_size": getattr(loader, "batch_size", None),
             "samples": length(getattr(loader, "dataset", None))} for loader in loaders]
