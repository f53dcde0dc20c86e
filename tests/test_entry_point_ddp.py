"""``poselab.evaluate`` under Lightning DDP on the CPU (gloo, two spawned processes, a tiny model, 4 samples):
the results folder equals a single process's. Skipped where torch.distributed/gloo or spawned processes are
unavailable."""

from __future__ import annotations

import csv
import multiprocessing
import os
from pathlib import Path

import pytest
import torch.distributed as dist
from test_adapter import FAST, TINY_GRID, _tiny_adapter

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()
                            and "spawn" in multiprocessing.get_all_start_methods()),
                       reason="needs torch.distributed with gloo and spawned processes"),
]


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_evaluate_with_ddp_spawn_gives_the_single_process_results(tmp_path: Path) -> None:
    import poselab

    os.environ.setdefault("PL_DISABLE_FORK", "1")
    common = {"data": "synthetic", "preset": None, "data_options": FAST, "wandb": False,
              "experiments": TINY_GRID, "max_samples": 4, "print_tables": False}
    ddp = poselab.evaluate(_tiny_adapter(24), out=tmp_path / "ddp", save_dir=tmp_path / "runs_ddp",
                           trainer_options={"enable_progress_bar": False, "accelerator": "cpu", "devices": 2,
                                            "strategy": "ddp_spawn"}, **common)
    assert ddp == []  # ddp_spawn's ranks run in spawned processes: the caller reads the folder
    single = poselab.evaluate(_tiny_adapter(24), out=tmp_path / "single", save_dir=tmp_path / "runs_single",
                              trainer_options={"enable_progress_bar": False, "accelerator": "cpu"}, **common)
    for name, floats in (("results.csv", ("value", "ci_low", "ci_high")), ("per_sample.csv", ("value",))):
        got, want = (_csv(tmp_path / d / "tinynet-synthetic" / name) for d in ("ddp", "single"))
        assert len(got) == len(want) > 0 and (name != "results.csv" or len(want) == len(single))
        for a, b in zip(got, want):  # the same cells and samples (4 of them, gathered from both ranks)
            assert {k: v for k, v in a.items() if k not in floats} == {k: v for k, v in b.items()
                                                                       if k not in floats}
            for k in floats:
                assert float(a[k]) == pytest.approx(float(b[k]), rel=1e-6, abs=1e-6), (name, k)
    assert {r["n"] for r in _csv(tmp_path / "ddp" / "tinynet-synthetic" / "results.csv")} == {"4"}
