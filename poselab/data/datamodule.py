"""``PoseDataModule``: one LightningDataModule for the synthetic dataset and Human3.6M (``configs/data/``)."""

from __future__ import annotations

import os
from typing import Any

import pytorch_lightning as pl
from torch.utils.data import DataLoader, Dataset

from poselab.data.errors import DataError
from poselab.data.resumable import EpochSampler, ResumableLoader

DATASETS = ("synthetic", "h36m")


class PoseDataModule(pl.LightningDataModule):
    """Multi-view pose data for every poselab model; validation and test always return every view.

    Args:
        dataset: "synthetic" (embedded, generated on the fly) or "h36m" (preprocessed Human3.6M).
        root: Human3.6M root holding ``processed/`` and the labels file (unused for synthetic).
        labels: labels ``.npy`` path (absolute, or relative to ``root``); h36m only.
        image_size: crop side in pixels.
        views: camera indices (default all 4).
        train_random_view: one view per training sample, drawn from (seed, index) (monocular training).
        train_size, val_size, test_size: samples per split (synthetic).
        train_stride, val_stride, test_stride: keep every n-th frame (h36m).
        batch_size, val_batch_size: batch sizes (val/test use ``val_batch_size``, default ``batch_size``).
        num_workers: DataLoader worker processes.
        pin_memory: page-locked batches (faster host-to-GPU copies); None: on when training on CUDA.
        seed: dataset seed (synthetic motion/lighting; random-view choice).
        actions: restrict to these actions (default all).
        with_damaged_actions, undistorted, resample: Human3.6M protocol options (see
            :class:`poselab.data.h36m.Human36M`; presets ``configs/data/h36m.yaml`` and ``h36m_lt.yaml``).
        motion: poses of the synthetic test split (train and val are always procedural): "procedural" (the
            pose prior) or "cmu" (real motion capture, a held-out split; results named ``synthetic_cmu``).
    """

    def __init__(
        self,
        dataset: str = "synthetic",
        root: str | None = None,
        labels: str = "extra/human36m-multiview-labels-GTbboxes.npy",
        image_size: int = 256,
        views: list[int] | None = None,
        train_random_view: bool = False,
        train_subjects: list[str] | None = None,
        val_subjects: list[str] | None = None,
        test_subjects: list[str] | None = None,
        train_size: int = 20000,
        val_size: int = 512,
        test_size: int = 1024,
        train_stride: int = 1,
        val_stride: int = 256,
        test_stride: int = 64,
        batch_size: int = 32,
        val_batch_size: int | None = None,
        num_workers: int = 4,
        pin_memory: bool | None = None,
        seed: int = 0,
        actions: list[str] | None = None,
        with_damaged_actions: bool = False,
        undistorted: bool = False,
        resample: str = "linear",
        motion: str = "procedural",
    ) -> None:
        super().__init__()
        if dataset not in DATASETS:
            raise DataError(f"dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
        from poselab.data.synthetic.dataset import MOTIONS, check_image_size

        if motion not in MOTIONS:
            raise DataError(f"motion must be one of {', '.join(MOTIONS)}, got {motion!r}")
        if motion != "procedural" and dataset != "synthetic":
            raise DataError(f"motion {motion!r} needs dataset 'synthetic', got {dataset!r}")
        check_image_size(image_size)
        for name, value in (("batch_size", batch_size), ("val_batch_size", val_batch_size),
                            ("train_size", train_size), ("val_size", val_size), ("test_size", test_size),
                            ("train_stride", train_stride), ("val_stride", val_stride),
                            ("test_stride", test_stride)):
            if value is None and name == "val_batch_size":
                continue  # None: batch_size
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise DataError(f"{name} must be an integer >= 1, got {value!r}")
        if dataset == "h36m" and not root:
            raise DataError("root must point to the Human3.6M folder (holding processed/ and the labels "
                             "file) when dataset is 'h36m'")
        self.save_hyperparameters()
        self.dataset_name = dataset if motion == "procedural" else f"{dataset}_{motion}"
        self.train_subjects = list(train_subjects or ["S1", "S5", "S6", "S7", "S8"])
        self.val_subjects = list(val_subjects or ["S9", "S11"])
        self.test_subjects = list(test_subjects or ["S9", "S11"])
        self.datasets: dict[str, Dataset] = {}
        self._train_loader: ResumableLoader | None = None
        self._train_loader_state: dict | None = None

    def make_dataset(self, split: str) -> Dataset:
        """The dataset of ``split`` ("train", "val" or "test")."""
        hp = self.hparams
        subjects = getattr(self, f"{split}_subjects")
        random_view = bool(hp.train_random_view) and split == "train"
        if hp.dataset == "synthetic":
            from poselab.data.synthetic import SyntheticMultiView

            motion = hp.get("motion", "procedural") if split == "test" else "procedural"
            # val and test share subjects: different frames (offsets) keep them apart
            return SyntheticMultiView(subjects=subjects, size=hp[f"{split}_size"], image_size=hp.image_size,
                                      views=hp.views, random_view=random_view, seed=hp.seed,
                                      frame_offset=3 if split == "val" else 0, motion=motion,
                                      actions=hp.actions if motion == "procedural" else None)
        from poselab.data.h36m import Human36M

        return Human36M(root=hp.root, labels=hp.labels, subjects=subjects, image_size=hp.image_size,
                        views=hp.views, stride=hp[f"{split}_stride"], random_view=random_view, seed=hp.seed,
                        actions=hp.actions, with_damaged_actions=hp.with_damaged_actions,
                        undistorted=hp.undistorted, resample=hp.resample)

    def setup(self, stage: str | None = None) -> None:
        splits = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",), "predict": ("test",)}
        for split in splits.get(stage, ("train", "val", "test")):
            self._dataset(split)

    def _dataset(self, split: str) -> Dataset:
        if split not in self.datasets:
            self.datasets[split] = self.make_dataset(split)
        return self.datasets[split]

    def _pin_memory(self) -> bool:
        """``pin_memory`` as configured; None: pin when the trainer (if any) runs on CUDA."""
        if self.hparams.get("pin_memory") is not None:
            return bool(self.hparams.pin_memory)
        return self.trainer is not None and self.trainer.strategy.root_device.type == "cuda"

    def _loader_options(self) -> dict[str, Any]:
        """DataLoader options shared by every split: workers (kept alive across epochs), pinning."""
        workers = int(self.hparams.num_workers)
        return {"num_workers": workers, "persistent_workers": workers > 0, "pin_memory": self._pin_memory(),
                "drop_last": False}

    def _loader(self, split: str) -> DataLoader:
        """An evaluation split's loader (in order; ``val_batch_size``)."""
        hp = self.hparams
        batch = hp.batch_size if hp.val_batch_size is None else hp.val_batch_size
        return DataLoader(self._dataset(split), batch_size=batch, shuffle=False, **self._loader_options())

    def train_dataloader(self) -> DataLoader:
        """Resumable, shuffled by (run seed, epoch); one shard per rank when a trainer runs distributed."""
        hp = self.hparams
        trainer = self.trainer
        world, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        seed = int(os.environ.get("PL_GLOBAL_SEED", hp.seed))  # the run's seed_everything
        dataset = self._dataset("train")
        sampler = EpochSampler(dataset, seed=seed, shuffle=True, num_replicas=world, rank=rank)
        loader = ResumableLoader(dataset, batch_size=hp.batch_size, sampler=sampler, **self._loader_options())
        if self._train_loader_state is not None:
            loader.load_state_dict(self._train_loader_state)
            self._train_loader_state = None
        self._train_loader = loader
        return loader

    def state_dict(self) -> dict:
        """The training loader's position (epoch, batches trained), saved in every checkpoint (see
        :mod:`poselab.data.resumable` for why Lightning's own copy is not enough)."""
        return {"train_loader": self._train_loader.state_dict()} if self._train_loader is not None else {}

    def load_state_dict(self, state_dict: dict) -> None:
        state = state_dict.get("train_loader")
        if state is None:
            return
        self._train_loader_state = dict(state)  # for the next train loader, or the current one
        if self._train_loader is not None:
            self._train_loader.load_state_dict(state)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        return self._loader("test")


def dataset_label(datamodule: object | None) -> str | None:
    """The name a run's results and W&B tags use for its data ("synthetic", "synthetic_cmu", "h36m"):
    the datamodule's ``dataset_name`` (``PoseDataModule``), else a ``name``/``dataset`` string attribute,
    else ``hparams["dataset"]``; None when nothing names it (or no datamodule)."""
    for attr in ("dataset_name", "name", "dataset"):
        value = getattr(datamodule, attr, None)
        if isinstance(value, str):
            return value
    hp = getattr(datamodule, "hparams", None) or {}
    value = hp.get("dataset") if hasattr(hp, "get") else None
    return value if isinstance(value, str) else None
