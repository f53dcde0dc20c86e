"""How the ``poselab`` commands report a user's mistake: one line ``poselab[ <subcommand>]: error: ...`` and
an exit status instead of a traceback (:func:`reported`); genuine bugs keep their traceback."""

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
    """The :class:`~poselab.data.errors.DataError` or :class:`~poselab.experiments.base.AttackConfigError`
    behind ``err``: itself, or the cause of plain ``ValueError``/``TypeError`` wrappers (jsonargparse's)."""
    from poselab.data.errors import DataError
    from poselab.experiments.base import AttackConfigError

    for current in _chain(err):
        if isinstance(current, (DataError, AttackConfigError)):
            return current
        if type(current) not in (ValueError, TypeError):
            return None
    return None


#: errno values (and the strerror texts torch's shared-memory errors carry) of a write a limit stopped.
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


def _reply(err: Exception, prog: str) -> tuple[BaseException, str, int] | None:
    """(the error to raise without ``exit_on_error``, its one line, exit status) of a user's mistake in
    ``err``, else None (a bug: its traceback is kept)."""
    if isinstance(err, (ConfigError, CheckpointError)):
        return err, f"poselab: error: {err}", 2
    if isinstance(err, (NotWritableError, LockedError, ResultsNotSavedError)):
        return err, f"{prog}: error: {err}", 1 if isinstance(err, ResultsNotSavedError) else 2
    limit = _resource_error(err) if isinstance(err, (OSError, RuntimeError)) else None
    if limit is not None:
        return err, (f"{prog}: error: a write was stopped by a resource limit ({limit}): the file size limit "
                     "(`ulimit -f`; DataLoader workers pass batches through shared-memory files, so "
                     "--data.num_workers 0 avoids those), a full disk or a quota. An attack evaluation keeps "
                     "the partial state it saved before: free the space or raise the limit, then re-run the "
                     "same command"), 1
    user = _user_error(err) if isinstance(err, (ValueError, TypeError)) else None
    if user is not None:  # a DataLoader worker's traceback reduced to the original message
        from poselab.data.errors import worker_message

        return user, f"{prog}: error: {worker_message(str(user), type(user))}", 2
    return None


def reported(build: Callable[[], T], subcommand: str | None, exit_on_error: bool) -> T:
    """``build()``, with a user's mistake reported as one line and an exit status (:func:`_reply`): a bad
    config or checkpoint ``poselab: error: ...`` (2); an unwritable or locked folder, a data or attack-config
    error ``poselab <subcommand>: error: ...`` (2; results not saved, or a write stopped by a resource limit:
    1); SIGTERM :data:`SIGTERM_EXIT`. With ``exit_on_error`` False the error itself is raised.
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
    except Exception as err:
        reply = _reply(err, prog)
        if reply is None:
            raise
        error, message, status = reply
        if not exit_on_error:
            if error is err:
                raise
            raise error from None
        print(message, file=sys.stderr)
        raise SystemExit(status) from None
