"""PoseDataModule: splits, views, loaders across workers, the shipped data configs, bad arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from support.sample import validate_sample

from poselab.data.datamodule import PoseDataModule

ROOT = Path(__file__).resolve().parents[1]
TINY = {"image_size": 24, "train_size": 8, "val_size": 4, "test_size": 4, "batch_size": 4, "num_workers": 0}


def test_splits_views_and_batches():
    dm = PoseDataModule(**TINY, train_random_view=True, views=[0, 2, 3])
    dm.setup("fit")
    dm.setup("test")
    train, val, test = (dm.datasets[k] for k in ("train", "val", "test"))
    assert set(train.subjects) == {"S1", "S5", "S6", "S7", "S8"} and set(test.subjects) == {"S9", "S11"}
    assert not set(train.subjects) & (set(val.subjects) | set(test.subjects))
    assert len(train) == 8 and len(val) == 4 and len(test) == 4
    batch = next(iter(dm.train_dataloader()))
    validate_sample(batch, batched=True)
    assert batch["images"].shape == (4, 1, 3, 24, 24)
    assert set(batch["camera_ids"].flatten().tolist()) <= {0, 2, 3}
    for loader in (dm.val_dataloader(), dm.test_dataloader()):
        batch = next(iter(loader))
        validate_sample(batch, batched=True)
        assert batch["camera_ids"][0].tolist() == [0, 2, 3]  # evaluation always sees every view
    # val and test share subjects but not frames
    val_keys = {val.key(i) for i in range(len(val))}
    assert not val_keys & {test.key(i) for i in range(len(test))}
    assert dm.hparams["dataset"] == "synthetic"


def test_pin_memory_follows_the_trainer_device_unless_set():
    class FakeTrainer:  # what _pin_memory reads of a Trainer
        def __init__(self, device: str) -> None:
            self.strategy = type("S", (), {"root_device": torch.device(device)})()

    dm = PoseDataModule(**TINY)
    assert dm._pin_memory() is False  # no trainer: plain memory
    for device, expected in (("cpu", False), ("cuda", True)):
        dm.trainer = FakeTrainer(device)
        assert dm._pin_memory() is expected
    for setting in (True, False):
        dm = PoseDataModule(**TINY, pin_memory=setting)
        dm.trainer = FakeTrainer("cuda")
        assert dm._pin_memory() is setting
    dm = PoseDataModule(**TINY, pin_memory=False)
    dm.setup("fit")
    assert dm.train_dataloader().pin_memory is False and dm.val_dataloader().pin_memory is False


def test_loaders_give_the_same_batches_with_workers():
    kwargs = {**TINY, "train_size": 4}
    dm0 = PoseDataModule(**kwargs)
    dm2 = PoseDataModule(**{**kwargs, "num_workers": 2})
    for dm in (dm0, dm2):
        dm.setup("validate")
    a = next(iter(dm0.val_dataloader()))
    b = next(iter(dm2.val_dataloader()))
    assert torch.equal(a["images"], b["images"]) and torch.equal(a["joints_2d"], b["joints_2d"])


def _config(name: str) -> dict:
    cfg = yaml.safe_load((ROOT / "configs/data" / name).read_text())
    assert set(cfg) == {"data"}
    return cfg["data"]


def test_shipped_configs_build_the_datamodule(tmp_path):
    cfg = _config("synthetic.yaml")
    dm = PoseDataModule(**{**cfg, **TINY})
    dm.setup("test")
    validate_sample(next(iter(dm.test_dataloader())), batched=True)
    h36m = _config("h36m.yaml")
    assert h36m["dataset"] == "h36m" and h36m["test_subjects"] == ["S9", "S11"]
    dm = PoseDataModule(**{**h36m, "root": str(tmp_path / "missing")})
    with pytest.raises(FileNotFoundError, match="root folder not found"):
        dm.setup("test")


@pytest.mark.parametrize("kwargs, message", [
    ({"dataset": "coco"}, "dataset must be one of synthetic, h36m"),
    ({"image_size": 0}, "image_size must be a positive integer"),
    ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
    ({"val_batch_size": 0}, "val_batch_size must be an integer >= 1, got 0"),  # was: silently batch_size
    ({"test_size": 0}, "test_size must be an integer >= 1, got 0"),  # was: rc 0 doing nothing
    ({"train_size": 2.5}, "train_size must be an integer >= 1, got 2.5"),
    ({"dataset": "h36m"}, "root must point to the Human3.6M folder"),
])
def test_bad_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PoseDataModule(**kwargs)


def test_unknown_subject_is_named_at_setup():
    dm = PoseDataModule(**TINY, test_subjects=["S10"])
    with pytest.raises(ValueError, match="unknown subject 'S10'"):
        dm.setup("test")


def test_preview_data_writes_a_grid_of_views_and_reports_bad_input(tmp_path, capsys):
    import cv2

    from poselab.cli import main

    out = tmp_path / "sub" / "preview.png"
    args = ["preview-data", "--out", str(out)]
    assert main([*args, "--samples", "2", "--image-size", "24", "--tile", "32"]) == 0
    image = cv2.imread(str(out))
    assert image.shape == (2 * 36, 4 * 36, 3) and image.std() > 10  # 2 samples x 4 views, 2 px borders
    cfg = tmp_path / "data.yaml"
    cfg.write_text(yaml.safe_dump({"data": {"dataset": "synthetic", "views": [1, 2], "test_size": 4}}))
    assert main([*args, "--data", str(cfg), "--samples", "1", "--tile", "16"]) == 0
    assert cv2.imread(str(out)).shape == (20, 2 * 20, 3)
    assert main([*args, "--data", str(tmp_path / "none.yaml")]) == 2
    assert "data config not found" in capsys.readouterr().err
    assert main([*args, "--image-size", "0"]) == 2
    assert "image_size must be a positive integer" in capsys.readouterr().err


def test_dataset_label_names_real_motion_runs_apart():
    """Results and W&B tags read one name: 'synthetic_cmu' for the real-motion test split."""
    from types import SimpleNamespace

    from poselab.data.datamodule import dataset_label

    assert dataset_label(PoseDataModule(dataset="synthetic", motion="cmu")) == "synthetic_cmu"
    assert dataset_label(PoseDataModule(dataset="synthetic")) == "synthetic"
    assert dataset_label(SimpleNamespace(hparams={"dataset": "h36m"})) == "h36m"
    assert dataset_label(None) is None
