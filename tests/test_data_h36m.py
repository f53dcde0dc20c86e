"""Human3.6M reader on a tiny fake tree in the learnable-triangulation layout (written with numpy/OpenCV)."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from poselab.data.datamodule import PoseDataModule
from poselab.data.h36m import Human36M
from poselab.data.sample import validate_sample
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


def build_tree(root: Path, subjects=("S1", "S9"), actions=("Walking-1", "Sitting-1"), frames=(0, 5)) -> dict:
    """Write processed/ images (dots at the joints) and the labels .npy; returns the labels dict."""
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
                    uv = _project(theirs, cams[s_idx, c])
                    left, top = uv.min(0) - 20
                    right, bottom = uv.max(0) + 20
                    boxes[c] = (top, left, bottom, right)
                    image = np.full((SIZE, SIZE, 3), 20, np.uint8)
                    for u, v in uv:
                        cv2.circle(image, (int(round(u)), int(round(v))), 6, (255, 255, 255), -1)
                    path = root / "processed" / subject / action / "imageSequence" / camera
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
