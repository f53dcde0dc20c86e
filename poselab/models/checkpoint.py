"""Safe checkpoint loading (``torch.load(weights_only=True)``) with one clear error per failure."""

from __future__ import annotations

import inspect
import types
import typing
from pathlib import Path
from typing import Any

import torch

#: Python types a checkpoint's hyper-parameter may hold and a model parameter may declare (plain data only:
#: jsonargparse imports the module a string names when a parameter is typed as a class or callable).
_PLAIN = (type(None), bool, int, float, str)
#: The key Lightning writes into every checkpoint (its migration step needs it to restore one).
LIGHTNING_VERSION = "pytorch-lightning_version"


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, or holds another model."""


def load_safely(path: str | Path, what: str, error: type[Exception] = CheckpointError) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU, or one ``error`` line naming ``what`` and the file
    (missing, or not loadable without running code: corrupt, not a torch file, a pickled object)."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure is one clear error
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise error(f"{what} {path} could not be loaded safely (weights_only=True: corrupt, not a torch file "
                    f"or holding code): {type(err).__name__}: {first}") from None


def read_checkpoint(path: str | Path, expected_model: str | None = None, lightning: bool = False
                    ) -> dict[str, Any]:
    """Load a Lightning checkpoint safely (tensors and plain data only) onto the CPU; ``lightning``: it goes
    on to Lightning's own restore (``--ckpt_path``), which needs :data:`LIGHTNING_VERSION`.

    Raises:
        CheckpointError: naming the file, when it is missing, cannot be unpickled safely, is not a
            poselab checkpoint, or holds a model other than ``expected_model``.
    """
    path = Path(path)
    ckpt = load_safely(path, "checkpoint")
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"checkpoint {path} is not a Lightning checkpoint (no 'state_dict')")
    found = ckpt.get("poselab_model")
    if found is None:
        raise CheckpointError(f"checkpoint {path} is not a poselab model checkpoint (no 'poselab_model')")
    if expected_model is not None and found != expected_model:
        raise CheckpointError(model_mismatch(path, found, expected_model))
    if lightning and not isinstance(ckpt.get(LIGHTNING_VERSION), str):  # Lightning raises a bare KeyError
        raise CheckpointError(f"checkpoint {path} is not a Lightning checkpoint (no '{LIGHTNING_VERSION}')")
    return ckpt


def model_mismatch(path: str | Path | None, found: str | None, wanted: str) -> str:
    """The message for a checkpoint of model ``found`` given where the model config asks for ``wanted``."""
    holder = "the checkpoint" if path is None else f"checkpoint {path}"
    found_text = repr(found) if found else "no poselab"
    return (f"{holder} holds a {found_text} model, but the model config asks for a {wanted!r} model: give a "
            f"{wanted} checkpoint" + (f", or the {found} model config (configs/model/{found}.yaml, "
                                      f"MODEL={found})" if found else ""))


def _plain_value(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_plain_value(v) for v in value)
    return isinstance(value, _PLAIN)


def _plain_annotation(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType, list, tuple):
        return all(_plain_annotation(a) for a in typing.get_args(hint) if a is not Ellipsis)
    return hint in _PLAIN


def _fits(value: Any, hint: Any) -> bool:
    """Whether plain ``value`` is of the plain annotation ``hint`` (an int fits float, a bool only bool)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and Ellipsis not in args:
            return len(value) == len(args) and all(_fits(v, a) for v, a in zip(value, args))
        return all(_fits(v, args[0]) for v in value) if args else True
    if hint in (int, float):
        return isinstance(value, (int, hint)) and not isinstance(value, bool)
    return isinstance(value, hint)


def checked_hyper_parameters(ckpt: dict[str, Any], path: str | Path, cls: type,
                             allowed_class_paths: set[str] | None = None) -> dict[str, Any]:
    """The checkpoint's ``hyper_parameters`` as plain keyword arguments of ``cls``, else a CheckpointError
    naming the file and the entry. A checkpoint never chooses which code runs: its ``_class_path`` must name
    ``cls`` (or one of ``allowed_class_paths``), every key a parameter of ``cls.__init__`` declared as plain
    data (None, bool, int, float, str, lists/unions of them) and every value plain data."""
    hparams = dict(ckpt.get("hyper_parameters") or {})
    hparams.pop("_instantiator", None)
    class_path = hparams.pop("_class_path", None)
    allowed = {f"{cls.__module__}.{cls.__qualname__}"} | set(allowed_class_paths or ())
    if class_path is not None and class_path not in allowed:
        raise CheckpointError(
            f"checkpoint {path} names class {class_path!r}; poselab instantiates only the model named on the "
            f"command line or registered ({', '.join(sorted(allowed))})"
        )
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # noqa: BLE001 - unresolvable annotations: no parameter counts as plain
        hints = {}
    params = {n for n, p in inspect.signature(cls.__init__).parameters.items()
              if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    for key, value in hparams.items():
        if key not in params:
            raise CheckpointError(f"checkpoint {path} has hyper-parameter {key!r}, which {cls.__name__} "
                                  f"does not take (expected some of: {', '.join(sorted(params))})")
        if not _plain_annotation(hints.get(key)) or not _plain_value(value):
            raise CheckpointError(f"checkpoint {path} has hyper-parameter {key}={value!r}: only plain "
                                  "values (numbers, strings, booleans, None, lists of them) are read from a "
                                  "checkpoint")
        if not _fits(value, hints[key]):
            raise CheckpointError(f"checkpoint {path} has hyper-parameter {key}={value!r}, but "
                                  f"{cls.__name__} takes {_hint_name(hints[key])}")
    return hparams


def _hint_name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")
