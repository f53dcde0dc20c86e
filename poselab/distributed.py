"""A clean exit for distributed processes: a gloo group (CPU DDP; Lightning destroys only NCCL's) left to
interpreter finalization can abort a rank with SIGABRT after its results were written, so it is destroyed at
exit, while the interpreter still runs."""

from __future__ import annotations

import atexit
import time

import torch.distributed as dist

_registered = False


def destroy_process_group_at_exit() -> None:
    """Register, once per process, an exit handler that destroys the default process group if one exists."""
    global _registered
    if _registered or not dist.is_available():
        return
    atexit.register(_destroy)
    _registered = True


def _destroy() -> None:
    if dist.is_available() and dist.is_initialized():
        time.sleep(0.02)  # releases the GIL: a worker thread still freeing its last work finishes first
        dist.destroy_process_group()
