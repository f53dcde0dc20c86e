"""BVH reader: forward kinematics against hand-computed poses and SciPy, channel orders, errors, the clip."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from poselab.data.errors import DataNotFoundError
from poselab.data.motion.bvh import BVHError, forward_kinematics, load_bvh, parse_bvh
from poselab.data.motion.cmu import CLIP_FILE
from studies.cmu_clip.build import subsample_text


def chain(root_channels: str, child_channels: str, frames: list[str], child_offset: str = "0 2 0") -> str:
    """A root, one child and an end site 1 unit along the child's y axis."""
    n_root, n_child = len(root_channels.split()), len(child_channels.split())
    return (
        f"""HIERARCHY
ROOT Root
{{
  OFFSET 0 0 0
  CHANNELS {n_root} {root_channels}
  JOINT Child
  {{
    OFFSET {child_offset}
    CHANNELS {n_child} {child_channels}
    End Site
    {{
      OFFSET 0 1 0
    }}
  }}
}}
MOTION
Frames: {len(frames)}
Frame Time: 0.5
"""
        + "\n".join(frames)
        + "\n"
    )


def test_hand_computed_chain():
    # root at (1, 2, 3) turned 90 deg about z; the child turned 90 deg about its x axis
    text = chain(
        "Xposition Yposition Zposition Zrotation Yrotation Xrotation",
        "Zrotation Yrotation Xrotation",
        ["1 2 3 90 0 0 0 0 90", "0 0 0 0 0 0 0 0 0"],
    )
    bvh = parse_bvh(text)
    assert bvh.names == ("Root", "Child", "Child_end") and bvh.parents == (-1, 0, 1)
    assert bvh.frame_time == 0.5 and bvh.motion.shape == (2, 9)
    pos, rot = forward_kinematics(bvh)
    # child = root + Rz(90) (0, 2, 0) = (1, 2, 3) + (-2, 0, 0)
    # end = child + Rz(90) Rx(90) (0, 1, 0) = child + (0, 0, 1)
    np.testing.assert_allclose(pos[0], [[1, 2, 3], [-1, 2, 3], [-1, 2, 4]], atol=1e-12)
    np.testing.assert_allclose(pos[1], [[0, 0, 0], [0, 2, 0], [0, 3, 0]], atol=1e-12)
    np.testing.assert_allclose(rot[0, 2], rot[0, 1], atol=1e-12)  # an end site carries its parent's frame


@pytest.mark.parametrize(
    ("order", "expected_end"),
    [
        ("Zrotation Xrotation", [0, 2, 1]),  # Rz(90) Rx(90) (0, 1, 0) = Rz (0, 0, 1) = (0, 0, 1)
        ("Xrotation Zrotation", [-1, 2, 0]),  # Rx(90) Rz(90) (0, 1, 0) = Rx (-1, 0, 0) = (-1, 0, 0)
    ],
)
def test_channel_order_is_the_order_of_application(order, expected_end):
    # the same two values (90, 90) read in two channel orders give two different, hand-computed poses
    text = chain("Xposition Yposition Zposition", order, ["0 0 0 90 90"])
    pos, _ = forward_kinematics(parse_bvh(text))
    np.testing.assert_allclose(pos[0, 2], expected_end, atol=1e-12)


@pytest.mark.parametrize("order", ["".join(p) for p in itertools.permutations("XYZ")] + ["YX", "Z"])
def test_rotations_match_scipy_intrinsic_euler(order):
    rng = np.random.default_rng(len(order) * 7 + ord(order[0]))
    angles = rng.uniform(-180, 180, size=(5, len(order))).round(6)  # exactly what the text holds
    child_channels = " ".join(f"{a}rotation" for a in order)
    root = rng.uniform(-90, 90, size=(5, 3)).round(6)  # root: ZYX, a second rotation composed on top
    frames = [" ".join(f"{v:.6f}" for v in (0, 0, 0, *r, *a)) for r, a in zip(root, angles)]
    text = chain(
        "Xposition Yposition Zposition Zrotation Yrotation Xrotation", child_channels, frames, "0.3 1.5 -0.2"
    )
    pos, rot = forward_kinematics(parse_bvh(text))
    r_root = Rotation.from_euler("ZYX", root, degrees=True).as_matrix()
    r_child = r_root @ Rotation.from_euler(order, angles, degrees=True).as_matrix()
    np.testing.assert_allclose(rot[:, 1], r_child, atol=1e-9)
    np.testing.assert_allclose(pos[:, 1], r_root @ np.array([0.3, 1.5, -0.2]), atol=1e-9)
    np.testing.assert_allclose(pos[:, 2], pos[:, 1] + r_child @ np.array([0.0, 1.0, 0.0]), atol=1e-9)


def test_position_channels_replace_the_offset_on_their_axis():
    text = chain("Yposition", "Xposition Zrotation", ["5 7 90"], child_offset="1 2 3")
    pos, _ = forward_kinematics(parse_bvh(text))
    # root: OFFSET (0, 0, 0) with y = 5; child: OFFSET (1, 2, 3) with x replaced by 7
    np.testing.assert_allclose(pos[0, :2], [[0, 5, 0], [7, 7, 3]], atol=1e-12)
    np.testing.assert_allclose(pos[0, 2], [7 - 1, 7, 3], atol=1e-12)  # Rz(90) (0, 1, 0) = (-1, 0, 0)


def test_subsampling_keeps_every_step_th_frame():
    frames = [f"{i} 0 0 {10 * i} 0 0 0 0 {i}" for i in range(9)]
    text = chain(
        "Xposition Yposition Zposition Zrotation Yrotation Xrotation", "Zrotation Yrotation Xrotation", frames
    )
    full, sub = parse_bvh(text), parse_bvh(subsample_text(text, 3, 1))
    np.testing.assert_array_equal(sub.motion, full.motion[1::3])
    assert sub.frame_time == pytest.approx(1.5) and sub.names == full.names
    with pytest.raises(ValueError, match="step must be >= 1"):
        subsample_text(text, 0)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda t: t.replace(
                "CHANNELS 3 Zrotation Yrotation Xrotation", "CHANNELS 3 Zrotation Yrotation Wrotation"
            ),
            r"line 9: unknown channel 'Wrotation' of Child",
        ),
        (
            lambda t: t.replace("OFFSET 0 2 0", "OFFSET 0 two 0"),
            r"line 8: expected a number for OFFSET of Child",
        ),
        (lambda t: t.replace("Frame Time: 0.5", "Frame Time: 0"), "Frame Time must be > 0"),
        (lambda t: t.rstrip()[:-2], r"2 frames x 9 channels need 18 numbers .* found 17"),
        (lambda t: t.replace("1 2 3 90", "1 2 x 90"), "not a number"),
        (lambda t: t.split("MOTION")[0][:-30], "ends early|expected"),
        (lambda t: t.replace("JOINT Child", "JOINT Root"), "unique; repeated: Root"),
        (lambda t: t.replace("HIERARCHY", "HIERARCHIE"), "expected 'HIERARCHY'"),
    ],
)
def test_bad_files_raise_one_error_naming_the_fault(mutate, message):
    text = chain(
        "Xposition Yposition Zposition Zrotation Yrotation Xrotation",
        "Zrotation Yrotation Xrotation",
        ["1 2 3 90 0 0 0 0 90", "0 0 0 0 0 0 0 0 0"],
    )
    parse_bvh(text)  # the unmutated text is fine
    with pytest.raises(BVHError, match=message):
        parse_bvh(mutate(text))


def test_missing_file_is_a_not_found_error(tmp_path):
    with pytest.raises(DataNotFoundError, match="BVH file not found"):
        load_bvh(tmp_path / "nope.bvh")
    bad = tmp_path / "bad.bvh"
    bad.write_text("HIERARCHY\nROOT a\n{\n")
    with pytest.raises(BVHError, match="bad.bvh"):
        load_bvh(bad)


def test_shipped_clip_is_rigid_under_forward_kinematics():
    """The CMU clip: 31 joints + 7 end sites, 688 frames at 30 Hz; FK keeps bones at their OFFSET length."""
    bvh = load_bvh(CLIP_FILE)
    assert len(bvh.names) == 38 and sum(1 for c in bvh.channels if c) == 31
    assert bvh.num_frames == 688 and bvh.frame_time == pytest.approx(4 / 120, rel=1e-4)
    assert all(c == ("Zrotation", "Yrotation", "Xrotation") for c in bvh.channels[1:] if c)
    pos, rot = forward_kinematics(bvh)
    for j, p in enumerate(bvh.parents):
        if p >= 0:
            np.testing.assert_allclose(
                np.linalg.norm(pos[:, j] - pos[:, p], axis=-1),
                np.linalg.norm(bvh.offsets[j]),
                rtol=1e-9,
                atol=1e-9,
            )
    np.testing.assert_allclose(
        rot @ np.swapaxes(rot, -1, -2), np.broadcast_to(np.eye(3), rot.shape), atol=1e-9
    )


# ------------------------------------------------------------------------------ the clip builder
def _source(tmp_path, mutate=lambda t: t, name="source.bvh"):
    """A CMU source (the shipped clip's text, 688 frames) after ``mutate``."""
    from poselab.data.motion.bvh import read_text

    path = tmp_path / name
    path.write_bytes(mutate(read_text(CLIP_FILE)).encode("utf-8"))
    return path


def _deep(text: str) -> str:
    """Text whose hierarchy nests 5000 joints (a recursion bomb for a recursive parser)."""
    head = "HIERARCHY\nROOT r\n{\nOFFSET 0 0 0\nCHANNELS 3 Xrotation Yrotation Zrotation\n"
    body = "".join(f"JOINT j{i}\n{{\nOFFSET 0 1 0\n" for i in range(5000)) + "}\n" * 5001
    return head + body + "MOTION\nFrames: 1\nFrame Time: 0.1\n0 0 0\n"


def _nan_channel(text: str) -> str:
    head, motion = text.split("MOTION", 1)
    lines = motion.splitlines()
    values = lines[5].split()
    values[4] = "nan"
    lines[5] = " ".join(values)
    return head + "MOTION" + "\n".join(lines) + "\n"


@pytest.mark.parametrize("mutate, words", [
    (_deep, "nested 64 deep"),
    (lambda t: t.replace("OFFSET", "OFSET", 3), "expected 'OFFSET'"),
    (lambda t: t[: len(t) * 3 // 4], "frames x 96 channels need"),  # truncated inside the motion
    (_nan_channel, "motion data holds NaN or inf (frame 2, channel 4)"),
    (lambda t: t.replace("Hips", "Hüfte", 1), "not an ASCII BVH file (byte"),
    (lambda t: t.replace("LeftHand", "LeftPaw"), "not a CMU skeleton: marker of l_wrist names joints absent"),
])
def test_the_clip_builder_validates_everything_before_writing(tmp_path, capsys, mutate, words):
    from studies.cmu_clip.build import main

    out = tmp_path / "clip.bvh.gz"
    out.write_bytes(b"the shipped clip")
    with pytest.raises(SystemExit) as info:
        main(["--source", str(_source(tmp_path, mutate)), "--out", str(out)])
    assert info.value.code == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("error: ") and words in err[0], err
    assert out.read_bytes() == b"the shipped clip" and [p.name for p in tmp_path.iterdir()
                                                        if p.name.startswith(".")] == []


def test_the_clip_builder_writes_a_valid_source_atomically_and_caps_sizes(tmp_path, capsys):
    from poselab.data.motion.bvh import read_text
    from studies.cmu_clip import build as cmu

    out = tmp_path / "clip.bvh.gz"
    cmu.main(["--source", str(_source(tmp_path)), "--out", str(out)])
    assert load_bvh(out).num_frames == len(range(1, 688, 4)) and "172 frames" in capsys.readouterr().out
    with pytest.raises(BVHError, match="larger than .* MiB of BVH text"):
        read_text(out, max_bytes=1000)
    with pytest.raises(BVHError, match="cannot be read"):
        (tmp_path / "bad.bvh.gz").write_bytes(b"\x1f\x8bnot gzip")
        read_text(tmp_path / "bad.bvh.gz")
    cmu.MAX_CLIP_BYTES, saved = 1000, cmu.MAX_CLIP_BYTES
    try:
        with pytest.raises(cmu.DataError, match="more than .* MiB .MAX_CLIP_BYTES"):
            cmu.write_clip(_source(tmp_path), out)
    finally:
        cmu.MAX_CLIP_BYTES = saved
