"""Errors of the data layer: bad data options and missing or corrupt data files.

Every error that :mod:`poselab.data` raises about the user's data or data options is a
:class:`DataError` (a ``ValueError``); a missing file or folder is a :class:`DataNotFoundError`, which is
also a ``FileNotFoundError``. ``poselab fit|validate|test|predict`` reports them as one
``poselab <subcommand>: error: ...`` line (exit status 2) instead of a traceback, while genuine bugs
(any other exception) keep their traceback.

Both classes take a single message argument, so a DataLoader worker re-raises them with their own type
(with the worker's traceback in the message; :func:`worker_message` recovers the original message).
"""

from __future__ import annotations

import re


class DataError(ValueError):
    """A bad data option, or data that cannot be read (names the file/field/value at fault)."""


class DataNotFoundError(DataError, FileNotFoundError):
    """A data file or folder that does not exist."""


_WORKER_MARK = "Original Traceback (most recent call last):"
_HEADER = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception)(?::|$) ?")


def worker_message(message: str, exc_type: type[BaseException] | None = None) -> str:
    """The original exception message of an error re-raised from a DataLoader worker process.

    torch re-raises a worker's exception as ``"Caught X in DataLoader worker process N.\\nOriginal
    Traceback (most recent call last):\\n  File ...\\nmodule.X: <message>"``; this returns ``<message>``
    (with its own further lines, if any): the text after the last ``module.X:`` line (``X`` being
    ``exc_type`` when given, else any ``...Error``/``...Exception`` name). Other messages are returned
    unchanged.
    """
    if _WORKER_MARK not in message:
        return message
    lines = message.split(_WORKER_MARK, 1)[1].strip("\n").splitlines()
    if exc_type is not None:
        names = {exc_type.__qualname__, f"{exc_type.__module__}.{exc_type.__qualname__}"}
        header = re.compile(rf"^(?:{'|'.join(re.escape(n) for n in names)})(?::|$) ?")
    else:
        header = _HEADER
    for i in range(len(lines) - 1, -1, -1):
        if header.match(lines[i]):
            text = "\n".join([header.sub("", lines[i], count=1), *lines[i + 1:]]).strip()
            return text or lines[i].strip()
    return lines[-1].strip() if lines else message


__all__ = ["DataError", "DataNotFoundError", "worker_message"]
