"""Restricted loading of the Human3.6M labels ``.npy``: a pickled payload never runs, real labels load."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from test_data_h36m import build_tree

from poselab.data.errors import DataError
from poselab.data.h36m import load_labels
from poselab.data.safe_npy import UnsafePickleError, load_npy_restricted


class _Payload:
    """Unpickling this calls ``os.system`` (what a hostile labels file would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _hostile_npy(path: Path, marker: Path, protocol: int = 3) -> Path:
    """A .npy in np.save's layout (object array header + pickle) whose dict carries the payload."""
    labels = {"subject_names": ["S9"], "camera_names": ["54138969"], "action_names": ["Walking-1"],
              "cameras": np.zeros(1), "table": _Payload(marker)}
    array = np.empty((), dtype=object)
    array[()] = labels
    with path.open("wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "|O", "fortran_order": False, "shape": ()})
        pickle.dump(array, f, protocol=protocol)
    return path


@pytest.mark.parametrize("protocol", [2, 3, 5])
def test_pickled_payload_is_refused_and_never_runs(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "pwned"
    path = _hostile_npy(tmp_path / "labels.npy", marker, protocol)
    # the file really is hostile: numpy's own loader would run it
    np.load(path, allow_pickle=True)
    assert marker.exists()
    marker.unlink()

    with pytest.raises(UnsafePickleError) as info:
        load_npy_restricted(path)
    assert str(path) in str(info.value) and "system" in str(info.value)
    with pytest.raises(DataError) as info:
        load_labels(path)
    assert str(path) in str(info.value) and "refused to load" in str(info.value)
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_genuine_labels_in_the_real_layout_still_load(tmp_path: Path) -> None:
    written = build_tree(tmp_path, subjects=("S9",), actions=("Walking-1",), frames=(0,))
    path = tmp_path / "extra/human36m-multiview-labels-GTbboxes.npy"
    raw = load_npy_restricted(path)
    assert isinstance(raw, dict) and set(raw) == set(written)
    np.testing.assert_array_equal(raw["table"], written["table"])
    np.testing.assert_array_equal(raw["cameras"], written["cameras"])
    assert raw["table"].dtype == written["table"].dtype and raw["cameras"].dtype == written["cameras"].dtype
    labels = load_labels(path)
    assert labels["subject_names"] == ["S9"] and len(labels["table"]) == 1


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_numpy_scalars_and_plain_containers_load_with_any_protocol(tmp_path: Path, protocol: int) -> None:
    value = {"a": [np.float64(1.5), np.int16(3), 2, 2.5, "x", b"y", None, True], "b": (np.arange(4.0),),
             "c": np.array([("S1", 3)], dtype=[("name", "U4"), ("n", np.int32)])}
    array = np.empty((), dtype=object)
    array[()] = value
    path = tmp_path / "v.npy"
    with path.open("wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "|O", "fortran_order": False, "shape": ()})
        pickle.dump(array, f, protocol=protocol)
    got = load_npy_restricted(path)
    assert got["a"] == value["a"] and type(got["a"][0]) is np.float64
    np.testing.assert_array_equal(got["b"][0], value["b"][0])
    np.testing.assert_array_equal(got["c"], value["c"])


def test_plain_arrays_and_garbage(tmp_path: Path) -> None:
    np.save(tmp_path / "plain.npy", np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(load_npy_restricted(tmp_path / "plain.npy"), np.arange(6).reshape(2, 3))
    (tmp_path / "junk.npy").write_bytes(b"not a numpy file")
    with pytest.raises(DataError, match="junk.npy: cannot be read"):
        load_labels(tmp_path / "junk.npy")
