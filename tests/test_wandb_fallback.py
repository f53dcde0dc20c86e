"""W&B never costs a run its results: online without an API key or without network -> offline, one warning.

No test contacts the internet: the missing key is detected locally, and the network failure is simulated by
a ``wandb.init`` stand-in that raises for ``mode="online"`` (as wandb does after its init timeout).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import wandb
from attack_toys import ToyDataset, ToyMonocular
from pytorch_lightning.loggers.logger import DummyExperiment
from torch.utils.data import DataLoader

from poselab.evaluation.callback import AttackEvaluation
from poselab.wandb.naming import has_api_key, wandb_mode
from poselab.wandb.runs import init_run, make_logger


@pytest.fixture
def no_key(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "empty-netrc"))
    monkeypatch.setenv("HOME", str(tmp_path))


class _Run:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.logged: list[dict] = []

    def log(self, payload: dict) -> None:
        self.logged.append(payload)

    def finish(self) -> None:
        pass


@pytest.fixture
def offline_network(monkeypatch) -> list[str]:
    """wandb.init stand-in: online fails like an unreachable server; offline returns a recording run."""
    modes: list[str] = []

    def init(**kwargs):
        modes.append(kwargs.get("mode"))
        if kwargs.get("mode") == "online":
            raise wandb.errors.CommError("Run initialization has timed out after 60.0 sec. (simulated)")
        return _Run(kwargs.get("mode"))

    monkeypatch.setattr(wandb, "init", init)
    monkeypatch.setenv("WANDB_API_KEY", "0" * 40)  # a key is configured: the failure is the network's
    monkeypatch.setenv("WANDB_MODE", "online")
    return modes


def test_online_without_api_key_runs_offline_with_one_warning(monkeypatch, no_key) -> None:
    monkeypatch.setenv("WANDB_MODE", "online")
    assert not has_api_key()
    with pytest.warns(UserWarning, match="no API key is configured.*logging offline") as record:
        assert wandb_mode() == "offline"
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # decided once: later calls are quiet
        assert wandb_mode() == "offline"


def test_a_netrc_key_counts(monkeypatch, no_key, tmp_path) -> None:
    (tmp_path / "empty-netrc").write_text("machine api.wandb.ai\n  login user\n  password " + "1" * 40 + "\n")
    (tmp_path / "empty-netrc").chmod(0o600)
    monkeypatch.setenv("WANDB_MODE", "online")
    assert has_api_key()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert wandb_mode() == "online"


def test_no_network_falls_back_offline(offline_network, tmp_path, monkeypatch) -> None:
    logger = make_logger("attack", group="g", model="m", dataset="d", save_dir=tmp_path)
    with pytest.warns(UserWarning, match="online start failed \\(CommError.*logging offline") as record:
        run = logger.experiment
    assert len(record) == 1
    assert offline_network == ["online", "offline"] and isinstance(run, _Run) and run.mode == "offline"
    assert logger.experiment is run  # no second attempt
    assert wandb_mode() == "offline"  # the rest of the process stays offline
    monkeypatch.setenv("WANDB_MODE", "online")
    with pytest.warns(UserWarning, match="online start failed"):
        run = init_run("report", group="g", save_dir=tmp_path)
    assert run.mode == "offline" and offline_network[-2:] == ["online", "offline"]


def test_w_and_b_failing_completely_never_loses_the_results(monkeypatch, tmp_path) -> None:
    def broken(**kwargs):
        raise wandb.errors.CommError("simulated: nothing works")

    monkeypatch.setattr(wandb, "init", broken)
    logger = make_logger("attack", group="g", save_dir=tmp_path / "wandb")
    cb = AttackEvaluation([{"kind": "untargeted", "eps": [0, 4], "iterations": [1]}], out_dir=str(tmp_path),
                          run_name="run", dataset_name="toy", print_tables=False)
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=logger, callbacks=[cb],
                         enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="W&B run could not start"):
        trainer.test(ToyMonocular(), dataloaders=DataLoader(ToyDataset(4), batch_size=2))
    assert isinstance(logger.experiment, DummyExperiment)
    assert (Path(tmp_path) / "run" / "results.csv").read_text().count("\n") == 1 + 4  # clean + fgsm, P1 + P2
