"""glibc malloc tuning for CPU runs: keep large freed buffers in the heap, so an eps-batched attack sweep does
not zero-fill fresh ``mmap`` pages on every pass (docs/benchmarks.md).

:func:`configure_allocator` (called by the command-line entry points and benchmarks, never on import) sets
``M_MMAP_THRESHOLD`` = 64 MiB and ``M_TRIM_THRESHOLD`` = 1 GiB, except with ``POSELAB_MALLOPT=0``, the
user's own ``MALLOC_*_THRESHOLD_``/``GLIBC_TUNABLES`` thresholds, or off glibc.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: environment switch: "0", "off", "false" or "no" disables the tuning
ENV_SWITCH = "POSELAB_MALLOPT"
#: bytes; allocations of at least this size are still served by mmap (64 MiB)
MMAP_THRESHOLD = 64 * 1024 * 1024
#: bytes; free memory at the top of the heap above this is returned to the OS (1 GiB)
TRIM_THRESHOLD = 1024 * 1024 * 1024
#: glibc's mallopt parameter numbers (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
_USER_TUNABLES = ("glibc.malloc.mmap_threshold", "glibc.malloc.trim_threshold")

_status: str | None = None


def _skip_reason() -> str | None:
    """Why the tuning must not be applied in this process, or None."""
    if os.environ.get(ENV_SWITCH, "1").strip().lower() in ("0", "off", "false", "no"):
        return f"disabled by {ENV_SWITCH}"
    user = [v for v in _USER_SETTINGS if v in os.environ]
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    user += [t for t in _USER_TUNABLES if t in tunables]
    if user:
        return f"user setting kept ({', '.join(user)})"
    if not sys.platform.startswith("linux"):
        return f"not Linux ({sys.platform})"
    try:
        version = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        version = None
    if not version or not version.startswith("glibc"):
        return "not glibc"
    return None


def _glibc() -> ctypes.CDLL:
    return ctypes.CDLL("libc.so.6", use_errno=True)


def _malloc_is_glibc(libc: ctypes.CDLL) -> bool:
    """True when the process's ``malloc`` symbol is glibc's own (no allocator preloaded)."""
    def address(lib: ctypes.CDLL) -> int | None:
        return ctypes.cast(lib.malloc, ctypes.c_void_p).value

    return address(ctypes.CDLL(None)) == address(libc)


def configure_allocator() -> str:
    """Apply the glibc thresholds once per process; never raises. Returns ``"mallopt: mmap_threshold=64 MiB
    trim_threshold=1024 MiB"`` or ``"mallopt skipped: <reason>"``."""
    global _status
    if _status is not None:
        return _status
    reason = _skip_reason()
    if reason is None:
        try:
            libc = _glibc()
            if not _malloc_is_glibc(libc):
                reason = "malloc is not glibc's (LD_PRELOAD allocator)"
            elif not (libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                      and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)):
                reason = "glibc rejected mallopt"
        except (OSError, AttributeError) as err:
            reason = f"glibc not loadable ({err})"
    _status = (f"mallopt: mmap_threshold={MMAP_THRESHOLD >> 20} MiB trim_threshold={TRIM_THRESHOLD >> 20} MiB"
               if reason is None else f"mallopt skipped: {reason}")
    return _status
