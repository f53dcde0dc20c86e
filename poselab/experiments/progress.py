"""Progress with an ETA for long attack evaluations (one line per finished experiment, on rank 0).

Lightning's bar counts test batches only, and one attacked batch can take minutes or hours.
:class:`AttackProgress` weighs each experiment by its ``work_units()`` (attacked rows x attack steps) and,
after each experiment, prints how far the run is and the time left (elapsed time scaled by the work left).
"""

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
    """Per-experiment progress lines: ``attack progress: 37% (batch 1/2, multiview done) elapsed 0:41,
    ETA 1:10``.

    Args:
        specs: the experiments run on every batch (those applying to the model).
        batches: attacked batches in the run (None: unknown; the ETA then covers the current batch).
        stream: where lines go (default stderr).
        min_interval_s: lines closer together than this are skipped (the last one of a batch never is).
        done_batches: batches attacked before a resume (counted as done; the ETA is timed on the others).
    """

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
        """Record experiment ``index`` of (0-based, counting the batches done before a resume) ``batch`` as
        done; returns the printed line (or None)."""
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
