"""Read a ``.npy`` that holds pickled Python objects (Human3.6M's labels dict) without executing code from it:
a restricted unpickler admits numpy arrays, dtypes and scalars and plain containers and numbers only.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

#: (module, name) pairs a numpy-saved object array may name. numpy 1.x writes ``numpy.core.*``, numpy 2.x
#: ``numpy._core.*``; both resolve to the same functions.
_NUMPY_GLOBALS = {
    (mod, name)
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
} | {
    (mod, "_frombuffer") for mod in ("numpy.core.numeric", "numpy._core.numeric")
} | {("numpy", "ndarray"), ("numpy", "dtype")}
#: plain containers and numbers (pickle protocols 0-2 name some of them as globals)
_PLAIN = ("dict", "list", "tuple", "set", "frozenset", "str", "bytes", "bytearray", "int", "float", "complex",
          "bool")
_BUILTIN_GLOBALS = {(mod, n) for mod in ("builtins", "__builtin__") for n in _PLAIN}
_BUILTIN_GLOBALS |= {("__builtin__", "unicode"), ("collections", "OrderedDict")}
ALLOWED_GLOBALS = frozenset(_NUMPY_GLOBALS | _BUILTIN_GLOBALS)


class UnsafePickleError(ValueError):
    """A ``.npy`` whose pickle names something other than numpy arrays and plain containers/numbers."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, path: Path) -> None:
        super().__init__(file, encoding="latin1")  # latin1: numpy arrays pickled by Python 2
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        scalar = getattr(np, name, None) if module == "numpy" else None  # dtypes may name numpy.float64 etc.
        if (module, name) in ALLOWED_GLOBALS or (isinstance(scalar, type) and issubclass(scalar, np.generic)):
            return super().find_class(module, name)
        if (module, name) == ("_codecs", "encode"):  # protocol 2: bytes as _codecs.encode(str, "latin1")
            return self._latin1_encode
        raise UnsafePickleError(
            f"{self.path}: refused to load: its pickle names {module}.{name}, which a labels file never "
            "needs (only numpy arrays/dtypes/scalars, dict, list, tuple, str, numbers are allowed); "
            "the file may be malicious - do not open it with np.load(allow_pickle=True)")

    def _latin1_encode(self, text: str, encoding: str = "utf-8") -> bytes:
        if encoding.lower().replace("_", "-") not in ("latin1", "latin-1", "iso-8859-1"):
            raise UnsafePickleError(f"{self.path}: refused to load: its pickle encodes bytes as {encoding!r}")
        return text.encode("latin1")

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self.path}: refused to load: persistent id {pid!r} in its pickle")


def load_npy_restricted(path: str | Path) -> Any:
    """Load a ``.npy``: plain arrays as ``np.load(allow_pickle=False)``, object arrays with the restricted
    unpickler (a 0-d one, ``np.save(path, some_dict)``, as the object itself). Raises
    :class:`UnsafePickleError` (nothing of the pickle has run) for a global outside :data:`ALLOWED_GLOBALS`,
    ValueError/OSError for a file that is not a readable ``.npy``."""
    path = Path(path)
    headers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    with path.open("rb") as f:
        version = np.lib.format.read_magic(f)
        header = headers[version](f) if version in headers else None  # newer versions: never with pickles
        if header is None or not header[2].hasobject:
            f.seek(0)
            return np.load(f, allow_pickle=False)
        shape = header[0]
        try:
            array = _RestrictedUnpickler(f, path).load()
        except UnsafePickleError:
            raise
        except Exception as err:  # noqa: BLE001 - any failure of a truncated/garbled pickle is a bad file
            raise ValueError(f"{path}: unreadable pickled array ({type(err).__name__}: {err})") from None
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{path}: the pickle holds {type(array).__name__}, not a numpy array")
    if array.shape != tuple(shape):
        raise ValueError(f"{path}: array shape {array.shape} differs from the header's {tuple(shape)}")
    if array.dtype == object and array.ndim == 0:
        return array.item()
    return array
