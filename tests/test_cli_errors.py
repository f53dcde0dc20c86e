"""Bad input at ``poselab test``: one clear ``poselab test: error: ...`` line, exit status 2, no traceback.

Each case runs the ``poselab`` entry point (``poselab.cli.main``) with tiny settings, in this process with
stdout/stderr captured (:func:`run_cli`); all fail before any real work. The cases that need a process of
their own (the exit path itself, ``python -m``'s working directory on ``sys.path``, SIGTERM) run a
subprocess.
"""

from __future__ import annotations

import importlib
import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from support.cli import run_cli
from test_data_h36m import CAMERAS, build_tree
from torch.utils.data import DataLoader, Dataset

from poselab.cli.lightning import run_lightning_cli
from poselab.data.errors import DataError, DataNotFoundError, worker_message
from poselab.experiments import AttackConfigError, build_experiment

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
#: Lightning's own informational stderr lines (not part of the error report).
_INFO = re.compile(r"^(Seed set to|GPU available|TPU available|HPU available|💡 Tip|`Trainer\(|"
                   r"Restoring states|Loaded model weights|LOCAL_RANK)|_pytree\.py.*deprecated")


def run_test(tmp: Path, model: str, data: str, *extra: str, ckpt: bool = True,
             subprocess_: bool = False) -> subprocess.CompletedProcess:
    """``poselab test`` of a shipped model on tiny data (in this process unless ``subprocess_``)."""
    args = ["--config", str(ROOT / f"configs/model/{model}.yaml"),
            "--config", str(ROOT / f"configs/data/{data}.yaml"),
            "--config", str(ROOT / "configs/trainer/cpu.yaml"),
            *(["--ckpt_path", str(ROOT / f"checkpoints/{model}.ckpt")] if ckpt else []),
            "--run.wandb", "false", "--run.save_dir", str(tmp / "runs"),
            "--trainer.default_root_dir", str(tmp / "runs"), "--trainer.limit_test_batches", "1",
            "--trainer.enable_progress_bar", "false",
            "--data.image_size", "64", "--data.test_size", "2", "--data.val_batch_size", "2",
            "--data.num_workers", "0", *extra]  # extra last: it overrides the defaults above
    if not subprocess_:
        return run_cli(["test", *args])
    return subprocess.run([PY, "-m", "poselab.cli", "test", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def assert_one_error(proc: subprocess.CompletedProcess, *words: str, prog: str = "poselab test") -> str:
    """Exit 2, no traceback, a short stderr whose error line holds ``words``; returns that line."""
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and not _INFO.search(ln)]
    assert len(lines) < 5, proc.stderr
    errors = [ln for ln in lines if ln.startswith(f"{prog}: error: ")]
    assert len(errors) == 1, proc.stderr
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def quick_written_out() -> str:
    """configs/attack/quick.yaml with the ``quick`` preset's options written out in its ``init_args`` (the
    grid option by option, as the preset gives it)."""
    preset = (ROOT / "poselab/evaluation/preset_files/quick.yaml").read_text().split("\noptions:\n", 1)[1]
    options = "".join("  " + line for line in preset.splitlines(keepends=True))
    quick = (ROOT / "configs/attack/quick.yaml").read_text()
    return re.sub(r"^    preset: quick.*\n", lambda _: options, quick, count=1, flags=re.M)


def attack_yaml(tmp: Path, old: str, new: str) -> Path:
    """configs/attack/quick.yaml, its preset's options written out, with ``old`` replaced by ``new`` (once at
    least), results under ``tmp``."""
    text = quick_written_out()
    assert old in text
    text = text.replace(old, new).replace("out_dir: results/attack-quick", f"out_dir: {tmp / 'results'}")
    path = tmp / "attack.yaml"
    path.write_text(text)
    return path


def test_missing_h36m_root(tmp_path):
    missing = tmp_path / "no-such-h36m"
    proc = run_test(tmp_path, "regression", "h36m", "--data.root", str(missing), subprocess_=True)
    assert_one_error(proc, "Human3.6M root folder not found", str(missing))


def test_negative_eps_in_attack_yaml(tmp_path):
    bad = attack_yaml(tmp_path, "eps: [0, 0.5, 2, 8, 32]", "eps: [-1, 0.5]")
    proc = run_test(tmp_path, "regression", "synthetic", "--config", str(bad))
    assert_one_error(proc, "eps must be a non-empty list of values in 0..255 px", "-1.0")


def test_unknown_experiment_kind_in_attack_yaml(tmp_path):
    bad = attack_yaml(tmp_path, "kind: rotation", "kind: rotate")
    proc = run_test(tmp_path, "regression", "synthetic", "--config", str(bad))
    assert_one_error(proc, "unknown experiment kind 'rotate'", "untargeted, multiview, camera_swap, rotation")


def test_attack_views_beyond_the_data_are_caught_before_attacking(tmp_path):
    quick = attack_yaml(tmp_path, "max_samples: 16", "max_samples: 1")
    proc = run_test(tmp_path, "triangulation", "synthetic", "--config", str(quick), "--data.views", "[0, 1]")
    assert_one_error(proc, "multiview: attacked views [1, 2, 4] need 4 views, but the test data has 2 views")
    assert not (tmp_path / "results").exists()


def test_missing_image_in_a_dataloader_worker_is_one_line(tmp_path):
    root = tmp_path / "h36m"
    build_tree(root, subjects=("S9",), actions=("Walking-1",), frames=(0,))
    image = root / "processed/S9/Walking-1/imageSequence" / CAMERAS[0] / "img_000001.jpg"
    image.unlink()
    proc = run_test(tmp_path, "regression", "h36m", "--data.root", str(root), "--data.test_subjects", "[S9]",
                    "--data.test_stride", "1", "--data.num_workers", "1")
    line = assert_one_error(proc, f"Human3.6M image not found: {image}")
    assert "worker" not in line


def test_nan_eps_and_fractional_iterations_in_attack_yaml(tmp_path):
    bad = attack_yaml(tmp_path, "eps: [0, 0.5, 2, 8, 32]", "eps: [0, .nan]")
    assert_one_error(run_test(tmp_path, "regression", "synthetic", "--config", str(bad)),
                     "eps must be a non-empty list of values in 0..255 px", "nan")
    bad = attack_yaml(tmp_path, "iterations: [1, 10]", "iterations: [1, 2.5]")
    assert_one_error(run_test(tmp_path, "regression", "synthetic", "--config", str(bad)),
                     "iterations must be whole numbers in 0..10000", "2.5")


def test_attack_run_without_a_checkpoint_is_refused(tmp_path):
    quick = attack_yaml(tmp_path, "max_samples: 16", "max_samples: 1")
    proc = run_test(tmp_path, "regression", "synthetic", "--config", str(quick), ckpt=False)
    assert_one_error(proc, "ckpt_path: an attack evaluation needs a trained model", "--run.allow_untrained",
                     prog="poselab")
    assert not (tmp_path / "results").exists()


def test_checkpoint_image_size_differs_from_the_data(tmp_path):
    quick = attack_yaml(tmp_path, "max_samples: 16", "max_samples: 1")
    proc = run_test(tmp_path, "regression", "synthetic", "--config", str(quick), "--data.image_size", "128")
    assert_one_error(proc, "data.image_size is 128 px", "trained on 64 px", "--data.image_size 64",
                     prog="poselab")
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("option, value", [("val_batch_size", "0"), ("test_size", "0")])
def test_zero_sizes_are_refused(tmp_path, option, value):
    proc = run_test(tmp_path, "regression", "synthetic", f"--data.{option}", value)
    assert_one_error(proc, f"{option} must be an integer >= 1, got 0")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")
def test_gpu_trainer_without_a_gpu(tmp_path):
    # what `make attack-eval TRAINER=gpu` runs, on a machine without CUDA
    proc = run_test(tmp_path, "regression", "synthetic", "--config", str(ROOT / "configs/trainer/gpu.yaml"))
    assert_one_error(proc, "trainer.accelerator is 'gpu' but no CUDA GPU is available", "TRAINER=cpu",
                     prog="poselab")


def test_unwritable_or_locked_results_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    quick = attack_yaml(tmp_path, "max_samples: 16", "max_samples: 1")
    quick.write_text(quick.read_text().replace(f"out_dir: {tmp_path / 'results'}", f"out_dir: {blocker}"))
    assert_one_error(run_test(tmp_path, "regression", "synthetic", "--config", str(quick)),
                     f"attack results folder {blocker / 'regression-synthetic'} is not writable")
    quick = attack_yaml(tmp_path, "max_samples: 16", "max_samples: 1")
    folder = tmp_path / "results" / "regression-synthetic"
    folder.mkdir(parents=True)
    (folder / ".lock").write_text(json.dumps({"pid": 1, "host": socket.gethostname(), "started": "earlier"}))
    assert_one_error(run_test(tmp_path, "regression", "synthetic", "--config", str(quick)),
                     f"{folder} is in use by another run (pid 1 on host", str(folder / ".lock"))


@pytest.mark.parametrize("args, words", [
    (["--eps", "-1"], "--eps must be a budget in (0, 255] px, got -1.0"),
    (["--eps", "nan"], "--eps must be a budget in (0, 255] px, got nan"),
    (["--steps", "0"], "--steps must be an integer in 1..10000, got 0"),
    (["--views", "7"], "--views must be comma-separated view indices in 0..3, got 7"),
    (["--batches", "0"], "--batches must be an integer >= 1, got 0"),
])
def test_transfer_bad_values(capsys, args, words):
    from poselab.evaluation.transfer import main

    assert main(["--model", "regression", "--data-args", '{"test_size": 2}', *args]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert err == [f"error: {words}"]


# ------------------------------------------------------------------------------ in-process pieces
class _Missing(Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> torch.Tensor:
        raise DataNotFoundError(f"image not found: /nowhere/{index}.jpg\nsecond line")


def test_worker_message_recovers_the_original_message():
    with pytest.raises(DataNotFoundError) as info:
        next(iter(DataLoader(_Missing(), num_workers=1)))
    assert "DataLoader worker process" in str(info.value)
    assert worker_message(str(info.value), type(info.value)) == "image not found: /nowhere/0.jpg\nsecond line"
    assert worker_message("plain message") == "plain message"


def test_error_types_keep_the_builtin_ones():
    assert issubclass(DataNotFoundError, FileNotFoundError) and issubclass(DataNotFoundError, ValueError)
    assert issubclass(DataError, ValueError) and issubclass(AttackConfigError, ValueError)
    with pytest.raises(AttackConfigError, match="eps must be a list of numbers"):
        build_experiment(kind="untargeted", eps="big")


def test_in_process_callers_get_the_error_itself(tmp_path):
    bad = attack_yaml(tmp_path, "kind: rotation", "kind: rotate")
    with pytest.raises(AttackConfigError, match="unknown experiment kind 'rotate'"):
        run_lightning_cli(["test", "--config", str(ROOT / "configs/model/regression.yaml"),
                           "--config", str(ROOT / "configs/data/synthetic.yaml"), "--config", str(bad),
                           "--run.wandb", "false", "--run.save_dir", str(tmp_path / "runs"),
                           "--run.allow_untrained", "true"], exit_on_error=False)


def _hostile_checkpoint(tmp: Path, **hparams) -> Path:
    """The shipped regression checkpoint with ``hparams`` written over its hyper-parameters."""
    ckpt = torch.load(ROOT / "checkpoints/regression.ckpt", weights_only=True)
    ckpt["hyper_parameters"].update(hparams)
    path = tmp / "hostile.ckpt"
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize("hparams, words", [
    ({"_class_path": "hostile_helpers.Evil"}, ["names class 'hostile_helpers.Evil'", "instantiates only"]),
    ({"hidden": {"class_path": "hostile_helpers.Evil"}}, ["hyper-parameter hidden=", "only plain values"]),
    ({"helper": "hostile_helpers.Evil"}, ["hyper-parameter 'helper'", "does not take"]),
])
def test_a_checkpoint_never_makes_poselab_import_a_module(tmp_path, monkeypatch, hparams, words):
    # a module beside the checkpoint, importable (its folder on sys.path, as ``python -m`` puts the working
    # directory there): if anything of the checkpoint reached an import, the marker file would be written
    marker = tmp_path / "IMPORTED"
    (tmp_path / "hostile_helpers.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n"
                                                 "class Evil:\n    pass\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    importlib.invalidate_caches()
    assert "hostile_helpers" not in sys.modules
    path = _hostile_checkpoint(tmp_path, **hparams)
    proc = run_test(tmp_path, "regression", "synthetic", "--ckpt_path", str(path))
    assert_one_error(proc, str(path), *words, prog="poselab")
    assert not marker.exists() and "hostile_helpers" not in sys.modules


def test_the_checked_hyper_parameters_of_a_shipped_checkpoint_rebuild_the_model():
    from poselab.models import MODELS, load_model
    from poselab.models.checkpoint import checked_hyper_parameters

    for name, cls in MODELS.items():
        ckpt = torch.load(ROOT / f"checkpoints/{name}.ckpt", weights_only=True)
        hparams = checked_hyper_parameters(ckpt, name, cls, {f"poselab.models.{cls.__name__}"})
        assert hparams and "_class_path" not in hparams and "_instantiator" not in hparams
        assert load_model(ROOT / f"checkpoints/{name}.ckpt").hparams["backbone"] == hparams["backbone"]


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_alpha_ratio_in_attack_yaml(tmp_path, value):
    # alpha_ratio <= 0 is False for NaN: NaN used to run to the end with NaN rows and exit status 0
    bad = attack_yaml(tmp_path, "alpha_ratio: 0.125", f"alpha_ratio: {value}")
    assert_one_error(run_test(tmp_path, "regression", "synthetic", "--config", str(bad)),
                     "alpha_ratio must be a finite number > 0")
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("change, words", [
    ("no_version", ["is not a Lightning checkpoint (no 'pytorch-lightning_version')"]),
    ("hidden", ["has hyper-parameter hidden='abc', but RegressionModel takes int"]),
])
def test_checkpoint_without_lightning_version_or_with_a_wrong_typed_hyper_parameter(tmp_path, change, words):
    # before: Lightning's loader raised a bare KeyError; a string for an int was jsonargparse's noise
    path = _hostile_checkpoint(tmp_path, **({"hidden": "abc"} if change == "hidden" else {}))
    if change == "no_version":
        ckpt = torch.load(path, weights_only=True)
        del ckpt["pytorch-lightning_version"]
        torch.save(ckpt, path)
    assert_one_error(run_test(tmp_path, "regression", "synthetic", "--ckpt_path", str(path)), str(path),
                     *words, prog="poselab")


def test_runs_folder_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = run_test(tmp_path, "regression", "synthetic", "--run.save_dir", str(blocker / "runs"))
    assert_one_error(proc, f"runs folder (run.save_dir) {blocker / 'runs'} is not writable")


def test_plugin_given_as_a_path_or_raising_at_import(tmp_path, monkeypatch):
    (tmp_path / "boom_plugin.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])  # as ``python -m`` run from tmp_path
    importlib.invalidate_caches()
    for plugin, words in (("../evil", "is not a dotted module name"),
                          ("boom_plugin", "failed while being imported: RuntimeError: boom")):
        proc = run_test(tmp_path, "regression", "synthetic", "--run.plugins", f"[{plugin}]")
        assert_one_error(proc, f"run.plugins: plug-in {plugin!r}", words, prog="poselab")


def test_a_checkpoint_of_another_model_names_the_file_its_model_and_the_configs(tmp_path):
    ckpt = str(ROOT / "checkpoints/volumetric.ckpt")
    proc = run_test(tmp_path, "regression", "synthetic", "--ckpt_path", ckpt)
    line = assert_one_error(proc, f"{ckpt} holds a 'volumetric' model, but the model config asks for a "
                                  "'regression' model", "configs/model/volumetric.yaml", prog="poselab")
    assert "expected" not in line


@pytest.mark.parametrize("old, new, words", [
    ("threads: 2 ", "threads: 1000 ", ["threads must be at most", "the CPUs this process may use", "1000"]),
    ("max_samples: 16", "max_samples: 16\n    run_name: ../../x",
     ["run_name must be one folder name", "../../x"]),
    ("iterations: [1, 10]", "iterations: [10000]", ["model passes (forward + backward) per attacked image",
                                                    "allow_long_grid: true"]),
])
def test_silently_accepted_options_are_refused(tmp_path, old, new, words):
    bad = attack_yaml(tmp_path, old, new)
    if "10000" in new:  # 1021 eps x 10000 iterations
        eps = [i / 4 for i in range(1021)]
        bad.write_text(bad.read_text().replace("eps: [0, 0.5, 2, 8, 32]", f"eps: {eps}", 1))
    assert_one_error(run_test(tmp_path, "regression", "synthetic", "--config", str(bad)), *words)
    assert not (tmp_path / "results").exists() and not (tmp_path.parent / "x").exists()


def test_the_cost_is_printed_before_the_first_attack(tmp_path):
    tiny = tmp_path / "tiny.yaml"  # FGSM and IGSM 2 at one eps: 3 passes per image, 2 images
    tiny.write_text(f"""attack_evaluation:
  class_path: poselab.evaluation.callback.AttackEvaluation
  init_args:
    out_dir: {tmp_path / 'results'}
    examples: 0
    experiments: [{{kind: untargeted, eps: [0, 1], iterations: [1, 2]}}]
""")
    proc = run_test(tmp_path, "regression", "synthetic", "--config", str(tiny))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "attack cost: 3 model passes (forward + backward) per attacked image, about 6 for 2 images" \
        in proc.stdout
    assert proc.stdout.index("attack cost:") < proc.stdout.index("Adversarial evaluation of")


def test_sigterm_exits_non_zero_keeps_the_partial_state_and_a_rerun_finishes(tmp_path):
    import os
    import signal
    import time

    grid = attack_yaml(tmp_path, "max_batches: 1", "max_batches: 2")
    args = [PY, "-m", "poselab.cli", "test", "--config", str(ROOT / "configs/model/regression.yaml"),
            "--config", str(ROOT / "configs/data/synthetic.yaml"),
            "--config", str(ROOT / "configs/trainer/cpu.yaml"), "--config", str(grid),
            "--ckpt_path", str(ROOT / "checkpoints/regression.ckpt"), "--run.wandb", "false",
            "--run.save_dir", str(tmp_path / "runs"), "--trainer.limit_test_batches", "2",
            "--trainer.enable_progress_bar", "false", "--data.test_size", "4", "--data.val_batch_size", "2",
            "--data.num_workers", "0"]
    proc = subprocess.Popen(args, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines = []
    deadline = time.monotonic() + 240
    for line in proc.stderr:  # SIGTERM once the first batch is done
        lines.append(line)
        if "attack progress" in line and "batch 1/" in line and "rotation done" in line:
            os.kill(proc.pid, signal.SIGTERM)
            break
        assert time.monotonic() < deadline, "".join(lines)
    err = "".join(lines) + proc.stderr.read()
    assert proc.wait(timeout=240) == 143, err
    assert "poselab test: stopped by SIGTERM" in err and "re-run the same command to resume" in err
    run_dir = tmp_path / "results" / "regression-synthetic"
    assert (run_dir / ".partial" / "rank0.pt").is_file() and not (run_dir / "results.csv").exists()
    again = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (run_dir / "results.csv").is_file() and "resum" in again.stderr.lower()
