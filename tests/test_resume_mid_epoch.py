"""Mid-epoch resume: the resumable training loader and a crashed run resumed from a step checkpoint."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from poselab.cli.lightning import run_lightning_cli
from poselab.data.resumable import EpochSampler, ResumableLoader

ROOT = Path(__file__).resolve().parents[1]


def base_args(model: str, tmp: Path) -> list[str]:
    """`make train`'s composition (smoke trainer) with every output under ``tmp``."""
    return [
        "--config", str(ROOT / f"configs/model/{model}.yaml"),
        "--config", str(ROOT / "configs/data/synthetic.yaml"),
        "--config", str(ROOT / "configs/trainer/smoke.yaml"),
        "--checkpoint.dirpath", str(tmp / "ckpt"),
        "--run.save_dir", str(tmp / "runs"),
        "--trainer.default_root_dir", str(tmp / "runs"),
    ]


def _indices(loader) -> list[int]:
    return [i for batch in loader for i in batch.tolist()]


def test_epoch_sampler_order_depends_on_seed_and_epoch_and_shards_by_rank():
    data = list(range(10))
    a, b = EpochSampler(data, seed=3), EpochSampler(data, seed=3)
    b.set_epoch(1)
    assert sorted(a) == data and list(a) == list(EpochSampler(data, seed=3)) and list(a) != list(b)
    shards = [list(EpochSampler(data, seed=3, num_replicas=4, rank=r)) for r in range(4)]
    assert all(len(s) == 3 for s in shards)  # padded like DistributedSampler
    assert set().union(*map(set, shards)) == set(data)


def test_resumable_loader_skips_consumed_batches_of_the_same_epoch_only():
    data = torch.arange(10)
    straight = ResumableLoader(data, batch_size=3, sampler=EpochSampler(data, seed=1))
    straight.sampler.set_epoch(2)
    full = _indices(straight)
    it = iter(straight)
    next(it), next(it)
    state = straight.state_dict()
    assert state == {"epoch": 2, "batches": 2}

    resumed = ResumableLoader(data, batch_size=3, sampler=EpochSampler(data, seed=1))
    resumed.load_state_dict(state)
    assert resumed.state_dict() == state
    resumed.sampler.set_epoch(2)
    assert len(resumed) == 4 and _indices(resumed) == full[6:]
    assert _indices(resumed) == full  # the skip applies once
    later = ResumableLoader(data, batch_size=3, sampler=EpochSampler(data, seed=1))
    later.load_state_dict(state)
    later.sampler.set_epoch(3)  # resumed after the end of epoch 2: epoch 3 from its start
    assert len(_indices(later)) == 10


class _CrashAtStep(pl.Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            raise RuntimeError("simulated crash")


def _weights(cli) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in cli.model.state_dict().items()}


@pytest.mark.parametrize("workers", [0, 1])
def test_crash_mid_epoch_then_resume_matches_straight_run(tmp_path, workers):
    # 2 epochs x 5 steps; the interrupted run saves last every step, dies after 7 steps (epoch 1, 2 batches)
    args = ["--trainer.max_epochs", "2", "--trainer.limit_train_batches", "null", "--data.train_size", "20",
            "--data.num_workers", str(workers), "--run.wandb", "false",
            "--trainer.enable_progress_bar", "false", "--checkpoint.last_every_n_train_steps", "1"]
    straight = run_lightning_cli([*base_args("regression", tmp_path / "a"), *args], run=False,
                                 exit_on_error=False)
    straight.trainer.fit(straight.model, datamodule=straight.datamodule)
    assert straight.trainer.global_step == 10
    assert (tmp_path / "a" / "ckpt" / "regression.ckpt").is_file()  # best still written at epoch end
    want = _weights(straight)

    crashed = run_lightning_cli([*base_args("regression", tmp_path / "b"), *args], run=False,
                                exit_on_error=False)
    crashed.trainer.callbacks.append(_CrashAtStep(7))
    with pytest.raises(RuntimeError, match="simulated crash"):
        crashed.trainer.fit(crashed.model, datamodule=crashed.datamodule)
    ckpt = torch.load(tmp_path / "b" / "ckpt" / "regression-last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 7 and ckpt["epoch"] == 1
    assert ckpt["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"epoch": 1, "batches": 2}]
    assert ckpt["PoseDataModule"] == {"train_loader": {"epoch": 1, "batches": 2}}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resumed = run_lightning_cli(["fit", *base_args("regression", tmp_path / "b"), *args,
                                     "--ckpt_path", "last"], exit_on_error=False)
    assert not [w for w in caught if "not resumable" in str(w.message)]
    assert resumed.trainer.global_step == 10 and resumed.trainer.current_epoch == 2
    got = _weights(resumed)
    for key in want:
        assert torch.allclose(got[key].float(), want[key].float(), atol=1e-6), key
