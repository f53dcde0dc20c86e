"""Named presets: every packaged preset loads, a bad one is one clear line, a preset gives the same grid and
numbers as the grid written out option by option, and results.json records it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from attack_toys import ToyDataset, ToyMonocular, ToyTriangulation, quiet_trainer
from torch.utils.data import DataLoader

from poselab.evaluation.callback import AttackEvaluation
from poselab.evaluation.presets import (
    DEFAULTS,
    OPTIONS,
    PresetError,
    load_preset,
    preset_names,
    resolve_options,
)
from poselab.experiments.base import AttackConfigError
from poselab.experiments.cells import CellMetrics

ROOT = Path(__file__).resolve().parents[1]

#: configs/attack/quick.yaml's grid as it was written out before the presets (the numbers it gave are the
#: preset's: compared on the shipped regression checkpoint to 1e-6).
QUICK_WRITTEN_OUT = {
    "max_batches": 1, "max_samples": 16, "max_batch": 64, "alpha_ratio": 0.125, "jdr_definition": "qiu2019",
    "threads": 2, "experiments": [
        {"kind": "untargeted", "attack": ["fgsm", "igsm_u"], "eps": [0, 0.5, 2, 8, 32],
         "iterations": [1, 10]},
        {"kind": "multiview", "attack": ["fgsm", "igsm_u"], "eps": [0, 0.5, 2, 8, 32], "iterations": [1, 10],
         "attacked_views": [1, 2, 4]},
        {"kind": "camera_swap", "attack": ["fgsm", "igsm_t"], "eps": [8], "iterations": [0, 20, 100],
         "target_cameras": [2, 3, 4]},
        {"kind": "rotation", "attack": ["fgsm", "igsm_t"], "eps": [8], "iterations": [10, 100],
         "angles": [10, 30]},
    ]}
#: configs/attack/strong.yaml's grid as it was written out (now the ``full`` preset).
STRONG_WRITTEN_OUT = {
    "max_batches": 1, "max_samples": 4, "max_batch": 64, "alpha_ratio": 0.125, "jdr_definition": "qiu2019",
    "threads": 2, "experiments": [
        {"kind": "untargeted", "attack": ["igsm_u", "apgd", "ensemble"], "eps": [0, 2, 8],
         "iterations": [10, 100]},
        {"kind": "multiview", "attack": ["igsm_u", "apgd", "ensemble"], "eps": [0, 2, 8],
         "iterations": [10, 100], "attacked_views": [4]},
    ]}


def test_the_five_presets_are_packaged_and_load() -> None:
    assert preset_names() == ["corruptions", "full", "paper", "quick", "standard"]
    for name in preset_names():
        preset = load_preset(name)
        assert preset.name == name and preset.version >= 1 and preset.description
        assert set(preset.options) == set(OPTIONS)
        assert preset.headline_for(False)["experiment"] == "untargeted"
        assert preset.headline_for(True)["experiment"] == "multiview"
    standard = load_preset("standard")
    assert standard.headline_for(False) == {"experiment": "untargeted", "attack": "ensemble", "eps": 8.0,
                                            "iterations": 100, "metric": "mpjpe"}
    assert standard.options["max_batches"] * standard.options["max_samples"] == 64


def test_presets_are_package_data() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert '"poselab.evaluation" = ["preset_files/*.yaml"]' in text


@pytest.mark.parametrize("name, written_out", [("quick", QUICK_WRITTEN_OUT), ("full", STRONG_WRITTEN_OUT)])
def test_a_preset_is_the_grid_written_out(name: str, written_out: dict) -> None:
    by_preset = AttackEvaluation(preset=name)
    by_hand = AttackEvaluation(**written_out)
    assert by_preset._config() == by_hand._config() and by_preset.max_batch == by_hand.max_batch == 64
    for multiview in (False, True):
        cells = [CellMetrics(cb.specs, multiview, 4).cells for cb in (by_preset, by_hand)]
        assert cells[0] == cells[1] and cells[0]
    assert by_preset.overrides == {} and by_hand.preset is None


#: A small preset: every adversarial experiment kind of the quick preset, fewer eps and iterations.
TINY_PRESET = """name: tiny
version: 3
description: a small grid for the tests
headline:
  - {experiment: untargeted, attack: igsm_u, eps: 8, iterations: 3, metric: mpjpe}
  - {experiment: multiview, attack: igsm_u, eps: 8, iterations: 3, attacked_views: 4, metric: mpjpe}
options:
  max_batches: 1
  max_samples: 3
  max_batch: 64
  alpha_ratio: 0.25
  random_start: false
  jdr_definition: qiu2019
  threads: 2
  experiments:
    - {kind: untargeted, attack: [fgsm, igsm_u], eps: [0, 2, 8], iterations: [1, 3]}
    - {kind: multiview, attack: [fgsm, igsm_u], eps: [0, 8], iterations: [1, 3], attacked_views: [1, 4]}
    - {kind: camera_swap, attack: [fgsm, igsm_t], eps: [8], iterations: [0, 3], target_cameras: [2]}
    - {kind: rotation, attack: [igsm_t], eps: [8], iterations: [3], angles: [30]}
"""


@pytest.mark.parametrize("model", [ToyMonocular, ToyTriangulation])
def test_a_preset_gives_the_numbers_of_its_grid_written_out_and_results_json_records_it(
        tmp_path: Path, model: type) -> None:
    import yaml

    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_PRESET)
    written_out = yaml.safe_load(TINY_PRESET)["options"]
    run = {"max_batch": 7, "examples": 0, "print_tables": False, "dataset_name": "toy", "run_name": "run"}
    rows = {}
    for how, kwargs in (("preset", {"preset": str(path)}), ("written", written_out)):
        torch.manual_seed(0)
        net = model()
        cb = AttackEvaluation(**{**kwargs, **run, "out_dir": str(tmp_path / how)})
        quiet_trainer(cb).test(net, dataloaders=DataLoader(ToyDataset(4), batch_size=4))
        rows[how] = cb.rows
        meta = json.loads((tmp_path / how / "run" / "results.json").read_text())["meta"]
        if how == "preset":
            headline = load_preset(path).headline_for(model.multiview)
            assert headline["experiment"] == ("multiview" if model.multiview else "untargeted")
            assert meta["preset"] == {"name": "tiny", "version": 3, "headline": headline,
                                      "overrides": {"max_batch": 7}}
        else:
            assert "preset" not in meta
    assert rows["preset"] == rows["written"] and len(rows["preset"]) > 10
    assert {r["n"] for r in rows["preset"] if r["metric"] == "mpjpe"} == {3}  # the preset's max_samples


def test_explicit_options_override_the_preset() -> None:
    cb = AttackEvaluation(preset="quick", max_samples=None, alpha_ratio=0.25,
                          experiments=[{"kind": "untargeted", "eps": [0, 1], "iterations": [1]}])
    assert cb.max_samples is None and cb.alpha_ratio == 0.25 and cb.max_batches == 1  # the rest: quick's
    assert [s.kind for s in cb.specs] == ["untargeted"]
    assert cb.overrides["max_samples"] is None and cb.overrides["alpha_ratio"] == 0.25
    assert set(cb.overrides) == {"max_samples", "alpha_ratio", "experiments"}


def test_without_a_preset_the_built_in_defaults_apply_and_experiments_are_required() -> None:
    cb = AttackEvaluation([{"kind": "untargeted", "eps": [0, 1], "iterations": [1]}])
    assert (cb.alpha_ratio, cb.max_batch, cb.max_batches, cb.max_samples, cb.random_start) == (
        DEFAULTS["alpha_ratio"], 256, None, None, False)
    with pytest.raises(AttackConfigError, match="give experiments or a preset"):
        AttackEvaluation()
    assert resolve_options(None, {"experiments": []})["threads"] == DEFAULTS["threads"]


def _preset_file(tmp_path: Path, old: str, new: str) -> Path:
    """The quick preset with ``old`` replaced by ``new`` ("" appends ``new``; "*" replaces everything)."""
    good = (ROOT / "poselab/evaluation/preset_files/quick.yaml").read_text()
    assert old in good or old in ("", "*")
    text = new if old == "*" else good + new if not old else good.replace(old, new, 1)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("old, new, words", [
    ("", "extra: 1\n", ["unknown key(s) 'extra'", "expected: name, version"]),
    ("version: 1", "version: one", ["version must be an integer >= 1", "'one'"]),
    ("  threads: 2", "  threads: 2\n  out_dir: x", ["options: unknown key(s) 'out_dir'"]),
    ("  max_samples: 16", "  max_samples: many", ["max_samples must be an integer or null"]),
    ("  alpha_ratio: 0.125", "  alpha_ratio: -1", ["alpha_ratio must be a finite number > 0"]),
    ("  random_start: false\n", "", ["missing key(s) 'random_start'"]),
    ("kind: rotation", "kind: rotate", ["options:", "rotate"]),
    ("eps: 8, iterations: 10, metric", "eps: 3, iterations: 10, metric",
     ["headline[0]", "matches no results cell"]),
    ("metric: mpjpe}", "metric: speed}", ["headline[0]: metric must be a results metric"]),
    ("{experiment: untargeted, attack: igsm_u,", "{experiment: untargeted, attack: igsm_u, target: x,",
     ["headline[0]: unknown key(s) 'target'"]),
    ("*", "[1, 2]", ["expected a mapping with keys name, version"]),
    ("*", "a: [", ["cannot be read"]),
])
def test_a_bad_preset_is_one_clear_line(tmp_path: Path, old: str, new: str, words: list[str]) -> None:
    path = _preset_file(tmp_path, old, new)
    with pytest.raises(PresetError) as err:
        load_preset(str(path))
    message = str(err.value)
    assert "\n" not in message and str(path) in message, message
    for word in words:
        assert word in message, message


def test_an_unknown_preset_name_lists_the_known_ones() -> None:
    with pytest.raises(PresetError, match="unknown preset 'fast'; expected one of corruptions, full, paper, "
                                          "quick, standard"):
        AttackEvaluation(preset="fast")
    with pytest.raises(PresetError, match="cannot be read"):
        load_preset("no/such/preset.yaml")


def test_the_attack_configs_name_a_preset_and_hold_only_run_options() -> None:
    import yaml

    for grid in ("quick", "paper", "strong", "corruptions", "standard"):
        config = yaml.safe_load((ROOT / f"configs/attack/{grid}.yaml").read_text())
        init = config["attack_evaluation"]["init_args"]
        assert init["preset"] in preset_names()
        assert not set(init) & set(OPTIONS), (grid, set(init) & set(OPTIONS))  # the grid lives in the preset


def test_an_unknown_preset_on_the_command_line_is_one_error_line(tmp_path: Path) -> None:
    from test_cli_errors import assert_one_error, run_test

    proc = run_test(tmp_path, "regression", "synthetic", "--config", str(ROOT / "configs/attack/quick.yaml"),
                    "--attack_evaluation.init_args.preset", "fast")
    assert_one_error(proc, "unknown preset 'fast'", "corruptions, full, paper, quick, standard")
