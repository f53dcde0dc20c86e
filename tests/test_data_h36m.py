"""Human3.6M reader on a tiny fake tree in the learnable-triangulation layout (written with numpy/OpenCV)."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from support.sample import validate_sample

from poselab.data.datamodule import PoseDataModule
from poselab.data.h36m import Human36M
from poselab.data.synthetic import h36m_like_rig, pose_world
from poselab.skeleton import JOINT_NAMES

CAMERAS = ["54138969", "55011271", "58860488", "60457274"]
SIZE = 500  # fake sensor side (px); the rig's K is scaled to it
# learnable-triangulation's keypoint order, by name (their valid_joints picked from the 32 mocap joints)
LT_NAMES = ["r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "spine", "thorax",
            "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist", "neck_nose"]
LABELS = "extra/human36m-multiview-labels-GTbboxes.npy"


def _cameras(n_subjects: int) -> np.ndarray:
    rig = h36m_like_rig()
    cams = np.empty((n_subjects, 4), dtype=[("R", np.float32, (3, 3)), ("t", np.float32, (3, 1)),
                                             ("K", np.float32, (3, 3)), ("dist", np.float32, 5)])
    for s in range(n_subjects):
        for c in range(4):
            K = rig.K[c].copy()
            K[:2] *= SIZE / 1000.0
            t = (rig.t[c] + 40.0 * s).reshape(3, 1)  # cameras differ per subject
            cams[s, c] = (rig.R[c], t, K, rig.dist[c])
    return cams


def _project(points: np.ndarray, cam) -> np.ndarray:
    """Reference projection with OpenCV (independent of poselab.geometry)."""
    rvec, _ = cv2.Rodrigues(cam["R"].astype(np.float64))
    uv, _ = cv2.projectPoints(points.astype(np.float64), rvec, cam["t"].astype(np.float64), cam["K"].astype(
        np.float64), cam["dist"].astype(np.float64))
    return uv.reshape(-1, 2)


def build_tree(root: Path, subjects=("S1", "S9"), actions=("Walking-1", "Sitting-1"), frames=(0, 5),
               folder: str = "imageSequence", missing: tuple[str, str, int] | None = None) -> dict:
    """Write processed/ images (dots at the joints) and the labels .npy; returns the labels dict.

    ``folder``: the image folder name ("imageSequence" or "imageSequence-undistorted"); ``missing``:
    (subject, action, camera index) recorded without that camera (all-zero boxes, no image folder), like
    S11 Directions-2 in the real data."""
    cams = _cameras(len(subjects))
    dtype = np.dtype([("subject_idx", np.int8), ("action_idx", np.int8), ("frame_idx", np.int16),
                      ("keypoints", np.float32, (17, 3)), ("bbox_by_camera_tlbr", np.int16, (4, 4))])
    rows = []
    for s_idx, subject in enumerate(subjects):
        for a_idx, action in enumerate(actions):
            for frame in frames:
                ours = pose_world(0, subject, ("walking", "sitting")[a_idx % 2], frame)
                theirs = np.stack([ours[JOINT_NAMES.index(n)] for n in LT_NAMES])
                boxes = np.zeros((4, 4), np.int16)
                for c, camera in enumerate(CAMERAS):
                    if missing == (subject, action, c):
                        continue
                    uv = _project(theirs, cams[s_idx, c])
                    left, top = uv.min(0) - 20
                    right, bottom = uv.max(0) + 20
                    boxes[c] = (top, left, bottom, right)
                    image = np.full((SIZE, SIZE, 3), 20, np.uint8)
                    for u, v in uv:
                        cv2.circle(image, (int(round(u)), int(round(v))), 6, (255, 255, 255), -1)
                    path = root / "processed" / subject / action / folder / camera
                    path.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(path / f"img_{frame + 1:06d}.jpg"), image)
                rows.append((s_idx, a_idx, frame, theirs, boxes))
    labels = {"subject_names": list(subjects), "camera_names": CAMERAS, "action_names": list(actions),
              "cameras": cams, "table": np.array(rows, dtype=dtype)}
    (root / "extra").mkdir(parents=True, exist_ok=True)
    np.save(root / LABELS, labels)
    return labels


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("h36m")
    return root, build_tree(root)


def test_samples_cameras_and_projections_agree_with_the_files(tree):
    root, labels = tree
    ds = Human36M(root, subjects=["S9"], image_size=48)
    assert len(ds) == 4  # 2 actions x 2 frames of S9
    for i in range(len(ds)):
        s = ds[i]
        validate_sample(s)
        row = labels["table"][(labels["table"]["subject_idx"] == 1)][i]
        assert s["subject"] == "S9" and s["action"] == labels["action_names"][row["action_idx"]]
        assert s["frame"] == row["frame_idx"] and s["images"].shape == (4, 3, 48, 48)
        expected = np.stack([row["keypoints"][LT_NAMES.index(n)] for n in JOINT_NAMES])
        np.testing.assert_allclose(s["joints_world"].numpy(), expected, atol=1e-4)
        for v in range(4):
            cam = labels["cameras"][1, v]
            np.testing.assert_allclose(s["R"][v].numpy(), cam["R"], atol=1e-6)
            np.testing.assert_allclose(s["t"][v].numpy(), cam["t"][:, 0], atol=1e-3)
            np.testing.assert_allclose(s["dist"][v].numpy(), cam["dist"], atol=1e-7)
            cam_pts = expected @ cam["R"].T + cam["t"][:, 0]
            np.testing.assert_allclose(s["joints_cam"][v].numpy(), cam_pts, atol=1e-2)
            # reference: OpenCV projection into the full frame, then the square crop of the tlbr box
            top, left, bottom, right = row["bbox_by_camera_tlbr"][v].astype(float)
            side = max(right - left, bottom - top)
            x0, y0 = 0.5 * (left + right) - side / 2, 0.5 * (top + bottom) - side / 2
            np.testing.assert_allclose(s["bbox"][v].numpy(), [x0, y0, x0 + side, y0 + side], atol=1e-3)
            ref = (_project(expected, cam) - [x0, y0]) * 48 / side
            np.testing.assert_allclose(s["joints_2d"][v].numpy(), ref, atol=0.01)
            # the crop shows the dots drawn at the joints where joints_2d says they are
            img = s["images"][v].float().mean(0)
            uv = s["joints_2d"][v].round().long().clamp(0, 47)
            assert img[uv[:, 1], uv[:, 0]].mean() > 150 and img.median() < 60


def test_protocol_options_stride_views_by_name_and_random_view(tree):
    root, _ = tree
    full = Human36M(root, subjects=["S1", "S9"], image_size=16)
    assert len(full) == 8
    strided = Human36M(root, subjects=["S1", "S9"], image_size=16, stride=3)
    assert len(strided) == 3 and strided[1]["frame"] == full[3]["frame"]
    two = Human36M(root, subjects=["S1"], image_size=16, views=["58860488", 0], actions=["Sitting-1"])
    s = two[0]
    assert s["camera_ids"].tolist() == [2, 0] and s["action"] == "Sitting-1"
    torch.testing.assert_close(s["joints_2d"][1], full[2]["joints_2d"][0])
    mono = Human36M(root, subjects=["S1"], image_size=16, random_view=True, seed=3)
    ids = [mono[i]["camera_ids"].tolist() for i in range(len(mono))]
    assert all(len(x) == 1 for x in ids) and ids == [mono[i]["camera_ids"].tolist() for i in range(len(mono))]


def test_datamodule_reads_h36m(tree):
    root, _ = tree
    dm = PoseDataModule(dataset="h36m", root=str(root), image_size=16, test_stride=2, batch_size=2,
                        num_workers=0, train_random_view=True, train_subjects=["S1"], val_subjects=["S9"],
                        test_subjects=["S9"])
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    validate_sample(batch, batched=True)
    assert batch["images"].shape[1] == 1 and set(batch["subject"]) == {"S1"}
    dm.setup("test")
    assert len(dm.datasets["test"]) == 2 and next(iter(dm.test_dataloader()))["images"].shape[1] == 4


# ------------------------------------------------------------------------------------------ bad input
def _write_labels(tmp: Path, labels: dict) -> Path:
    path = tmp / "labels.npy"
    np.save(path, labels)
    return path


def _table_with(labels: dict, field: str, shape: tuple, fill=None) -> np.ndarray:
    old = labels["table"]
    desc = [(n, old.dtype[n].base, shape if n == field else old.dtype[n].shape) for n in old.dtype.names]
    new = np.zeros(len(old), dtype=desc)
    for n in old.dtype.names:
        if n != field:
            new[n] = old[n]
    if fill is not None:
        new[field] = fill
    return new


@pytest.mark.parametrize("case, error, message", [
    ("missing_field", ValueError, "missing field 'table'"),
    ("missing_column", ValueError, "missing column 'keypoints'"),
    ("keypoints_shape", ValueError, r"table\['keypoints'\] has per-row shape \(16, 3\), expected \(17, 3\)"),
    ("nan", ValueError, "NaN/inf"),
    ("inf_camera", ValueError, r"cameras\['t'\] has NaN/inf"),
    ("camera_shape", ValueError, "field 'cameras' must be a structured array of shape"),
    ("subject_idx", ValueError, r"table\['subject_idx'\] holds values outside"),
    ("not_dict", ValueError, "expected a dict"),
])
def test_bad_labels_are_rejected_naming_the_field(tree, tmp_path, case, error, message):
    root, labels = tree
    labels = {**labels, "table": labels["table"].copy(), "cameras": labels["cameras"].copy()}
    if case == "missing_field":
        del labels["table"]
    elif case == "missing_column":
        names = [n for n in labels["table"].dtype.names if n != "keypoints"]
        labels["table"] = labels["table"][names].copy()
    elif case == "keypoints_shape":
        labels["table"] = _table_with(labels, "keypoints", (16, 3))
    elif case == "nan":
        labels["table"]["keypoints"][3, 5, 1] = np.nan
    elif case == "inf_camera":
        labels["cameras"]["t"][1, 2, 0, 0] = np.inf
    elif case == "camera_shape":
        labels["cameras"] = labels["cameras"][:1]
    elif case == "subject_idx":
        labels["table"]["subject_idx"][0] = 7
    path = _write_labels(tmp_path, [1, 2, 3] if case == "not_dict" else labels)
    if case == "not_dict":
        np.save(path, np.arange(3))
    with pytest.raises(error, match=message) as info:
        Human36M(root, labels=path, subjects=["S1"], image_size=16)
    assert str(path) in str(info.value)


def test_missing_root_labels_names_and_sizes_are_rejected(tree, tmp_path):
    root, _ = tree
    with pytest.raises(FileNotFoundError, match="root folder not found"):
        Human36M(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="labels file not found: .*missing.npy"):
        Human36M(root, labels="missing.npy")
    (tmp_path / "garbage.npy").write_bytes(b"not numpy")
    with pytest.raises(ValueError, match="garbage.npy: cannot be read"):
        Human36M(root, labels=tmp_path / "garbage.npy")
    with pytest.raises(ValueError, match="unknown subject 'S2'"):
        Human36M(root, subjects=["S2"])
    with pytest.raises(ValueError, match="unknown action 'Jumping-1'"):
        Human36M(root, subjects=["S1"], actions=["Jumping-1"])
    with pytest.raises(ValueError, match="unknown camera '12345678'"):
        Human36M(root, subjects=["S1"], views=["12345678"])
    with pytest.raises(ValueError, match="unknown camera 4"):
        Human36M(root, subjects=["S1"], views=[0, 4])
    for bad in (0, -8):
        with pytest.raises(ValueError, match="image_size must be a positive integer"):
            Human36M(root, subjects=["S1"], image_size=bad)
    with pytest.raises(ValueError, match="root must point to the Human3.6M folder"):
        PoseDataModule(dataset="h36m", root=None)


def test_missing_or_corrupt_images_are_named(tmp_path):
    root = tmp_path / "h36m"
    build_tree(root, subjects=("S1",), actions=("Walking-1",), frames=(0, 1))
    folder = root / "processed/S1/Walking-1/imageSequence"
    (folder / CAMERAS[1] / "img_000001.jpg").unlink()
    (folder / CAMERAS[2] / "img_000002.jpg").write_bytes(b"\xff\xd8 truncated jpeg")
    ds = Human36M(root, subjects=["S1"], image_size=16)
    with pytest.raises(FileNotFoundError, match=f"image not found: .*{CAMERAS[1]}/img_000001.jpg"):
        ds[0]
    with pytest.raises(ValueError, match=f"corrupt .*{CAMERAS[2]}/img_000002.jpg"):
        ds[1]
    shutil.rmtree(folder / CAMERAS[3])
    with pytest.raises(FileNotFoundError, match=f"image folder not found: .*{CAMERAS[3]}"):
        Human36M(root, subjects=["S1"], image_size=16)
    assert len(Human36M(root, subjects=["S1"], image_size=16, views=[0, 1, 2])) == 2


def test_damaged_s9_sequences_are_left_out_unless_asked(tmp_path):
    root = tmp_path / "h36m"
    build_tree(root, subjects=("S9",), actions=("Waiting-1", "Walking-1"), frames=(0,))
    assert [Human36M(root, subjects=["S9"], image_size=8)[0]["action"]] == ["Walking-1"]
    assert len(Human36M(root, subjects=["S9"], image_size=8)) == 1
    assert len(Human36M(root, subjects=["S9"], image_size=8, with_damaged_actions=True)) == 2


# ----------------------------------------------------------------------------- protocol presets
def _preset(name: str, root: Path, **overrides) -> PoseDataModule:
    """The data module of ``configs/data/<name>.yaml`` on a fake tree (tiny crops, no workers)."""
    from poselab.data.config import data_kwargs

    kwargs = data_kwargs([Path(__file__).resolve().parents[1] / "configs" / "data" / f"{name}.yaml"])
    return PoseDataModule(**{**kwargs, "root": str(root), "image_size": 16, "num_workers": 0, **overrides})


def _add_label_rows(root: Path, labels: dict, subject: str, action: str, frames: range) -> dict:
    """Append label rows (copies of the first row of ``subject``/``action``) for extra frames; no images."""
    table = labels["table"]
    s_idx, a_idx = labels["subject_names"].index(subject), labels["action_names"].index(action)
    base = table[(table["subject_idx"] == s_idx) & (table["action_idx"] == a_idx)][0]
    extra = np.repeat(base[None], len(frames))
    extra["frame_idx"] = np.array(frames)
    labels = {**labels, "table": np.concatenate([table, extra])}
    np.save(root / LABELS, labels)
    return labels


def test_presets_quick_stride_64_and_lt_every_frame(tmp_path):
    root = tmp_path / "h36m"
    for folder in ("imageSequence-undistorted", "imageSequence"):
        labels = build_tree(root, subjects=("S9", "S11"), actions=("Walking-1",), frames=(0,), folder=folder)
    labels = _add_label_rows(root, labels, "S9", "Walking-1", range(1, 200))  # 200 S9 frames, 1 of S11
    quick, lt = _preset("h36m", root), _preset("h36m_lt", root)
    quick.setup("test")
    lt.setup("test")
    assert len(lt.datasets["test"]) == 201  # every frame of S9 and S11 (retain_every_n_frames_in_test: 1)
    assert len(quick.datasets["test"]) == len(range(0, 201, 64)) == 4  # every 64th
    # rows in label order (S9 0, S11 0, S9 1..199): every 64th row
    assert [quick.datasets["test"].table[i]["frame_idx"] for i in range(4)] == [0, 63, 127, 191]
    keys = ("test_stride", "with_damaged_actions", "undistorted", "resample")
    assert [lt.hparams[k] for k in keys] == [1, True, True, "area"]
    assert [quick.hparams[k] for k in keys] == [64, False, False, "linear"]


def test_damaged_actions_switch_in_the_presets(tmp_path):
    root = tmp_path / "h36m"
    for folder in ("imageSequence", "imageSequence-undistorted"):
        build_tree(root, subjects=("S9",), actions=("Greeting-2", "SittingDown-2", "Waiting-1", "Walking-1"),
                   frames=(0,), folder=folder)
    quick, lt = _preset("h36m", root, test_subjects=["S9"]), _preset("h36m_lt", root, test_subjects=["S9"])
    assert [s["action"] for s in quick.make_dataset("test")] == ["Walking-1"]
    assert len(lt.make_dataset("test")) == 4  # learnable-triangulation's configs: with_damaged_actions: true
    without = _preset("h36m_lt", root, test_subjects=["S9"], with_damaged_actions=False)
    assert len(without.make_dataset("test")) == 1


def test_row_with_a_missing_camera_is_kept_and_masked(tmp_path):
    from poselab.models.triangulation import TriangulationModel

    root = tmp_path / "h36m"
    labels = build_tree(root, subjects=("S11",), actions=("Directions-2",), frames=(0, 5),
                        missing=("S11", "Directions-2", 1))
    assert not (root / "processed/S11/Directions-2/imageSequence" / CAMERAS[1]).exists()
    ds = Human36M(root, subjects=["S11"], image_size=32)
    assert len(ds) == 2  # kept, not dropped
    s = ds[0]
    validate_sample(s)
    assert s["view_valid"].tolist() == [True, False, True, True]
    assert s["images"][1].max() == 0 and s["images"][0].max() > 0  # the missing view is a black crop
    assert torch.isfinite(s["K"]).all()
    # the triangulation masks the missing view: ground-truth 2D of the others + garbage there -> exact pose
    batch = {k: v.unsqueeze(0) for k, v in s.items() if isinstance(v, torch.Tensor)}
    uv = batch["joints_2d"].clone()
    uv[:, 1] = 1e4
    pose, valid, _ = TriangulationModel.triangulate(uv, torch.ones(1, 4, 17), batch)
    assert valid.all()
    torch.testing.assert_close(pose[0], s["joints_world"], atol=0.5, rtol=0)
    unmasked, _, _ = TriangulationModel.triangulate(uv, torch.ones(1, 4, 17), {**batch, "view_valid": None})
    assert (unmasked[0] - s["joints_world"]).norm(dim=-1).mean() > 10  # the mask is what made it exact
    # metrics skip it: a monocular model's validity is the mask; random_view never picks it
    from poselab.models.base import views_valid

    assert views_valid(batch, 1, 4, torch.device("cpu")).tolist() == [[True, False, True, True]]
    mono = Human36M(root, subjects=["S11"], image_size=8, random_view=True)
    assert all(mono[i]["camera_ids"].tolist() != [1] for i in range(len(mono)))
    picks = [Human36M(root, subjects=["S11"], image_size=8, random_view=True, seed=k)[0]["camera_ids"].item()
             for k in range(12)]
    assert 1 not in picks and len(set(picks)) == 3
    # a row left with one present view cannot be triangulated: dropped in multi-view mode
    assert len(Human36M(root, subjects=["S11"], image_size=8, views=[0, 1])) == 0
    assert len(Human36M(root, subjects=["S11"], image_size=8, views=[0, 1], random_view=True)) == 2
    assert labels["table"]["bbox_by_camera_tlbr"][:, 1].max() == 0


def test_undistorted_frames_are_read_with_zero_distortion(tmp_path):
    root = tmp_path / "h36m"
    labels = build_tree(root, subjects=("S9",), actions=("Walking-1",), frames=(0,),
                        folder="imageSequence-undistorted")
    with pytest.raises(FileNotFoundError, match="image folder not found: .*/imageSequence/"):
        Human36M(root, subjects=["S9"], image_size=32)
    ds = Human36M(root, subjects=["S9"], image_size=32, undistorted=True)
    s = ds[0]
    assert (s["dist"] == 0).all() and (labels["cameras"]["dist"] != 0).any()
    # joints_2d follow the undistorted pinhole projection (OpenCV with zero distortion) of the crop
    row, cam = labels["table"][0], labels["cameras"][0, 2]
    expected = np.stack([row["keypoints"][LT_NAMES.index(n)] for n in JOINT_NAMES])
    ref = _project(expected, {**{k: cam[k] for k in ("R", "t", "K")}, "dist": np.zeros(5)})
    x0, y0, x1, _ = s["bbox"][2].numpy()
    np.testing.assert_allclose(s["joints_2d"][2].numpy(), (ref - [x0, y0]) * 32 / (x1 - x0), atol=0.01)


def test_area_resampling_equals_learnable_triangulation_crop(tmp_path):
    from PIL import Image

    root = tmp_path / "h36m"
    labels = build_tree(root, subjects=("S9",), actions=("Walking-1",), frames=(0,))
    size = 24
    area = Human36M(root, subjects=["S9"], image_size=size, resample="area")[0]
    linear = Human36M(root, subjects=["S9"], image_size=size)[0]
    for v, camera in enumerate(CAMERAS):
        # reference: learnable-triangulation's crop_image (PIL crop of the LTRB box, black outside) and
        # resize_image (cv2.resize INTER_AREA), on the labelled box made square
        top, left, bottom, right = labels["table"][0]["bbox_by_camera_tlbr"][v].astype(float)
        side = max(right - left, bottom - top)
        box = np.floor(np.array([0.5 * (left + right) - side / 2, 0.5 * (top + bottom) - side / 2]) + 0.5)
        box = (*box, *(box + side))  # integer corner rounded half up, integer side
        bgr = cv2.imread(str(root / "processed/S9/Walking-1/imageSequence" / camera / "img_000001.jpg"))
        crop = np.asarray(Image.fromarray(bgr).crop(tuple(int(b) for b in box)))
        ref = cv2.cvtColor(cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(area["images"][v].numpy().transpose(1, 2, 0), ref)
        np.testing.assert_allclose(area["bbox"][v].numpy(), box)
        assert not np.array_equal(area["images"][v].numpy(), linear["images"][v].numpy())
    # the joints are where the crop K says in both (dots drawn at the joints)
    for s in (area, linear):
        img = s["images"].float().mean(1)
        uv = s["joints_2d"].round().long().clamp(0, size - 1)
        assert img[torch.arange(4)[:, None], uv[..., 1], uv[..., 0]].mean() > 100
    with pytest.raises(ValueError, match="resample must be one of linear, area"):
        Human36M(root, subjects=["S9"], image_size=size, resample="cubic")
