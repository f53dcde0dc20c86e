"""Deterministic numerics for attack evaluation: the same checkpoint and command give the same results.csv
(attacks follow ``sign(grad)``, so last-bit differences grow): pinned CPU threads, deterministic kernels."""

from __future__ import annotations

import os
from typing import Any

import torch

from poselab.cpus import usable_cpus

#: Default torch CPU threads while attacking (the shipped results in docs/results/ were made with 2).
DEFAULT_THREADS = 2


class DeterministicNumerics:
    """Pin the numerics between :meth:`enter` and :meth:`restore` (both idempotent); ``threads``: 1 .. the
    usable CPUs (:data:`DEFAULT_THREADS` anywhere), None: left alone (results then depend on the machine)."""

    def __init__(self, threads: int | None = DEFAULT_THREADS) -> None:
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be an integer >= 1 or null, got {threads!r}")
        most = max(usable_cpus(), DEFAULT_THREADS)
        if threads is not None and threads > most:
            raise ValueError(f"threads must be at most {most} (the CPUs this process may use, or the default "
                             f"{DEFAULT_THREADS}), got {threads}")
        self.threads = threads
        self._saved: dict[str, Any] | None = None

    def enter(self) -> None:
        if self._saved is not None:
            return
        self._saved = {
            "threads": torch.get_num_threads(),
            "benchmark": torch.backends.cudnn.benchmark,
            "cudnn_deterministic": torch.backends.cudnn.deterministic,
            "algorithms": torch.are_deterministic_algorithms_enabled(),
            "warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        }
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS (CUDA >= 10.2)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)

    def restore(self) -> None:
        saved, self._saved = self._saved, None
        if saved is None:
            return
        torch.set_num_threads(saved["threads"])
        torch.backends.cudnn.benchmark = saved["benchmark"]
        torch.backends.cudnn.deterministic = saved["cudnn_deterministic"]
        torch.use_deterministic_algorithms(saved["algorithms"], warn_only=saved["warn_only"])
