"""Progress with an ETA for long attack evaluations (one line per finished experiment, on rank 0), each
experiment weighed by its ``work_units()``: Lightning's bar counts batches, and one can take hours."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class AttackProgress:
    """Lines like ``attack progress: 37% (batch 1/2, multiview done) elapsed 0:41, ETA 1:10``; ``batches``
    None: unknown; lines closer than ``min_interval_s`` are skipped (never the last of a batch)."""

    def __init__(self, specs: Sequence[Any], batches: int | None, stream: TextIO | None = None,
                 min_interval_s: float = 2.0, done_batches: int = 0) -> None:
        self.units = [float(s.work_units()) for s in specs]
        self.kinds = [s.kind for s in specs]
        self.batches = batches
        self.stream = stream
        self.min_interval_s = min_interval_s
        self.done_batches = done_batches
        self.start: float | None = None
        self.done = 0.0
        self._last = float("-inf")

    def experiment_done(self, batch: int, index: int) -> str | None:
        """Record experiment ``index`` of ``batch`` (0-based, resumed batches included) as done; the line."""
        now = time.monotonic()
        if self.start is None:  # first call: the clock started when the first experiment began
            self.start = now
        self.done += self.units[index]
        per_batch = sum(self.units)
        before = per_batch * self.done_batches  # work of a previous run, not timed here
        total = per_batch * (self.batches if self.batches else batch + 1)
        elapsed = now - self.start
        left = elapsed / self.done * max(total - before - self.done, 0.0) if self.done else float("nan")
        last_of_batch = index == len(self.units) - 1
        if not last_of_batch and now - self._last < self.min_interval_s:
            return None
        self._last = now
        of = f"/{self.batches}" if self.batches else ""
        resumed = f", {self.done_batches} before the resume" if self.done_batches else ""
        line = (f"attack progress: {100 * (before + self.done) / total:3.0f}% "
                f"(batch {batch + 1}{of}{resumed}, {self.kinds[index]} done) elapsed {_clock(elapsed)}, "
                f"ETA {_clock(left)}")
        print(line, file=self.stream or sys.stderr, flush=True)
        return line

    def begin(self) -> None:
        """Start the clock (call before the first experiment of the run)."""
        if self.start is None:
            self.start = time.monotonic()
