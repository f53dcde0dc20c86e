"""A small BVH (Biovision Hierarchy) reader with forward kinematics, in the file's axes and length unit.

OFFSET: translation from the parent in the parent's frame; an ``End Site`` is a joint ``<parent>_end``
without channels. Rotation channels are Euler degrees applied in listed order (``Zrotation Yrotation
Xrotation``: ``R_local = Rz @ Ry @ Rx``); position channels replace the OFFSET on their axis.
``R_world[j] = R_world[parent] @ R_local[j]``, ``p_world[j] = p_world[parent] + R_world[parent] @ t[j]``.
"""

from __future__ import annotations

import gzip
import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from poselab.data.errors import DataError, DataNotFoundError
from poselab.geometry.rotation import axis_rotation

POSITIONS = ("Xposition", "Yposition", "Zposition")
CHANNEL_NAMES = ("Xrotation", "Yrotation", "Zrotation", *POSITIONS)
#: Largest BVH text read (bytes, after decompression): 8x the full CMU 01_01 capture; parsing holds ~20x it.
MAX_BVH_BYTES = 16 * 2**20
#: Deepest joint chain and most joints accepted (CMU: depth 9, 38 joints with end sites).
MAX_DEPTH, MAX_JOINTS = 64, 1024


class BVHError(DataError):
    """A BVH text that cannot be parsed (names the line and what was expected)."""


@dataclass(frozen=True)
class BVH:
    """A parsed BVH file: N joints (parents first; -1 for a root), offsets (N, 3) file units, channel
    names per joint in file order, seconds per frame, motion (F, C) in joint then channel order."""

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]
    frame_time: float
    motion: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.motion.shape[0])

    def index(self, name: str) -> int:
        """Index of a joint by name; raises ``KeyError`` listing the names."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no joint {name!r} in the BVH; joints: {', '.join(self.names)}") from None


class _Tokens:
    """Whitespace tokens with their line numbers, for error messages."""

    def __init__(self, text: str) -> None:
        self.items = [
            (word, number) for number, line in enumerate(text.splitlines(), 1) for word in line.split()
        ]
        self.pos = 0

    def peek(self) -> str | None:
        return self.items[self.pos][0] if self.pos < len(self.items) else None

    def line(self) -> int:
        return self.items[min(self.pos, len(self.items) - 1)][1] if self.items else 1

    def next(self, what: str) -> str:
        if self.pos >= len(self.items):
            raise BVHError(f"BVH ends early: expected {what}")
        token = self.items[self.pos][0]
        self.pos += 1
        return token

    def expect(self, word: str) -> None:
        line = self.line()
        token = self.next(repr(word))
        if token != word:
            raise BVHError(f"BVH line {line}: expected {word!r}, got {token!r}")

    def number(self, what: str) -> float:
        line = self.line()
        token = self.next(what)
        try:
            value = float(token)
        except ValueError:
            raise BVHError(f"BVH line {line}: expected a number for {what}, got {token!r}") from None
        if not math.isfinite(value):
            raise BVHError(f"BVH line {line}: expected a finite number for {what}, got {token!r}")
        return value


def parse_bvh(text: str) -> BVH:
    """Parse the text of a BVH file; raises :class:`BVHError` naming the line at fault."""
    tok = _Tokens(text)
    names: list[str] = []
    parents: list[int] = []
    offsets: list[tuple[float, float, float]] = []
    channels: list[tuple[str, ...]] = []

    def add_joint(name: str, parent: int, what: str) -> int:
        """Append a joint and read its ``{ OFFSET x y z``; returns its index."""
        names.append(name)
        parents.append(parent)
        channels.append(())
        tok.expect("{")
        tok.expect("OFFSET")
        offsets.append(tuple(tok.number(what) for _ in range(3)))
        return len(names) - 1

    def joint_body(name: str, parent: int, depth: int = 0) -> None:
        if depth >= MAX_DEPTH or len(names) >= MAX_JOINTS:
            raise BVHError(f"BVH line {tok.line()}: joint {name} is nested {depth} deep or the file has more "
                           f"than {MAX_JOINTS} joints; at most depth {MAX_DEPTH} and {MAX_JOINTS} joints")
        index = add_joint(name, parent, f"OFFSET of {name}")
        if tok.peek() == "CHANNELS":
            tok.next("CHANNELS")
            line = tok.line()
            count = tok.number(f"channel count of {name}")
            if count != int(count) or not 0 <= count <= 6:
                raise BVHError(f"BVH line {line}: channel count of {name} must be 0..6, got {count:g}")
            chans = tuple(tok.next(f"channel of {name}") for _ in range(int(count)))
            for ch in chans:
                if ch not in CHANNEL_NAMES:
                    raise BVHError(f"BVH line {line}: unknown channel {ch!r} of {name}; expected one of "
                                   f"{', '.join(CHANNEL_NAMES)}")
            if len(set(chans)) != len(chans):
                raise BVHError(f"BVH line {line}: repeated channel in {name}: {' '.join(chans)}")
            channels[index] = chans
        while tok.peek() != "}":
            line = tok.line()
            word = tok.next("JOINT, End Site or '}'")
            if word == "JOINT":
                joint_body(tok.next("a joint name"), index, depth + 1)
            elif word == "End":
                tok.expect("Site")
                add_joint(f"{name}_end", index, f"End Site OFFSET of {name}")
                tok.expect("}")
            else:
                raise BVHError(f"BVH line {line}: expected JOINT, End Site or '}}' in {name}, got {word!r}")
        tok.expect("}")

    tok.expect("HIERARCHY")
    while tok.peek() == "ROOT":
        tok.next("ROOT")
        joint_body(tok.next("the root name"), -1)
    if not names:
        raise BVHError(f"BVH line {tok.line()}: expected ROOT after HIERARCHY")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise BVHError(f"BVH joint names must be unique; repeated: {', '.join(dup)}")
    tok.expect("MOTION")
    tok.expect("Frames:")
    frames = tok.number("the frame count")
    if frames != int(frames) or frames < 0:
        raise BVHError(f"BVH: Frames must be a non-negative integer, got {frames:g}")
    tok.expect("Frame")
    tok.expect("Time:")
    frame_time = tok.number("the frame time")
    if not frame_time > 0:
        raise BVHError(f"BVH: Frame Time must be > 0 seconds, got {frame_time:g}")
    n_channels = sum(len(c) for c in channels)
    values = [t for t, _ in tok.items[tok.pos :]]
    if len(values) != int(frames) * n_channels:
        raise BVHError(f"BVH: {int(frames)} frames x {n_channels} channels need {int(frames) * n_channels} "
                       f"numbers after 'Frame Time', found {len(values)}")
    try:
        motion = np.array(values, dtype=np.float64).reshape(int(frames), n_channels)
    except ValueError as err:
        raise BVHError(f"BVH: motion data holds a value that is not a number ({err})") from None
    if not np.isfinite(motion).all():
        frame, column = (int(i) for i in np.argwhere(~np.isfinite(motion))[0])
        raise BVHError(f"BVH: motion data holds NaN or inf (frame {frame}, channel {column}); every channel "
                       "value must be a finite number")
    return BVH(
        names=tuple(names),
        parents=tuple(parents),
        offsets=np.array(offsets, dtype=np.float64),
        channels=tuple(channels),
        frame_time=float(frame_time),
        motion=motion,
    )


def read_text(path: str | Path, max_bytes: int = MAX_BVH_BYTES) -> str:
    """Text of a ``.bvh`` or gzip-compressed ``.bvh.gz`` file (ASCII, at most ``max_bytes`` after
    decompression); a missing file is a DataNotFoundError, any other fault one BVHError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"BVH file not found: {path}")
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as fh:
            data = fh.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        raise BVHError(f"{path}: cannot be read ({type(err).__name__}: {err})") from None
    if len(data) > max_bytes:
        raise BVHError(f"{path}: larger than {max_bytes / 2**20:g} MiB of BVH text (MAX_BVH_BYTES); "
                       "split the capture or raise the limit")
    try:
        return data.decode("ascii")
    except UnicodeDecodeError as err:
        raise BVHError(f"{path}: not an ASCII BVH file (byte {err.start} is {data[err.start]:#04x})"
                       ) from None


def load_bvh(path: str | Path) -> BVH:
    """Parse a ``.bvh`` / ``.bvh.gz`` file; errors name the file."""
    try:
        return parse_bvh(read_text(path))
    except BVHError as err:
        raise BVHError(f"{path}: {err}") from None


def forward_kinematics(bvh: BVH) -> tuple[np.ndarray, np.ndarray]:
    """World positions (F, N, 3) (file units) and world rotations (F, N, 3, 3) of every joint and end site."""
    F, N = bvh.num_frames, len(bvh.names)
    world_rot, world_pos = np.empty((F, N, 3, 3)), np.empty((F, N, 3))
    starts = np.cumsum([0, *(len(c) for c in bvh.channels)])  # motion column of each joint's first channel
    for j, (chans, start, p) in enumerate(zip(bvh.channels, starts, bvh.parents)):
        rot = np.broadcast_to(np.eye(3), (F, 3, 3)).copy()
        trans = np.broadcast_to(bvh.offsets[j], (F, 3)).copy()
        for k, ch in enumerate(chans):
            if ch in POSITIONS:
                trans[:, "XYZ".index(ch[0])] = bvh.motion[:, start + k]
            else:
                rot = rot @ axis_rotation(ch[0], np.deg2rad(bvh.motion[:, start + k]))
        if p < 0:
            world_rot[:, j], world_pos[:, j] = rot, trans
        else:
            world_rot[:, j] = world_rot[:, p] @ rot
            world_pos[:, j] = world_pos[:, p] + np.einsum("fab,fb->fa", world_rot[:, p], trans)
    return world_pos, world_rot

