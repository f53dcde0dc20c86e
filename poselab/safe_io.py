"""Writing files without losing them: atomic writers (temp file in the same folder + ``os.replace``, mode
``0666 & ~umask``), writability checks before the work, tolerant saves and run locks."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import socket
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

#: Errors of a save that must not end a long run: I/O errors and torch.save's RuntimeError (full disk).
SAVE_ERRORS: tuple[type[BaseException], ...] = (OSError, RuntimeError)

_umask_lock = threading.Lock()


class NotWritableError(OSError):
    """A results folder (or file) that cannot be created or written; the message names it."""


class ResultsNotSavedError(OSError):
    """The final results could not be written (they were printed instead); the message says where to."""


class LockedError(RuntimeError):
    """The folder is locked by another live run; the message names the owner and the lock file."""


def file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file: ``0o666 & ~umask``."""
    with _umask_lock:  # os.umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path next to ``path``; on success it is chmod-ed to :func:`file_mode` and renamed
    onto ``path`` atomically, on failure removed (``path`` keeps its old content)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (bytes, or text as UTF-8 with newlines as given) to ``path`` atomically (see
    :func:`atomic_path`); the folder is created. Returns the path."""
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8", newline="")
    return Path(path)


def write_csv(path: str | Path, rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> Path:
    """Write rows as CSV atomically: a header, then ``columns`` of each row (others ignored), "\\n" ends."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write(path, buf.getvalue())


def save_figure(fig: Any, path: str | Path, **savefig: Any) -> Path:
    """Save a matplotlib figure as PNG atomically (rendered in memory, then :func:`atomic_write`)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", **savefig)
    return atomic_write(path, buf.getvalue())


def save_png(rgb: Any, path: str | Path) -> Path:
    """Write an RGB uint8 array (H, W, 3) as PNG atomically (encoded in memory by OpenCV)."""
    import cv2
    import numpy as np

    ok, png = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise OSError(f"could not encode {path} as PNG")
    return atomic_write(path, png.tobytes())


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save(obj)`` to ``path`` atomically (see :func:`atomic_path`)."""
    import torch

    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)


def check_writable(folder: str | Path, what: str = "results folder") -> Path:
    """Create ``folder`` and write + remove a probe file in it, else :class:`NotWritableError` naming it."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe.")
        try:
            os.write(fd, b"x")
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as err:
        reason = err.strerror or str(err)
        raise NotWritableError(f"{what} {folder} is not writable ({reason}); choose another folder or free "
                               "space/permissions before starting") from None
    return folder


def reserve_version(root: str | Path, prefix: str = "version_") -> int:
    """``n`` of the next free ``<prefix><n>`` folder under ``root``, reserved by creating it (``mkdir`` is
    atomic: two runs started at once never get the same one)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    taken = [int(p.name[len(prefix):]) for p in root.glob(f"{prefix}*") if p.name[len(prefix):].isdigit()]
    n = max(taken, default=-1) + 1
    while True:
        try:
            (root / f"{prefix}{n}").mkdir()
            return n
        except FileExistsError:
            n += 1


def try_save(save: Callable[[], Any], what: str) -> bool:
    """Run ``save()``; on :data:`SAVE_ERRORS` warn ``could not save <what>: <error>`` and return False."""
    try:
        save()
    except SAVE_ERRORS as err:
        warnings.warn(f"could not save {what} ({type(err).__name__}: {err}); continuing without it",
                      stacklevel=2)
        return False
    return True


class RunLock:
    """Exclusive lock on a folder: ``<folder>/<name>`` holds ``{"pid", "host", "started", "command"}``.

    :class:`LockedError` when another live process holds it, or one on another host; a lock of a dead pid on
    this host is taken over; re-acquiring in the same process is a no-op.
    """

    def __init__(self, folder: str | Path, name: str = ".lock") -> None:
        self.folder = Path(folder)
        self.path = self.folder / name
        self.held = False

    def owner(self) -> dict[str, Any] | None:
        """The lock file's content (None when there is none; ``{}`` when unreadable)."""
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}

    def acquire(self) -> RunLock:
        if self.held:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "command": " ".join(sys.argv)[:500]}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, file_mode())
            except FileExistsError:
                owner = self.owner()
                if owner is None:
                    continue  # released meanwhile: try again
                if self._stale(owner):
                    with contextlib.suppress(FileNotFoundError):
                        self.path.unlink()
                    warnings.warn(f"taking over the stale lock {self.path} of dead pid {owner.get('pid')} "
                                  f"on {owner.get('host')}", stacklevel=2)
                    continue
                if owner.get("pid") == me["pid"] and owner.get("host") == me["host"]:
                    self.held = True
                    return self
                raise LockedError(
                    f"{self.folder} is in use by another run (pid {owner.get('pid', '?')} on host "
                    f"{owner.get('host', '?')}, started {owner.get('started', '?')}); wait for it to finish "
                    f"or write elsewhere; if that run is gone, delete {self.path}") from None
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            self.held = True
            return self
        raise LockedError(f"could not take the lock {self.path} (it keeps changing); try again")

    @staticmethod
    def _stale(owner: dict[str, Any]) -> bool:
        """A lock of a dead pid on this host."""
        pid = owner.get("pid")
        if not isinstance(pid, int) or owner.get("host") != socket.gethostname() or pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # exists, owned by someone else
            pass
        return False

    def release(self) -> None:
        """Remove the lock file if this process holds it (never another run's lock)."""
        if not self.held:
            return
        self.held = False
        owner = self.owner()
        if owner and owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname():
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()
