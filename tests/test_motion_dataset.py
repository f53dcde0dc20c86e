"""`motion: cmu` of the synthetic dataset and data module: real poses, determinism, held-out split, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from support.sample import validate_sample

from poselab.data.config import data_kwargs
from poselab.data.datamodule import PoseDataModule
from poselab.data.errors import DataError
from poselab.data.motion.cmu import CLIP_NAME, subject_clip
from poselab.data.motion.retarget import bone_lengths
from poselab.data.synthetic import SyntheticMultiView, make_subject
from poselab.data.synthetic.dataset import golden_stride
from poselab.geometry import project_world

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cmu() -> SyntheticMultiView:
    return SyntheticMultiView(
        subjects=["S9", "S11"], size=8, image_size=32, seed=5, motion="cmu", frame_stride=300
    )


def test_samples_are_the_retargeted_clip_seen_by_the_rig(cmu):
    for i in range(8):
        s = cmu[i]
        validate_sample(s)
        subject, action, frame = cmu.key(i)
        assert (s["subject"], s["action"], s["frame"]) == (subject, CLIP_NAME, frame)
        assert frame == (i // 2) * 300 % 688  # frames wrap round the 688-frame clip
        joints = s["joints_world"].numpy().astype(np.float64)
        clip = subject_clip(subject)[frame]
        # the clip turned about the vertical axis through the capture space's centre: heights and
        # horizontal distances from the centre are the clip's, bones the subject's
        np.testing.assert_allclose(joints[:, 2], clip[:, 2], atol=1e-3)
        np.testing.assert_allclose(
            np.linalg.norm(joints[:, :2], axis=-1), np.linalg.norm(clip[:, :2], axis=-1), atol=1e-2
        )
        np.testing.assert_allclose(bone_lengths(joints), make_subject(subject).bone_lengths(), rtol=1e-5)
        uv = project_world(s["joints_world"], s["R"], s["t"], s["K"], s["dist"])
        torch.testing.assert_close(uv, s["joints_2d"], atol=1e-3, rtol=0)


def test_deterministic_per_seed_and_index(cmu):
    again = SyntheticMultiView(
        subjects=["S9", "S11"], size=8, image_size=32, seed=5, motion="cmu", frame_stride=300
    )
    other_seed = SyntheticMultiView(
        subjects=["S9", "S11"], size=8, image_size=32, seed=6, motion="cmu", frame_stride=300
    )
    for i in (0, 5):
        a, b, c = cmu[i], again[i], other_seed[i]
        assert torch.equal(a["images"], b["images"]) and torch.equal(a["joints_world"], b["joints_world"])
        # another seed: same pose, turned by another yaw and lit differently
        assert not torch.allclose(a["joints_world"], c["joints_world"])
        torch.testing.assert_close(a["joints_world"][:, 2], c["joints_world"][:, 2])
        assert not torch.equal(a["images"], c["images"])
    # one yaw per (seed, subject): the clip keeps its path; S9 and S11 are turned differently
    yaws = []
    for i in (0, 2, 4, 1, 3):
        subject, _, frame = cmu.key(i)
        p, q = subject_clip(subject)[frame][:, :2], cmu[i]["joints_world"].numpy()[:, :2].astype(np.float64)
        yaws.append(np.arctan2(np.sum(p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]), np.sum(p * q)))
    np.testing.assert_allclose(yaws[:3], yaws[0], atol=1e-5)
    np.testing.assert_allclose(yaws[3:], yaws[3], atol=1e-5)
    assert abs(yaws[0] - yaws[3]) > 1e-2


def test_bad_motion_options_raise():
    with pytest.raises(DataError, match="motion must be one of procedural, cmu, got 'mocap'"):
        SyntheticMultiView(subjects=["S9"], size=1, motion="mocap")
    with pytest.raises(DataError, match="actions apply to procedural motion only"):
        SyntheticMultiView(subjects=["S9"], size=1, motion="cmu", actions=["walking"])
    with pytest.raises(DataError, match="unknown action 'cmu_01_01'"):
        SyntheticMultiView(subjects=["S9"], size=1, actions=[CLIP_NAME])
    with pytest.raises(DataError, match="motion must be one of"):
        PoseDataModule(motion="real")
    with pytest.raises(DataError, match="motion 'cmu' needs dataset 'synthetic'"):
        PoseDataModule(dataset="h36m", root="x", motion="cmu")


def test_cmu_config_is_a_held_out_test_split():
    kwargs = data_kwargs([ROOT / "configs/data/synthetic_cmu.yaml", ROOT / "configs/trainer/cpu.yaml"])
    dm = PoseDataModule(**{**kwargs, "num_workers": 0, "train_size": 4, "val_size": 4, "test_size": 4})
    assert dm.dataset_name == "synthetic_cmu"  # results folders: <model>-synthetic_cmu
    test, train, val = (dm.make_dataset(s) for s in ("test", "train", "val"))
    assert test.motion == "cmu" and train.motion == val.motion == "procedural"
    assert {test[i]["action"] for i in range(4)} == {CLIP_NAME}
    assert test.image_size == 64 and test.subjects == ["S9", "S11"] and len(test) == 4
    # apart from the motion, the config is synthetic.yaml's: the procedural test split is the same data
    plain = data_kwargs([ROOT / "configs/data/synthetic.yaml"])
    cmu = data_kwargs([ROOT / "configs/data/synthetic_cmu.yaml"])
    assert {k: v for k, v in cmu.items() if k != "motion"} == plain
    assert PoseDataModule(**plain).dataset_name == "synthetic"


@pytest.mark.parametrize("n", [1, 2, 10, 688, 1000])
def test_golden_stride_visits_every_frame_and_spreads_any_prefix(n):
    stride = golden_stride(n)
    frames = (np.arange(n) * stride) % n
    assert sorted(frames.tolist()) == list(range(n))  # a permutation: every frame once per n samples
    if n >= 100:
        first = np.sort(frames[:8])
        gaps = np.diff(np.concatenate([first, [first[0] + n]]))
        assert gaps.max() < n / 4  # 8 samples already cover the clip without a gap of a quarter
    default = SyntheticMultiView(subjects=["S9"], size=1, motion="cmu")
    assert default.frame_stride == golden_stride(688) == 425
