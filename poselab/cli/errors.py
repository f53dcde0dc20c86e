"""How ``poselab fit|validate|test|predict`` reports a user's mistake: one line
``poselab[ <subcommand>]: error: ...`` and an exit status instead of a traceback (:func:`reported`), with
jsonargparse's multi-line messages reduced to their informative lines. Genuine bugs keep their traceback."""

from __future__ import annotations

import argparse
import errno
import sys
from collections.abc import Callable, Iterator
from typing import TypeVar

from poselab.models.checkpoint import CheckpointError
from poselab.safe_io import LockedError, NotWritableError, ResultsNotSavedError

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration key or value that the CLI does not accept."""


_NOISE = ("Given value", "Expected a <class 'NoneType'>", "Subtypes:", "Errors:", "Does not validate against")


def _config_message(err: BaseException) -> str:
    """jsonargparse's (multi-line) message reduced to its informative lines."""
    lines = [ln.strip(" -") for ln in str(err).splitlines()]
    return "; ".join(ln for ln in lines if ln and not ln.startswith(_NOISE))


def _chain(err: BaseException, context: bool = False) -> Iterator[BaseException]:
    """``err`` and its causes (``context``: else the exception it was raised while handling), once each."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or (current.__context__ if context else None)


def _user_error(err: BaseException) -> BaseException | None:
    """The data or attack-config error behind ``err`` (itself, or the cause jsonargparse wrapped), else None.

    Only poselab's own error types count (:class:`~poselab.data.errors.DataError`,
    :class:`~poselab.experiments.base.AttackConfigError`), so genuine bugs keep their traceback; only
    generic wrappers (plain ``ValueError``/``TypeError``, as jsonargparse raises when a class given in a
    config fails to instantiate) are looked through.
    """
    from poselab.data.errors import DataError
    from poselab.experiments.base import AttackConfigError

    for current in _chain(err):
        if isinstance(current, (DataError, AttackConfigError)):
            return current
        if type(current) not in (ValueError, TypeError):
            return None
    return None


def _user_message(err: BaseException) -> str:
    """A data/attack error's message (a DataLoader worker's traceback reduced to the original one)."""
    from poselab.data.errors import worker_message

    return worker_message(str(err), type(err))


#: errno values (and their strerror texts, as torch's shared-memory errors carry them) of a write that a
#: resource limit stopped: the file size limit (``ulimit -f``), a full disk, a disk quota.
_LIMITS = {errno.EFBIG: "File too large", errno.ENOSPC: "No space left on device",
           errno.EDQUOT: "Disk quota exceeded"}


def _resource_error(err: BaseException) -> str | None:
    """The message of a write stopped by a resource limit in ``err``'s chain (OSError errno, or a
    RuntimeError quoting its strerror: a DataLoader worker's shared-memory batch), else None."""
    for current in _chain(err, context=True):
        if isinstance(current, OSError) and current.errno in _LIMITS:
            return str(current)
        text = str(current)
        if isinstance(current, (OSError, RuntimeError)) and any(t in text for t in _LIMITS.values()):
            return text.strip().splitlines()[-1]
    return None


#: Exit status of a run stopped by SIGTERM (128 + 15, as a shell reports a process killed by it).
SIGTERM_EXIT = 143


def reported(build: Callable[[], T], subcommand: str | None, exit_on_error: bool) -> T:
    """``build()``, with a user's mistake reported as one line and exit status 2.

    A bad config key/value (:class:`ConfigError`, also jsonargparse's ``argparse.ArgumentError``) or a
    missing, corrupt or foreign checkpoint (:class:`~poselab.models.checkpoint.CheckpointError`):
    ``poselab: error: ...``. An unwritable or locked output folder: ``poselab <subcommand>: error: ...``
    (exit status 1 when results could not be saved). Data and attack-config errors (:func:`_user_error`):
    ``poselab <subcommand>: error: ...``. A write stopped by ``ulimit -f``, a full disk or a quota (also in
    a DataLoader worker's shared memory): one line, exit status 1. SIGTERM: one line and
    :data:`SIGTERM_EXIT`, never 0. With
    ``exit_on_error`` False the error itself is raised.
    """
    from pytorch_lightning.utilities.exceptions import SIGTERMException

    prog = f"poselab {subcommand}" if subcommand else "poselab"
    try:
        try:
            return build()
        except argparse.ArgumentError as err:
            raise ConfigError(f"bad configuration: {_config_message(err)}") from None
    except SIGTERMException:  # Lightning stops after the current batch and exits 0, as if it had finished
        print(f"{prog}: stopped by SIGTERM after the current batch; nothing after it ran. An attack "
              "evaluation keeps its partial state (saved every save_every batches in <results>/.partial): "
              "re-run the same command to resume", file=sys.stderr)
        raise SystemExit(SIGTERM_EXIT) from None
    except (ConfigError, CheckpointError) as err:
        if not exit_on_error:
            raise
        print(f"poselab: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except (NotWritableError, LockedError, ResultsNotSavedError) as err:
        if not exit_on_error:
            raise
        print(f"{prog}: error: {err}", file=sys.stderr)
        raise SystemExit(1 if isinstance(err, ResultsNotSavedError) else 2) from None
    except (OSError, RuntimeError, ValueError, TypeError) as err:  # DataError/AttackConfigError: ValueErrors
        limit = _resource_error(err) if isinstance(err, (OSError, RuntimeError)) else None
        if limit is not None:
            if not exit_on_error:
                raise
            print(f"{prog}: error: a write was stopped by a resource limit ({limit}): the file size limit "
                  "(`ulimit -f`; DataLoader workers pass batches through shared-memory files, so "
                  "--data.num_workers 0 avoids those), a full disk or a quota. An attack evaluation keeps "
                  "the partial state it saved before: free the space or raise the limit, then re-run the "
                  "same command", file=sys.stderr)
            raise SystemExit(1) from None
        user = _user_error(err) if isinstance(err, (ValueError, TypeError)) else None
        if user is None:
            raise
        if not exit_on_error:
            raise user from None
        print(f"{prog}: error: {_user_message(user)}", file=sys.stderr)
        raise SystemExit(2) from None
