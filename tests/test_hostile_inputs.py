"""Faults and bad values at the attack evaluation: nothing lost, one clear error each.

The table "Hostile inputs and faults" in docs/ROBUSTNESS.md lists every case; each names its test here or
in test_safe_io.py / test_safe_npy.py / test_cli_errors.py.
"""

from __future__ import annotations

import errno
import math
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from attack_toys import ToyDataset, ToyMonocular
from torch.utils.data import DataLoader

from poselab import safe_io
from poselab.evaluation import callback as callback_module
from poselab.evaluation.callback import AttackEvaluation
from poselab.experiments import AttackConfigError, build_experiment
from poselab.experiments import state as resume
from poselab.experiments.adversarial import MAX_ITERATIONS
from poselab.experiments.progress import AttackProgress

ROOT = Path(__file__).resolve().parents[1]
SMALL = [{"kind": "untargeted", "eps": [0, 2, 8], "iterations": [1, 3]},
         {"kind": "rotation", "eps": [8], "iterations": [2], "angles": [30]}]


def _run(out: Path, **kwargs) -> AttackEvaluation:
    torch.manual_seed(0)
    cb = AttackEvaluation(SMALL, out_dir=str(out), run_name="run", dataset_name="toy", max_batch=16,
                          print_tables=False, **kwargs)
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, callbacks=[cb],
                         enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
    trainer.test(ToyMonocular(), dataloaders=DataLoader(ToyDataset(6), batch_size=3))
    return cb


@pytest.fixture
def attacks(monkeypatch) -> list[str]:
    """Records every experiment the callback runs (to prove no attack work was done)."""
    calls: list[str] = []
    real = callback_module.run_experiment

    def counting(spec, batch, ctx):
        calls.append(spec.kind)
        return real(spec, batch, ctx)

    monkeypatch.setattr(callback_module, "run_experiment", counting)
    return calls


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> str:
    """results.csv of an undisturbed run."""
    out = tmp_path_factory.mktemp("straight")
    _run(out)
    return (out / "run" / "results.csv").read_text()


# ------------------------------------------------------------------------------------------ nothing lost
def test_full_disk_at_a_partial_save_warns_and_the_run_finishes(tmp_path, monkeypatch, straight) -> None:
    def full_disk(path, state):
        raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 64 vs 0")  # torch.save

    monkeypatch.setattr(resume, "save_state", full_disk)
    with pytest.warns(UserWarning, match="could not save the partial state.*unexpected pos"):
        _run(tmp_path)
    assert (tmp_path / "run" / "results.csv").read_text() == straight


def test_unwritable_results_folder_fails_before_any_attack(tmp_path, attacks) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(safe_io.NotWritableError, match=f"results folder {blocker / 'run'} is not writable"):
        _run(blocker)
    assert attacks == []


def test_failed_final_write_prints_the_tables_keeps_the_state_and_a_rerun_saves(
        tmp_path, monkeypatch, capsys, straight, attacks) -> None:
    real = safe_io.atomic_write

    def no_space(path, text):
        if Path(path).name == "results.csv":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, text)

    monkeypatch.setattr(safe_io, "atomic_write", no_space)
    with pytest.raises(safe_io.ResultsNotSavedError) as info:
        _run(tmp_path)
    out = tmp_path / "run"
    assert f"could not write the attack results to {out}" in str(info.value)
    assert "No space left" in str(info.value)
    printed = capsys.readouterr().out
    assert "NOT SAVED" in printed and "Table 1" in printed and "Table 4" in printed
    assert not (out / "results.csv").exists()
    assert (out / resume.PARTIAL_DIR / "rank0.pt").exists()  # the attacked batches are not lost
    assert not (out / ".lock").exists()
    n_attacks = len(attacks)
    monkeypatch.setattr(safe_io, "atomic_write", real)
    _run(tmp_path)  # disk freed: the same command writes the results without attacking again
    assert (out / "results.csv").read_text() == straight
    assert len(attacks) == n_attacks


def test_second_run_into_the_same_folder_is_refused(tmp_path, attacks) -> None:
    code = ("import sys; from poselab.safe_io import RunLock; RunLock(sys.argv[1]).acquire(); "
            "print('locked', flush=True); sys.stdin.read()")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "run")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(safe_io.LockedError, match=f"in use by another run \\(pid {holder.pid} on host"):
            _run(tmp_path)
        assert attacks == []
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    # its lock stays (it never released it) but its pid is dead now: taken over with a warning
    with pytest.warns(UserWarning, match="stale lock"):
        _run(tmp_path)
    assert (tmp_path / "run" / "results.csv").exists() and not (tmp_path / "run" / ".lock").exists()


def test_results_files_get_the_umask_mode(tmp_path) -> None:
    old = os.umask(0o022)
    try:
        _run(tmp_path, examples=1)
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"results.csv", "results.json", "per_joint.csv", "tables.md"}
    assert any(p.suffix == ".png" for p in files)
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {oct(0o644)}


# ------------------------------------------------------------------------------------------ bad values
@pytest.mark.parametrize("change, words", [
    ({"eps": [0, float("nan")]}, "eps must be a non-empty list of values in 0..255 px"),
    ({"eps": [0, float("inf")]}, "eps must be a non-empty list of values in 0..255 px"),
    ({"eps": [0, 300]}, "0..255 px"),
    ({"iterations": [0]}, "nothing to attack"),
    ({"eps": [0]}, "nothing to attack"),
    ({"iterations": [2.5]}, f"iterations must be whole numbers in 0..{MAX_ITERATIONS}"),
    ({"iterations": [1e11]}, f"iterations must be whole numbers in 0..{MAX_ITERATIONS}"),
    ({"iterations": [float("nan")]}, "iterations must be whole numbers"),
])
def test_bad_eps_and_iterations_are_one_clear_error(change, words) -> None:
    with pytest.raises(AttackConfigError) as info:
        build_experiment(**{"kind": "untargeted", "eps": [0, 8], "iterations": [1, 10], **change})
    assert words in str(info.value) and "\n" not in str(info.value)


def test_valid_edge_values_are_accepted() -> None:
    swap = build_experiment(kind="camera_swap", eps=[8], iterations=[0])
    assert swap.iterations == [0]  # clean target error
    spec = build_experiment(kind="untargeted", eps=[0, 255], iterations=[2.0, MAX_ITERATIONS])
    assert spec.iterations == [2, MAX_ITERATIONS]
    with pytest.raises(AttackConfigError, match="angles must be finite"):
        build_experiment(kind="rotation", eps=[8], iterations=[2], angles=[math.inf])


# ------------------------------------------------------------------------------------------ progress
def test_attack_progress_lines_have_an_eta(tmp_path, capsys) -> None:
    specs = [build_experiment(**s) for s in SMALL]
    progress = AttackProgress(specs, batches=2, min_interval_s=0.0)
    progress.begin()
    lines = [progress.experiment_done(b, i) for b in range(2) for i in range(2)]
    assert all(ln and "ETA" in ln and "elapsed" in ln for ln in lines)
    percents = [int(ln.split("%")[0].split()[-1]) for ln in lines]
    assert percents == sorted(percents) and percents[-1] == 100 and percents[0] < 100
    assert "batch 2/2, rotation done" in lines[-1] and lines[-1].endswith("ETA 0:00")
    capsys.readouterr()
    _run(tmp_path)  # the callback reports after each experiment of each attacked batch
    err = capsys.readouterr().err
    assert "attack progress:" in err and "batch 2/2" in err and "ETA" in err


# ------------------------------------------------------------------------------------------ make train
def test_make_train_leaves_the_shipped_checkpoints_alone(tmp_path, capsys) -> None:
    import yaml

    from poselab.cli.lightning import run_lightning_cli

    def make_n(*extra: str) -> str:
        proc = subprocess.run(["make", "-n", "-s", "train", "MODEL=regression", *extra], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    plain, ship = make_n(), make_n("SHIP=1")
    assert "poselab.cli fit" in plain and "--checkpoint.dirpath" not in plain
    assert "--checkpoint.dirpath checkpoints" in ship
    argv = [a for a in plain.split("poselab.cli fit", 1)[1].split() if a != "\\"]
    with pytest.raises(SystemExit) as info:
        run_lightning_cli(["fit", *argv, "--print_config"], exit_on_error=False)
    assert info.value.code in (0, None)
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert cfg["checkpoint"]["dirpath"] == "runs/checkpoints"


def test_a_failed_example_save_still_saves_the_metric_state(tmp_path, monkeypatch, straight) -> None:
    real, saved = resume.save_state, []

    def examples_fail(path, state):  # the disk fills up while the example panels are written
        if Path(path).name == "examples.pt":
            raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 64 vs 0")
        real(path, state)
        saved.append(Path(path).name)

    monkeypatch.setattr(resume, "save_state", examples_fail)
    with pytest.warns(UserWarning, match="could not save the example panels.*unexpected pos"):
        _run(tmp_path, examples=1, save_every=1)
    # the metric state after the first of each batch's 2 experiments and after each of the 2 batches
    assert saved == ["rank0.pt"] * 4
    assert (tmp_path / "run" / "results.csv").read_text() == straight
