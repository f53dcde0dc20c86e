"""A clean exit for distributed processes: destroy the process group before the interpreter finalizes.

Lightning destroys the default process group at exit only for NCCL. A gloo group (CPU DDP) left to
interpreter finalization can abort a rank after its results were written (SIGABRT, "terminate called without
an active exception"): a gloo worker thread still freeing its last work asks for the GIL while the interpreter
finalizes. Destroying the group at exit joins those threads while the interpreter still runs.
"""

from __future__ import annotations

import atexit
import time

import torch.distributed as dist

_registered = False


def destroy_process_group_at_exit() -> None:
    """Register, once per process, an exit handler that destroys the default process group if one exists.

    Called from Lightning ``setup`` hooks (on every rank, after the group is made); idempotent, and a no-op
    where ``torch.distributed`` is unavailable or no group is made.
    """
    global _registered
    if _registered or not dist.is_available():
        return
    atexit.register(_destroy)
    _registered = True


def _destroy() -> None:
    if dist.is_available() and dist.is_initialized():
        time.sleep(0.02)  # releases the GIL: a worker thread still freeing its last work finishes first
        dist.destroy_process_group()
