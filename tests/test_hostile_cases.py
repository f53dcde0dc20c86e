"""Hostile values through the Python API: one clear error naming the value, before any work."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from poselab.attacks import get_attack
from poselab.attacks.ensemble import Ensemble
from poselab.evaluation.options import check_options
from poselab.experiments import AttackConfigError, build_experiment


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0.0, "0.1"])
def test_alpha_ratio_must_be_finite_and_positive(value):
    with pytest.raises(AttackConfigError, match="alpha_ratio must be a finite number > 0"):
        check_options(value, 64, None, None, 1, 1)


@pytest.mark.parametrize("up", [(math.nan, 0, 1), (0, math.inf, 1), (0, 0, 0), (0, 1), "z"])
def test_rotation_axis_must_be_finite_and_non_zero(up):
    with pytest.raises(AttackConfigError, match="up must be a non-zero axis of 3 finite numbers"):
        build_experiment(kind="rotation", attack="igsm_t", eps=[8], iterations=[10], up=up)


@pytest.mark.parametrize("name", ["fgsm", "igsm_u", "pgd", "apgd", "square", "ensemble"])
@pytest.mark.parametrize("kwargs, words", [
    ({"eps": math.nan}, "eps must be a finite number >= 0"),
    ({"eps": math.inf}, "eps must be a finite number >= 0"),
    ({"alpha_ratio": math.nan}, "alpha_ratio must be a finite number > 0"),
    ({"alpha": math.inf}, "alpha must be a finite number > 0"),
])
def test_attacks_refuse_non_finite_budgets(name, kwargs, words):
    with pytest.raises(ValueError, match=words):
        get_attack(name)(**kwargs)


def test_attack_call_refuses_a_nan_eps():
    import torch

    attack = get_attack("apgd")(eps=8.0, steps=2)
    images = torch.zeros(2, 1, 3, 8, 8)
    with pytest.raises(ValueError, match="eps must be finite and >= 0"):
        attack(lambda x: x.flatten(1)[:, :3].reshape(-1, 1, 3), images, torch.zeros(2, 1, 3),
               eps=torch.tensor([1.0, math.nan]))


@pytest.mark.parametrize("kwargs, words", [
    ({"members": []}, "members must list at least one attack"),
    ({"square_factor": 0}, "square_factor must be an integer >= 1"),
    ({"square_factor": 2.5}, "square_factor must be an integer >= 1"),
])
def test_ensemble_refuses_empty_or_bad_members(kwargs, words):
    with pytest.raises(ValueError, match=words):
        Ensemble(eps=8.0, steps=2, **kwargs)


@pytest.mark.parametrize("name", ["../x", "a/b", "/tmp/x.py", ".rel", "a..b", "", "x.py/", 3])
def test_plugin_names_with_path_syntax_are_refused(name):
    from poselab.plugins import import_plugins

    with pytest.raises(ValueError, match="is not a dotted module name"):
        import_plugins([name])


def test_a_plugin_that_raises_is_one_error_naming_it(tmp_path, monkeypatch):
    from poselab.plugins import import_plugins

    (tmp_path / "raising_plugin.py").write_text("raise KeyError('no such thing')\n")
    # sys.path by hand: syspath_prepend fails once some test has imported pkg_resources
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    with pytest.raises(ValueError, match="plug-in 'raising_plugin' failed while being imported: KeyError"):
        import_plugins(["raising_plugin"])


@pytest.mark.parametrize("hparams, words", [
    ({"hidden": "abc"}, "hidden='abc', but RegressionModel takes int"),
    ({"hidden": True}, "hidden=True, but RegressionModel takes int"),
    ({"lr": "fast"}, "lr='fast', but RegressionModel takes float"),
    ({"backbone": 3}, "backbone=3, but RegressionModel takes str"),
])
def test_wrong_typed_checkpoint_hyper_parameters_are_one_error(hparams, words):
    from poselab.models import RegressionModel
    from poselab.models.checkpoint import CheckpointError, checked_hyper_parameters

    ckpt = {"hyper_parameters": {"hidden": 512, "lr": 1e-3, **hparams}}
    with pytest.raises(CheckpointError, match=words.replace("(", r"\(")):
        checked_hyper_parameters(ckpt, "x.ckpt", RegressionModel)
    assert checked_hyper_parameters({"hyper_parameters": {"lr": 1, "hidden": 8}}, "x.ckpt", RegressionModel)


def test_a_checkpoint_without_the_lightning_version_is_one_error(tmp_path):
    import torch

    from poselab.models.checkpoint import CheckpointError, read_checkpoint

    torch.save({"state_dict": {}, "poselab_model": "regression"}, tmp_path / "x.ckpt")
    assert read_checkpoint(tmp_path / "x.ckpt")["poselab_model"] == "regression"  # enough for load_model
    with pytest.raises(CheckpointError, match="no 'pytorch-lightning_version'"):
        read_checkpoint(tmp_path / "x.ckpt", lightning=True)


def test_threads_beyond_the_cpus_available_are_refused():
    from poselab.cpus import usable_cpus
    from poselab.experiments.determinism import DEFAULT_THREADS, DeterministicNumerics

    most = max(usable_cpus(), DEFAULT_THREADS)
    assert DeterministicNumerics(most).threads == most and DeterministicNumerics(DEFAULT_THREADS)
    with pytest.raises(ValueError, match=f"threads must be at most {most} .the CPUs this process may use"):
        DeterministicNumerics(1000)


@pytest.mark.parametrize("what", ["run_name", "model_name", "dataset_name"])
@pytest.mark.parametrize("name", ["../../x", "a/b", "..", ".", "", "a\\b", "/abs"])
def test_results_folder_names_with_path_syntax_are_refused(what, name):
    from poselab.evaluation.callback import AttackEvaluation

    with pytest.raises(AttackConfigError, match=f"{what} must be one folder name"):
        AttackEvaluation([{"kind": "untargeted", "eps": [0, 8], "iterations": [1]}], **{what: name})


def test_a_huge_grid_is_refused_with_its_cost_unless_allowed():
    from poselab.evaluation.callback import AttackEvaluation
    from poselab.evaluation.cost import cost_line

    huge = [{"kind": "untargeted", "attack": "igsm_u", "eps": [i / 4 for i in range(1021)],
             "iterations": [10000]}]
    with pytest.raises(AttackConfigError, match="about 10,200,000 model passes .* per attacked image, more "
                                                "than 1,000,000: .*allow_long_grid: true"):
        AttackEvaluation(huge)
    assert AttackEvaluation(huge, allow_long_grid=True)._cost == 1020 * 10000
    assert cost_line(676, 16) == ("attack cost: 676 model passes (forward + backward) per attacked image, "
                                  "about 10,816 for 16 images")


def test_the_shipped_grids_stay_far_below_the_cost_bound():
    from pathlib import Path

    import yaml

    from poselab.evaluation.cost import MAX_PASSES_PER_IMAGE, check_cost
    from poselab.evaluation.presets import load_preset
    from poselab.experiments import build_experiments

    costs = {}
    for path in sorted((Path(__file__).resolve().parents[1] / "configs/attack").glob("*.yaml")):
        args = yaml.safe_load(path.read_text())["attack_evaluation"]["init_args"]
        experiments = args.get("experiments") or load_preset(args["preset"]).options["experiments"]
        costs[path.stem] = check_cost(build_experiments(experiments))
    assert costs["quick"] == 676 and costs["paper"] == 1572 and costs["strong"] == 3600  # ensemble: 7/step
    assert max(costs.values()) * 100 < MAX_PASSES_PER_IMAGE


def test_progress_after_a_resume_counts_the_batches_done_before():
    import io

    from poselab.experiments.progress import AttackProgress

    specs = [build_experiment(kind="untargeted", eps=[0, 8], iterations=[1, 10])]
    progress = AttackProgress(specs, batches=4, stream=io.StringIO(), min_interval_s=0.0, done_batches=2)
    progress.begin()
    first, last = progress.experiment_done(2, 0), progress.experiment_done(3, 0)
    assert first.startswith("attack progress:  75% (batch 3/4, 2 before the resume, untargeted done)")
    assert last.startswith("attack progress: 100% (batch 4/4, 2 before the resume")
    assert last.endswith("ETA 0:00")


@pytest.mark.parametrize("attack", ["../model/regression", "../attack/quick", "/etc/passwd"])
def test_make_attack_eval_refuses_attack_names_with_a_slash(attack):
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("make") is None:
        pytest.skip("make not installed")
    proc = subprocess.run(["make", "-s", "-o", ".venv/.installed", "attack-eval", f"ATTACK={attack}"],
                          cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert (f"error: unknown ATTACK='{attack}'; expected quick, paper or a configs/attack/*.yaml name"
            in proc.stderr)
    assert "poselab" not in proc.stdout


def test_the_ensemble_tells_its_steps_and_the_square_queries_per_step():
    text = repr(Ensemble(eps=8.0, steps=10, square_factor=5))
    assert text.startswith("Ensemble(steps=10: APGD(") and "Square(eps=8.0, queries=50," in text
    assert text.endswith("[5 per step])")


def _alias_bomb(levels: int = 6, width: int = 9) -> str:
    """A few hundred bytes of YAML whose aliases expand to ``width ** levels`` strings."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + f"\ntrainer:\n  max_epochs: 1\nbomb: *a{levels - 1}\n"


def test_a_yaml_alias_bomb_is_refused_quickly_and_real_configs_load_as_before():
    import time
    from pathlib import Path

    import yaml

    from poselab.yaml_limits import YAMLTooLargeError, safe_load

    bomb = _alias_bomb()
    assert len(bomb) < 600
    start = time.perf_counter()
    with pytest.raises(YAMLTooLargeError, match="expands to more than 50,000 nodes"):
        safe_load(bomb)
    assert time.perf_counter() - start < 2.0
    with pytest.raises(YAMLTooLargeError, match="recursive alias"):
        safe_load("a: &a [1, *a]\n")
    for path in (Path(__file__).resolve().parents[1] / "configs").rglob("*.yaml"):
        assert safe_load(path.read_text()) == yaml.safe_load(path.read_text()), path
    assert len(safe_load(f"eps: {[i / 4 for i in range(1021)]}\n")["eps"]) == 1021


def test_a_yaml_alias_bomb_given_as_a_config_is_one_error_within_seconds(tmp_path):
    import time

    from poselab.cli.errors import ConfigError
    from poselab.cli.lightning import run_lightning_cli
    from poselab.data.config import data_kwargs

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_alias_bomb())
    root = Path(__file__).resolve().parents[1]
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="expands to more than 50,000 nodes through its aliases"):
        run_lightning_cli(["test", "--config", str(root / "configs/model/regression.yaml"),
                           "--config", str(bomb), "--run.wandb", "false"], exit_on_error=False)
    assert time.perf_counter() - start < 10.0  # 44 s and 1.2 GB before
    with pytest.raises(ValueError, match="is not valid YAML: YAML document expands"):
        data_kwargs([bomb])


def test_a_write_stopped_by_the_file_size_limit_is_one_line(capsys):
    """`ulimit -f` below a DataLoader batch: torch's shared-memory error (made for real in a child process
    under RLIMIT_FSIZE) is recognised, and `reported` turns it into one line and exit status 1."""
    import subprocess

    from poselab.cli.errors import _resource_error, reported

    code = ("import resource, signal, torch; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            "resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536));\n"
            "try:\n    torch.empty(10**6).share_memory_()\nexcept RuntimeError as err:\n    print(err)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    assert "File too large" in out
    assert _resource_error(RuntimeError(out)) and _resource_error(OSError(28, "No space left on device"))
    assert _resource_error(RuntimeError("shape mismatch")) is None

    def fail() -> None:
        try:
            raise OSError(27, "File too large")
        except OSError as err:
            raise RuntimeError("DataLoader worker (pid 1) failed") from err

    with pytest.raises(SystemExit) as stop:
        reported(fail, "test", exit_on_error=True)
    assert stop.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("poselab test: error: a write was stopped by a resource")
    assert "ulimit -f" in err and "--data.num_workers 0" in err
    with pytest.raises(RuntimeError, match="shape"):  # a genuine bug keeps its traceback
        reported(lambda: (_ for _ in ()).throw(RuntimeError("shape mismatch")), "test", exit_on_error=True)
