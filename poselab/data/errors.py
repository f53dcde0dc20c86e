"""Errors of the data layer, reported by ``poselab`` as one ``error:`` line (exit status 2), not a traceback.

Both take a single message argument, so a DataLoader worker re-raises them with their own type.
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
    """The original message of an error re-raised from a DataLoader worker (the text after the traceback's
    last ``module.X:`` line, ``X`` being ``exc_type`` or any ``...Error``); other messages unchanged."""
    if _WORKER_MARK not in message:
        return message
    lines = message.split(_WORKER_MARK, 1)[1].strip("\n").splitlines()
    header = _HEADER
    if exc_type is not None:
        names = {exc_type.__qualname__, f"{exc_type.__module__}.{exc_type.__qualname__}"}
        header = re.compile(rf"^(?:{'|'.join(re.escape(n) for n in names)})(?::|$) ?")
    for i in range(len(lines) - 1, -1, -1):
        if header.match(lines[i]):
            text = "\n".join([header.sub("", lines[i], count=1), *lines[i + 1:]]).strip()
            return text or lines[i].strip()
    return lines[-1].strip() if lines else message
